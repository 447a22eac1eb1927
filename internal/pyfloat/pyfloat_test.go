package pyfloat

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// tenth is a variable so that tenth+2*tenth is computed in float64
// arithmetic rather than exactly at compile time.
var tenth = 0.1

func TestRepr(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{math.NaN(), "nan"},
		{math.Copysign(math.NaN(), -1), "nan"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1, "1.0"},
		{-1, "-1.0"},
		{0.5, "0.5"},
		{0.1, "0.1"},
		{tenth + 2*tenth, "0.30000000000000004"}, // not constant-folded
		{1.0 / 3, "0.3333333333333333"},
		{2.0 / 3, "0.6666666666666666"},
		{100, "100.0"},
		{123456789.123, "123456789.123"},
		{0.0001, "0.0001"},
		{0.00012345, "0.00012345"},
		{1e-05, "1e-05"},
		{1.5e-05, "1.5e-05"},
		{-1e-05, "-1e-05"},
		{9.999999999999999e-05, "9.999999999999999e-05"},
		{1e15, "1000000000000000.0"},
		{9999999999999998, "9999999999999998.0"},
		{1e16, "1e+16"},
		{1.2345e16, "1.2345e+16"},
		{1e17, "1e+17"},
		{1e22, "1e+22"},
		{1e100, "1e+100"},
		{1e-100, "1e-100"},
		{123e-300, "1.23e-298"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{-math.MaxFloat64, "-1.7976931348623157e+308"},
		{math.SmallestNonzeroFloat64, "5e-324"},
		{2.2250738585072014e-308, "2.2250738585072014e-308"}, // smallest normal
		{2.225073858507201e-308, "2.225073858507201e-308"},   // largest subnormal
		{1 << 53, "9007199254740992.0"},
		{1<<53 + 2, "9007199254740994.0"},
		{1 << 62, "4.611686018427388e+18"},
		{3.14159, "3.14159"},
		{-273.15, "-273.15"},
		{5e-324 * 3, "1.5e-323"},
	}
	for _, tt := range tests {
		if got := Repr(tt.in); got != tt.want {
			t.Errorf("Repr(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want float64
	}{
		{"0", 0},
		{"3", 3},
		{"-3", -3},
		{"+3", 3},
		{"1.", 1},
		{".5", 0.5},
		{"-.5", -0.5},
		{"1.5", 1.5},
		{"1e-05", 1e-05},
		{"1E-05", 1e-05},
		{"1e5", 1e5},
		{"1.e5", 1e5},
		{"1e+16", 1e16},
		{"+.5e-3", 0.0005},
		{"007", 7},
		{"  42.0\t\n", 42},
		{"\u00a01.5\u3000", 1.5},
		{"\u20281\u2029", 1},
		{"1_000", 1000},
		{"1_000.000_1", 1000.0001},
		{"1e1_0", 1e10},
		{"1.7976931348623157e+308", math.MaxFloat64},
		{"5e-324", math.SmallestNonzeroFloat64},
		{"123456789.123", 123456789.123},
		{"inf", math.Inf(1)},
		{"+inf", math.Inf(1)},
		{"-inf", math.Inf(-1)},
		{"Inf", math.Inf(1)},
		{"INF", math.Inf(1)},
		{"Infinity", math.Inf(1)},
		{"-Infinity", math.Inf(-1)},
		{"iNfInItY", math.Inf(1)},
		{" inf ", math.Inf(1)},
		{"1e500", math.Inf(1)},
		{"-1e500", math.Inf(-1)},
		{"1e-500", 0},
		{"-1e-500", math.Copysign(0, -1)},
		{"-0.0", math.Copysign(0, -1)},
		{"-0", math.Copysign(0, -1)},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q) error: %v", tt.in, err)
			continue
		}
		if math.Float64bits(got) != math.Float64bits(tt.want) {
			t.Errorf("Parse(%q) = %v (%#x), want %v (%#x)", tt.in, got, math.Float64bits(got), tt.want, math.Float64bits(tt.want))
		}
	}

	for _, in := range []string{"nan", "NaN", "NAN", "+nan", " nan\n"} {
		got, err := Parse(in)
		if err != nil || !math.IsNaN(got) || math.Signbit(got) {
			t.Errorf("Parse(%q) = %v, %v; want positive NaN", in, got, err)
		}
	}
	if got, err := Parse("-nan"); err != nil || !math.IsNaN(got) || !math.Signbit(got) {
		t.Errorf("Parse(%q) = %v, %v; want negative NaN", "-nan", got, err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"", " ", "\t\n", "+", "-", ".", "+.", "e5", ".e5", "1e", "1e+", "1e-",
		"1e5.0", "1.5.5", "--1", "+-1", "1 2", "1f", "0x10", "0x1p-2", "0b1",
		"1_", "_1", "1__0", "1_.5", "1._5", "1e_1", "1e1_", "_", "in f",
		"infinit", "infinityy", "nan(123)", "nanq", "- inf", "1\x00",
		"\x1c1", "1\x1c", "\u200b1", "１", "٣", "1,5", "∞", "true",
	} {
		got, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want error", in, got)
			continue
		}
		if !errors.Is(err, strconv.ErrSyntax) || !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) error %v does not wrap ErrSyntax", in, err)
		}
	}
}

