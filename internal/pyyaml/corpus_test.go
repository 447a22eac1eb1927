package pyyaml

import (
	"math"
	"math/rand/v2"
	"strings"
)

// trickyStrings are strings whose YAML spelling depends on PyYAML's quoting
// rules: YAML 1.1 implicit types, indicators, whitespace, line breaks,
// unprintable characters and folding.
func trickyStrings() []string {
	ss := []string{
		// YAML 1.1 bool.
		"yes", "Yes", "YES", "yEs", "no", "No", "NO", "true", "True", "TRUE", "tRUE",
		"false", "False", "FALSE", "on", "On", "ON", "oN", "off", "Off", "OFF",
		"y", "Y", "n", "N", "yes\n", "yes ",
		// YAML 1.1 int.
		"0", "-0", "+0", "1", "-1", "+1", "12", "0x1F", "0x1f", "-0x1F", "0x", "0xG",
		"017", "08", "0o17", "0b101", "0b", "0b2", "-0b11", "1_000", "1__0", "_1",
		"1:20", "-1:20", "1:20:30", "1:60", "0:20", "190:20:30", "1:2", "123456789012345678901234567890",
		// YAML 1.1 float.
		"1.5", "-1.5", "+1.5", "1.", ".5", "-.5", "1.0e+3", "1.0e3", "1e3", "1E3", "1e+3",
		"1.5E-10", "1_000.5", "1:20.5", ".inf", "-.inf", "+.Inf", ".INF", ".nan", ".NaN",
		".NAN", "-.nan", "nan", "inf", "NaN", "Infinity", ".", "..", "1.2.3", "._5",
		// YAML 1.1 null, merge, value, timestamp.
		"", "~", "null", "Null", "NULL", "nULL", "none", "None", "<<", "<", "<<<", "=", "==",
		"2024-01-01", "2024-1-1", "2024-01-01 12:00:00", "2024-01-01T12:00:00Z",
		"2024-01-01t12:00:00.123456+02:00", "2024-01-01   12:00:00 -5", "2024-01-01 12:00",
		"2024-01-01\t12:00:00", "2024-13-45", "20240101", "2024-01-01 ",
		// Indicators.
		"-", "--", "---", "--- x", "...", "... x", "- x", "-x", "x-", "?", "? x", "?x",
		":", ": x", ":x", "x:", "x: y", "a: b", "a:b", "a #b", "a#b", "#x", "# x", "x #",
		"@x", "`x", "!x", "&x", "*x", "|", "|x", ">", ">x", "%x", "'q'", "'", "''",
		`"dq"`, `"`, "[x]", "[", "]", "{x}", "{", "}", "x,y", ",", "x[", "x]y", "x{y}",
		"x?", "x?y", "a,b,c", "http://example.com/a?b=c#d", "s3://bucket/path",
		"file:///tmp/mlruns/0/abc", "C:\\Users\\x", "key=value", "x=", "!", "&", "*",
		// Whitespace.
		" ", "  ", " lead", "trail ", " both ", "in ner", "in  ner", "tab\t", "\ttab",
		"a\tb", "x\x00y", "\r", "a\rb", "a\r\nb", "\v", "\f",
		// Line breaks.
		"\n", "\n\n", "new\nline", "multi\n\nline\n", "trailing\n", "\nleading",
		"a \nb", "a\n b", "a\n\nb", "a\n\n\nb", "x\n\n", " \n", "\n ",
		"a\u0085b", "\u0085", "a\u2028b", "a\u2029b", "\u2028", "a\u2028\u2028b",
		"a\u2028 b", "a \u2028b", "a\n\u2028b",
		// Unicode.
		"ünïcødé 名前 🚀", "🚀", "名前", "é", "\u00a0", "a\u00a0b", "\u00a0x", "x\u00a0",
		"\ufeff", "a\ufeffb", "\ufffd", "\ufffe", "\uffff", "\ue000", "\ud7ff",
		"\U00010000", "\U0010fffe", "\U0010ffff", "\x7f", "\u0080", "\u009f", "\u00ad",
		"\x01", "\x1b", "\x1f", "a\x07b", "\u200b", "\u3000x", "x\u3000",
		"🚀\x01", "\"🚀\"", "'🚀", "🚀 🚀",
		// Quotes inside.
		"it's", "'start", "end'", "a'b'c", "say \"hi\"", `back\slash`, `\`, `\n`,
		// JSON-looking strings, as MLflow stores dataset schemas and profiles.
		`{"a": 1, "b": [1,2]}`,
		`{"mlflow_colspec": [{"type": "double", "name": "sepal length (cm)", "required": true}, {"type": "double", "name": "sepal width (cm)", "required": true}]}`,
		`[{"name": "x", "type": "long"}]`, `{}`, `[]`, `{"num_rows": 150, "num_elements": 600}`,
		// MLflow-ish values.
		"mlflow.user", "mlflow.source.name", "/home/user/train.py", "LOCAL",
		"file:///home/user/mlruns/0/0123456789abcdef0123456789abcdef/artifacts",
		"0123456789abcdef0123456789abcdef", "1e-05", "0.001", "123456789.123",
	}
	// Long strings: plain, quoted and double-quoted folding at 80 columns.
	word := func(n int) string { return strings.Repeat("x", n) }
	ss = append(ss,
		word(200), word(6000), strings.Repeat("word ", 50), strings.Repeat("word ", 1200)+"end",
		strings.Repeat("a b", 100), strings.Repeat("ab  ", 60), strings.Repeat(" x", 90),
		strings.Repeat("yes ", 40)+"yes", strings.Repeat("é ", 100), strings.Repeat("名前 ", 70),
		"'"+strings.Repeat("quoted words ", 20)+"'", strings.Repeat("tab\tand words ", 20),
		strings.Repeat("line one\n", 10), strings.Repeat("word ", 30)+"\n"+strings.Repeat("word ", 30),
		strings.Repeat("🚀 ", 60)+"\x01", strings.Repeat("x", 79)+" y", strings.Repeat("x", 80)+" y",
		strings.Repeat("x", 81)+" y", word(121), word(122), word(123), word(124),
		strings.Repeat("é", 122), strings.Repeat("é", 123), strings.Repeat("🚀", 122), strings.Repeat("🚀", 123), strings.Repeat("x", 78)+"  y", strings.Repeat("x ", 100)+" ",
		" "+strings.Repeat("x ", 100), strings.Repeat("\"x\" ", 50), strings.Repeat("\\", 100),
		strings.Repeat("\x01 ", 50), strings.Repeat("a\x01", 60), word(127), word(128), word(129),
		strings.Repeat("é", 127), strings.Repeat("é", 128), strings.Repeat("é", 64),
		strings.Repeat("x", 60)+" "+strings.Repeat("y", 60)+" "+strings.Repeat("z", 60),
		strings.Repeat("k", 126)+"\n", strings.Repeat("x y", 30)+"\n"+strings.Repeat("x y", 30),
		strings.Repeat("x", 100)+"\n\n"+strings.Repeat("y ", 60),
		`{"type": "dataframe", "schema": `+strings.Repeat(`{"name": "col", "type": "double"}, `, 40)+`}`,
	)
	for i := 70; i <= 90; i++ {
		ss = append(ss, word(i)+" "+word(5), word(i)+"  "+word(5), "'"+word(i)+" "+word(5),
			"\t"+word(i)+" "+word(5)+" "+word(5))
	}
	return ss
}

// randomString returns a random string built to hit PyYAML's special cases:
// it mixes indicator characters, whitespace, line breaks, quotes, control
// characters and Unicode, with lengths that trigger folding.
func randomString(r *rand.Rand) string {
	pools := []string{
		"abcxyz",
		"abcdefghijklmnopqrstuvwxyzABCXYZ0123456789",
		"  ",
		"-?:,[]{}#&*!|>'\"%@`.~=<+_/\\",
		"\n\n\t\r\x00\x01\x7f",
		"\u0085\u2028\u2029\u00a0\ufeff",
		"éü名前\u00e9\ud7ff\ue000\ufffd\ufffe",
		"🚀\U00010000\U0010ffff",
		"0123456789.e+-_:x",
	}
	var weights []int
	for range pools {
		weights = append(weights, r.IntN(10))
	}
	weights[0] += 3
	weights[2] += 3
	total := 0
	for _, w := range weights {
		total += w
	}
	var n int
	switch r.IntN(4) {
	case 0:
		n = r.IntN(6)
	case 1:
		n = r.IntN(20)
	case 2:
		n = r.IntN(200)
	default:
		n = 60 + r.IntN(140)
	}
	var b strings.Builder
	for range n {
		k := r.IntN(total)
		p := 0
		for k >= weights[p] {
			k -= weights[p]
			p++
		}
		pool := []rune(pools[p])
		b.WriteRune(pool[r.IntN(len(pool))])
	}
	return b.String()
}

