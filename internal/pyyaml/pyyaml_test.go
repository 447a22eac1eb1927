package pyyaml

import (
	"errors"
	"math"
	"strings"
	"testing"
)

type myString string

// TestMarshal checks Marshal against outputs recorded from PyYAML 6.0
// (yaml.safe_dump with default_flow_style=False, allow_unicode=True,
// sort_keys=True), so that it does not need python3.
func TestMarshal(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"experiment meta.yaml", map[string]any{"artifact_location": "file:///tmp/mlruns/1", "creation_time": int64(1718000000000), "experiment_id": "1", "last_update_time": int64(1718000000000), "lifecycle_stage": "active", "name": "my-exp"}, `artifact_location: file:///tmp/mlruns/1
creation_time: 1718000000000
experiment_id: '1'
last_update_time: 1718000000000
lifecycle_stage: active
name: my-exp
`},
		{"scalars", map[string]any{"none": nil, "t": true, "f": false, "i": 42, "neg": -7, "big": int64(math.MinInt64), "u": uint64(math.MaxUint64), "s": "text"}, `big: -9223372036854775808
f: false
i: 42
neg: -7
none: null
s: text
t: true
u: 18446744073709551615
`},
		{"floats", map[string]any{"a": 1.0, "b": 0.5, "c": 1e-05, "d": 1e16, "e": 1e15, "f": math.NaN(), "g": math.Inf(1), "h": math.Inf(-1), "i": math.Copysign(0, -1), "j": 5e-324, "k": math.MaxFloat64, "l": 123456789.123, "m": -2.5e-300, "n": 1.5e300}, `a: 1.0
b: 0.5
c: 1.0e-05
d: 1.0e+16
e: 1000000000000000.0
f: .nan
g: .inf
h: -.inf
i: -0.0
j: 5.0e-324
k: 1.7976931348623157e+308
l: 123456789.123
m: -2.5e-300
n: 1.5e+300
`},
		{"nested and empty collections", map[string]any{"m": map[string]any{"x": 1, "y": map[string]any{"z": "deep"}}, "em": map[string]any{}, "el": []any{}, "l": []any{1, "two", nil, []any{3, 4}, map[string]any{"k": "v", "k2": []any{}}}}, `el: []
em: {}
l:
- 1
- two
- null
- - 3
  - 4
- k: v
  k2: []
m:
  x: 1
  y:
    z: deep
`},
		{"key order is code point order", map[string]any{"b": 1, "a": 2, "B": 3, "_": 4, "é": 5, "z": 6, "10": 7, "9": 8, "": 9, "🚀": 10, "\uffff": 11}, `? ''
: 9
'10': 7
'9': 8
B: 3
_: 4
a: 2
b: 1
z: 6
é: 5
"\uFFFF": 11
🚀: 10
`},
		{"strings resolving to other types are single-quoted", map[string]any{"bool": []any{"yes", "No", "ON", "off", "True", "y", "n"}, "int": []any{"0x1F", "017", "0b11", "1_000", "1:20", "-1", "08", "0o17"}, "float": []any{"1.5", ".5", "1.0e+3", "1e3", ".inf", ".NaN", "1:20.5"}, "null": []any{"", "~", "null", "Null", "NULL", "none"}, "other": []any{"2024-01-01", "2024-01-01 12:00:00", "2024-1-1", "=", "<<"}}, `bool:
- 'yes'
- 'No'
- 'ON'
- 'off'
- 'True'
- y
- n
float:
- '1.5'
- '.5'
- '1.0e+3'
- 1e3
- '.inf'
- '.NaN'
- '1:20.5'
int:
- '0x1F'
- '017'
- '0b11'
- '1_000'
- '1:20'
- '-1'
- 08
- 0o17
'null':
- ''
- '~'
- 'null'
- 'Null'
- 'NULL'
- none
other:
- '2024-01-01'
- '2024-01-01 12:00:00'
- 2024-1-1
- '='
- '<<'
`},
		{"indicators and whitespace", map[string]any{"s": []any{"-", "- x", "-x", ":x", "a: b", "a:b", "a #b", "a#b", "#x", "@x", "`x", "!x", "&x", "*x", "|", ">", "%x", "'q'", "\"dq\"", "[x]", "{x}", "x,y", "?", "? x", "---", "...x", " lead", "trail ", "it's"}}, "s:\n- '-'\n- '- x'\n- -x\n- :x\n- 'a: b'\n- a:b\n- 'a #b'\n- a#b\n- '#x'\n- '@x'\n- '`x'\n- '!x'\n- '&x'\n- '*x'\n- '|'\n- '>'\n- '%x'\n- '''q'''\n- '\"dq\"'\n- '[x]'\n- '{x}'\n- x,y\n- '?'\n- '? x'\n- '---'\n- '...x'\n- ' lead'\n- 'trail '\n- it's\n"},
		{"double-quoted escapes", map[string]any{"s": []any{"tab\t", "nul\x00", "bell\a", "esc\x1b", "del\x7f", "c1\u0080", "bom\ufeff", "nbsp\u00a0", "\r\n", "ls\u2028 ", "🚀\x01", "\U0010ffff", "back\\slash\x01", "\ufffe"}}, "s:\n- \"tab\\t\"\n- \"nul\\0\"\n- \"bell\\a\"\n- \"esc\\e\"\n- \"del\\x7F\"\n- \"c1\\x80\"\n- \"bom\\uFEFF\"\n- nbsp\u00a0\n- \"\\r\\n\"\n- \"ls\\L \"\n- \"\\U0001F680\\x01\"\n- \"\\U0010FFFF\"\n- \"back\\\\slash\\x01\"\n- \"\\uFFFE\"\n"},
		{"unicode is written raw", map[string]any{"ünïcødé": "名前 🚀", "nbsp": "a\u00a0b"}, "nbsp: a\u00a0b\nünïcødé: 名前 🚀\n"},
		{"line breaks", map[string]any{"a": "new\nline", "b": "multi\n\nline\n", "c": "\n", "d": "trailing space \nx", "e": "x\n indented"}, `a: 'new

  line'
b: 'multi


  line

  '
c: '

  '
d: "trailing space \nx"
e: "x\n indented"
`},
		{"long strings fold at 80 columns", map[string]any{"plain": strings.Repeat("word ", 30) + "end", "single": "'" + strings.Repeat("quoted ", 20), "double": "\x01" + strings.Repeat("escaped ", 20), "unbroken": strings.Repeat("x", 120), "nested": map[string]any{"list": []any{strings.Repeat("ab ", 40)}}}, `double: "\x01escaped escaped escaped escaped escaped escaped escaped escaped escaped\
  \ escaped escaped escaped escaped escaped escaped escaped escaped escaped escaped\
  \ escaped "
nested:
  list:
  - 'ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab
    ab ab ab ab ab ab ab ab ab ab ab ab ab ab '
plain: word word word word word word word word word word word word word word word
  word word word word word word word word word word word word word word word end
single: '''quoted quoted quoted quoted quoted quoted quoted quoted quoted quoted quoted
  quoted quoted quoted quoted quoted quoted quoted quoted quoted '
unbroken: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
`},
		{"long and multi-line keys use explicit key syntax", map[string]any{strings.Repeat("k", 122): 1, strings.Repeat("k", 123): 2, "a\nb": []any{"x"}, "": map[string]any{"c": 3}}, `? ''
: c: 3
? 'a

  b'
: - x
kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk: 1
? kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk
: 2
`},
		{"keys are never folded", map[string]any{strings.Repeat("key ", 30): "v"}, `'key key key key key key key key key key key key key key key key key key key key key key key key key key key key key key ': v
`},
		{"root list", []any{1, []any{2, 3}, map[string]any{"a": 1, "b": 2}, []any{}, map[string]any{}}, `- 1
- - 2
  - 3
- a: 1
  b: 2
- []
- {}
`},
		{"root plain scalar ends the document", "abc", `abc
...
`},
		{"root quoted scalar", "yes", `'yes'
`},
		{"root int", 42, `42
...
`},
		{"root nil", nil, `null
...
`},
		{"root empty map", map[string]any{}, `{}
`},
		{"root empty list", []any{}, `[]
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.in)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("Marshal =\n%s\nwant\n%s\n(got %q)", got, tt.want, got)
			}
		})
	}
}

// TestMarshalGoTypes checks that typed maps, slices, arrays, pointers and
// named types are written like their map[string]any and []any equivalents.
func TestMarshalGoTypes(t *testing.T) {
	i := 7
	var nilPtr *int
	s := "yes"
	tests := []struct {
		name    string
		in, ref any
	}{
		{"map[string]string", map[string]string{"b": "2", "a": "yes"}, map[string]any{"b": "2", "a": "yes"}},
		{"named key and value", map[myString]myString{"k": "true"}, map[string]any{"k": "true"}},
		{"[]string", map[string][]string{"l": {"a", "1"}}, map[string]any{"l": []any{"a", "1"}}},
		{"array", [2]int{1, 2}, []any{1, 2}},
		{"small ints", []any{int8(-8), int16(16), int32(-32), uint8(8), uint16(16), uint32(32), uint(1), uintptr(2)}, []any{-8, 16, -32, 8, 16, 32, 1, 2}},
		{"float32", []any{float32(0.1), float32(1e-5), float32(math.Inf(-1))}, []any{float64(float32(0.1)), float64(float32(1e-5)), math.Inf(-1)}},
		{"pointers", map[string]any{"p": &i, "n": nilPtr, "s": &s}, map[string]any{"p": 7, "n": nil, "s": "yes"}},
		{"nil map and slice", map[string]any{"m": map[string]int(nil), "l": []string(nil)}, map[string]any{"m": map[string]any{}, "l": []any{}}},
		{"nested typed", map[string]map[string][]float64{"a": {"b": {1, 2.5}}}, map[string]any{"a": map[string]any{"b": []any{1.0, 2.5}}}},
	}
	for _, tt := range tests {
		got, err := Marshal(tt.in)
		if err != nil {
			t.Errorf("%s: Marshal: %v", tt.name, err)
			continue
		}
		want, err := Marshal(tt.ref)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s: Marshal = %q, want %q", tt.name, got, want)
		}
	}
}

func TestMarshalErrors(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	cyclicList := []any{nil}
	cyclicList[0] = cyclicList
	type point struct{ X int }
	tests := []struct {
		name  string
		in    any
		check func(error) bool
	}{
		{"invalid UTF-8 value", map[string]any{"k": "a\xffb"}, isInvalidUTF8},
		{"invalid UTF-8 key", map[string]any{"\xc3": 1}, isInvalidUTF8},
		{"surrogate", "\xed\xa0\x80", isInvalidUTF8},
		{"struct", point{1}, isUnsupported},
		{"bytes", map[string]any{"b": []byte("x")}, isUnsupported},
		{"byte array", [2]byte{}, isUnsupported},
		{"int keys", map[int]string{1: "a"}, isUnsupported},
		{"complex", complex(1, 2), isUnsupported},
		{"func", func() {}, isUnsupported},
		{"chan", make(chan int), isUnsupported},
		{"cyclic map", cyclic, isCycle},
		{"cyclic slice", cyclicList, isCycle},
	}
	for _, tt := range tests {
		b, err := Marshal(tt.in)
		if err == nil {
			t.Errorf("%s: Marshal = %q, want error", tt.name, b)
			continue
		}
		if !tt.check(err) {
			t.Errorf("%s: unexpected error %v", tt.name, err)
		}
		if !strings.HasPrefix(err.Error(), "pyyaml: ") {
			t.Errorf("%s: error %q lacks the package prefix", tt.name, err)
		}
	}

	// A value shared between two places is not a cycle.
	shared := map[string]any{"x": 1}
	if _, err := Marshal(map[string]any{"a": shared, "b": shared, "c": []any{shared, shared}}); err != nil {
		t.Errorf("shared value: %v", err)
	}
}

func isInvalidUTF8(err error) bool {
	var e *InvalidUTF8Error
	return errors.As(err, &e)
}

func isUnsupported(err error) bool {
	var e *UnsupportedTypeError
	return errors.As(err, &e)
}

func isCycle(err error) bool { return strings.Contains(err.Error(), "cyclic") }

func TestFormatFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{math.NaN(), ".nan"},
		{math.Inf(1), ".inf"},
		{math.Inf(-1), "-.inf"},
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1, "1.0"},
		{-1.5, "-1.5"},
		{1e-05, "1.0e-05"},
		{1.5e-05, "1.5e-05"},
		{1e16, "1.0e+16"},
		{-1e100, "-1.0e+100"},
		{1e15, "1000000000000000.0"},
		{5e-324, "5.0e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{0.1, "0.1"},
	}
	for _, tt := range tests {
		got := FormatFloat(tt.in)
		if got != tt.want {
			t.Errorf("FormatFloat(%v) = %q, want %q", tt.in, got, tt.want)
		}
		// The text must resolve as a YAML 1.1 float, or it would be quoted.
		if resolvesToStr(got) {
			t.Errorf("FormatFloat(%v) = %q resolves to str", tt.in, got)
		}
	}
}

func TestResolvesToStr(t *testing.T) {
	notStr := []string{
		"", "~", "null", "Null", "NULL", "yes", "Yes", "YES", "no", "NO", "on", "Off",
		"true", "False", "0", "-0", "+12", "0x1F", "-0x_f", "017", "0_7", "0b101",
		"1_000", "1:20", "-1:20:30", "1.5", "1.", ".5", "-1.5e+3", "1.0e+3", "1_0.5",
		"1:20.5", ".inf", "-.Inf", "+.INF", ".nan", ".NaN", "2024-01-01",
		"2024-1-1 1:00:00", "2024-01-01T12:00:00Z", "2024-01-01t12:00:00.5+01:00",
		"2024-01-01 \t 12:00:00 -5", "<<", "=", "!", "&", "*", "yes\n", "1\n",
	}
	str := []string{
		"y", "n", "Y", "yEs", "nULL", "none", "TRue", "1e3", "1E3", "1e+3", "1.0e3",
		"0o17", "08", "0x", "0b", "0b2", "1:60", "0:20", "_1", "-.nan", "nan", "inf",
		".", "1.2.3", "2024-01-01 12:00", "2024-001-01", "<", "==", "x", "yes ",
		"yes\n\n", " 1", "1 ",
	}
	for _, s := range notStr {
		if resolvesToStr(s) {
			t.Errorf("resolvesToStr(%q) = true, want false", s)
		}
	}
	for _, s := range str {
		if !resolvesToStr(s) {
			t.Errorf("resolvesToStr(%q) = false, want true", s)
		}
	}
}