// testValues returns a deterministic mix of edge-case and random float64
// values.
func testValues() []float64 {
	var vs []float64
	add := func(f float64) { vs = append(vs, f, -f) }
	for e := -330; e <= 310; e++ {
		p, _ := strconv.ParseFloat(fmt.Sprintf("1e%d", e), 64)
		add(p)
		add(math.Nextafter(p, math.Inf(1)))
		add(math.Nextafter(p, 0))
		q, _ := strconv.ParseFloat(fmt.Sprintf("9.999999999999999e%d", e), 64)
		add(q)
	}
	for e := -1074; e <= 1023; e += 3 {
		p := math.Ldexp(1, e)
		add(p)
		add(math.Nextafter(p, math.Inf(1)))
		add(math.Nextafter(p, 0))
	}
	for _, f := range []float64{
		0, 0.1, 0.2, 0.3, 0.5, 1, 1.5, 2, 10, 100, 123456789.123,
		math.Pi, math.E, math.MaxFloat64, math.SmallestNonzeroFloat64,
		2.2250738585072014e-308, 2.225073858507201e-308,
		1 << 53, 1<<53 + 2, 1e15, 1e16, 9999999999999998, 0.0001, 0.00009999999999999999,
	} {
		add(f)
	}
	r := rand.New(rand.NewPCG(20240101, 42))
	for range 4000 {
		// Random bit patterns cover the whole exponent range uniformly.
		f := math.Float64frombits(r.Uint64())
		if math.IsNaN(f) {
			continue
		}
		vs = append(vs, f)
	}
	for range 1500 {
		// Values in the range where the notation switches.
		vs = append(vs, math.Pow(10, r.Float64()*44-22)*float64(r.IntN(2)*2-1))
	}
	for range 500 {
		// Short decimals such as 123.45 typed by humans.
		vs = append(vs, float64(r.IntN(2_000_000)-1_000_000)/math.Pow(10, float64(r.IntN(8))))
	}
	return vs
}

func requirePython(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not on PATH")
	}
	return py
}

// runPython runs script with input on stdin and returns its output lines.
func runPython(t *testing.T, py, script string, input []byte) []string {
	t.Helper()
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.String())
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// TestReprMatchesPython compares Repr with Python's repr over thousands of
// values, passed to Python as raw IEEE 754 bit patterns.
func TestReprMatchesPython(t *testing.T) {
	py := requirePython(t)
	vs := testValues()
	var in bytes.Buffer
	for _, v := range vs {
		fmt.Fprintf(&in, "%016x\n", math.Float64bits(v))
	}
	const script = `
import struct, sys
for line in sys.stdin:
    print(repr(struct.unpack('<d', bytes.fromhex(line.strip())[::-1])[0]))
`
	got := runPython(t, py, script, in.Bytes())
	if len(got) != len(vs) {
		t.Fatalf("python3 printed %d lines for %d values", len(got), len(vs))
	}
	fails := 0
	for i, v := range vs {
		if r := Repr(v); r != got[i] {
			t.Errorf("Repr(%#x) = %q, Python repr = %q", math.Float64bits(v), r, got[i])
			if fails++; fails > 20 {
				t.Fatal("too many failures")
			}
		}
	}
	t.Logf("compared %d values", len(vs))
}