// randomScalarLike returns short strings built from the characters of YAML
// 1.1 numbers, booleans, nulls and timestamps, to exercise the resolvers.
func randomScalarLike(r *rand.Rand) string {
	parts := []string{
		"0", "1", "7", "9", "12", "-", "+", ".", "_", ":", "e", "E", "x", "b", "o",
		"inf", "nan", "Inf", "NaN", "yes", "no", "on", "off", "true", "null", "~",
		"2024", "-01", "-1", " ", "T", "t", "Z", "12:00:00", "+02:00", "\n", "<<", "=",
	}
	var b strings.Builder
	for range 1 + r.IntN(5) {
		b.WriteString(parts[r.IntN(len(parts))])
	}
	return b.String()
}

// randomFloat returns an edge-case or random float64.
func randomFloat(r *rand.Rand) float64 {
	switch r.IntN(6) {
	case 0:
		return []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), 1, -1,
			0.1, 1e-05, 1e16, 1e15, 1e17, 1e300, math.MaxFloat64, math.SmallestNonzeroFloat64,
			123456789.123, 0.0001, 1.5e-7}[r.IntN(18)]
	case 1:
		return float64(r.IntN(2000) - 1000)
	case 2:
		return math.Pow(10, r.Float64()*50-25)
	default:
		f := math.Float64frombits(r.Uint64())
		if math.IsNaN(f) {
			return 0.5
		}
		return f
	}
}

// randomValue returns a random document node: scalars of all supported
// types, and maps and lists nested up to depth.
func randomValue(r *rand.Rand, depth int) any {
	k := r.IntN(12)
	if depth <= 0 && k >= 9 {
		k = r.IntN(9)
	}
	switch k {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return []int64{0, 1, -1, 42, math.MaxInt64, math.MinInt64, r.Int64(), -r.Int64()}[r.IntN(8)]
	case 3:
		return randomFloat(r)
	case 4, 5:
		return randomString(r)
	case 6:
		return randomScalarLike(r)
	case 7, 8:
		ts := trickyStrings()
		return ts[r.IntN(len(ts))]
	case 9, 10:
		m := map[string]any{}
		for range r.IntN(5) {
			var key string
			switch r.IntN(3) {
			case 0:
				key = randomString(r)
			case 1:
				key = randomScalarLike(r)
			default:
				key = []string{"name", "value", "key", "run_id", "tags", "params", "a", "b"}[r.IntN(8)]
			}
			m[key] = randomValue(r, depth-1)
		}
		return m
	default:
		l := []any{}
		for range r.IntN(4) {
			l = append(l, randomValue(r, depth-1))
		}
		return l
	}
}