// TestParseMatchesPython compares Parse with Python's float() on valid and
// invalid spellings.
func TestParseMatchesPython(t *testing.T) {
	py := requirePython(t)
	ins := []string{
		"nan", "-nan", "+NaN", "inf", "-inf", "Infinity", "-INFINITY", "infinit",
		"1e-05", "3", "1.", ".5", ".", "1e", "1e500", "-1e-500", "1_0", "1__0",
		"_1", "1_", "1e1_0", "0x10", " 1 ", "\u00a01", "\u200b1", "\x1c1", "1\x0b",
		"\f1\r", "+-1", "1.5e+3", "1.5e3", "0001.1000", "", " ", "nan(1)", "in f",
	}
	r := rand.New(rand.NewPCG(7, 7))
	for _, v := range testValues() {
		ins = append(ins, Repr(v), strconv.FormatFloat(v, 'g', -1, 64),
			strconv.FormatFloat(v, 'e', r.IntN(20), 64), strconv.FormatFloat(v, 'f', r.IntN(10), 64))
	}
	// Random strings over the float alphabet, mostly invalid.
	const alpha = "0123456789.eE+-_ infINFnaNty"
	for range 3000 {
		b := make([]byte, 1+r.IntN(8))
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		ins = append(ins, string(b))
	}
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	for _, s := range ins {
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
	}
	const script = `
import json, struct, sys
for line in sys.stdin:
    try:
        print(struct.pack('>d', float(json.loads(line))).hex())
    except ValueError:
        print('error')
`
	got := runPython(t, py, script, in.Bytes())
	if len(got) != len(ins) {
		t.Fatalf("python3 printed %d lines for %d inputs", len(got), len(ins))
	}
	fails := 0
	for i, s := range ins {
		f, err := Parse(s)
		mine := "error"
		if err == nil {
			mine = fmt.Sprintf("%016x", math.Float64bits(f))
		}
		if mine != got[i] {
			t.Errorf("Parse(%q) = %s, Python float() = %s", s, mine, got[i])
			if fails++; fails > 20 {
				t.Fatal("too many failures")
			}
		}
	}
	t.Logf("compared %d strings", len(ins))
}

// TestParseWhitespaceMatchesPython checks that Parse strips exactly the
// non-ASCII characters Python's float() strips.
func TestParseWhitespaceMatchesPython(t *testing.T) {
	if testing.Short() {
		t.Skip("scans all of Unicode; skipped in -short mode")
	}
	py := requirePython(t)
	const script = `
for c in range(0, 0x110000):
    if 0xd800 <= c < 0xe000 or chr(c).isdecimal():
        continue
    try:
        float(chr(c) + '1' + chr(c))
        print(c)
    except ValueError:
        pass
`
	want := strings.Join(runPython(t, py, script, nil), ",")
	var got []string
	for r := rune(0); r < 0x110000; r++ {
		if r >= 0xd800 && r < 0xe000 {
			continue
		}
		if _, err := Parse(string(r) + "1" + string(r)); err == nil && (r < '0' || r > '9') {
			got = append(got, strconv.Itoa(int(r)))
		}
	}
	if g := strings.Join(got, ","); g != want {
		t.Errorf("stripped characters differ:\n got %s\nwant %s", g, want)
	}
}

func FuzzRepr(f *testing.F) {
	for _, v := range []float64{0, 1, -1, 0.1, 1e-05, 1e16, 1e15, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.NaN()} {
		f.Add(math.Float64bits(v))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		v := math.Float64frombits(bits)
		s := Repr(v)
		got, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(Repr(%#x) = %q): %v", bits, s, err)
		}
		if math.IsNaN(v) {
			if !math.IsNaN(got) || s != "nan" {
				t.Fatalf("NaN %#x: Repr %q, Parse %v", bits, s, got)
			}
			return
		}
		if math.Float64bits(got) != bits {
			t.Fatalf("Parse(Repr(%#x) = %q) = %#x", bits, s, math.Float64bits(got))
		}
		// Python's notation rule: positional iff 1e-4 <= |v| < 1e16.
		if v == 0 || math.IsInf(v, 0) {
			return
		}
		positional := math.Abs(v) >= 1e-4 && math.Abs(v) < 1e16
		if strings.Contains(s, "e") == positional || positional && !strings.Contains(s, ".") {
			t.Fatalf("Repr(%#x) = %q has the wrong notation", bits, s)
		}
	})
}

// FuzzParse checks that Parse never panics and agrees with strconv.ParseFloat
// on the plain decimal strings both accept.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"1", "-1.5e+300", ".5", "1.", "1_000", " inf ", "-nan", "1e", "0x1p3", "1__0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s)
		if err != nil {
			return
		}
		if strings.Contains(s, "_") || !utf8.ValidString(s) {
			return
		}
		want, err := strconv.ParseFloat(strings.TrimFunc(s, isSpace), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			if strings.ContainsAny(strings.ToLower(s), "in") {
				return // "nan", "-nan", "infinity": handled separately
			}
			t.Fatalf("Parse(%q) = %v but strconv.ParseFloat fails: %v", s, got, err)
		}
		if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("Parse(%q) = %v, strconv.ParseFloat = %v", s, got, want)
		}
	})
}
