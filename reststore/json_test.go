package reststore

import (
	"encoding/json"
	"math"
	"testing"
)

// TestDoubleJSON: doubles are written so that Python reads back the same
// float (NaN and the infinities as protobuf's strings, -0.0 as a float)
// and read from numbers and from protobuf's strings.
func TestDoubleJSON(t *testing.T) {
	a, b := 0.1, 0.2
	for _, tc := range []struct {
		v    float64
		json string
	}{
		{math.NaN(), `"NaN"`}, {math.Inf(1), `"Infinity"`}, {math.Inf(-1), `"-Infinity"`},
		{math.Copysign(0, -1), `-0.0`}, {0, `0`}, {a + b, `0.30000000000000004`},
		{1e16, `1e+16`}, {math.MaxFloat64, `1.7976931348623157e+308`}, {5e-324, `5e-324`},
	} {
		b, err := json.Marshal(num(tc.v))
		if err != nil || string(b) != tc.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tc.v, b, err, tc.json)
		}
		var back num
		if err := json.Unmarshal(b, &back); err != nil || !same(float64(back), tc.v) {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", b, back, err, tc.v)
		}
	}
	for in, want := range map[string]float64{`"1.5"`: 1.5, `1E3`: 1000, `-0.0`: math.Copysign(0, -1)} {
		var f num
		if err := json.Unmarshal([]byte(in), &f); err != nil || !same(float64(f), want) {
			t.Errorf("Unmarshal(%s) = %v, %v", in, f, err)
		}
	}
	for _, bad := range []string{`true`, `"x"`, `[]`} {
		var f num
		if err := json.Unmarshal([]byte(bad), &f); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
}

// TestInt64JSON: int64 values are exact from numbers and from protobuf's
// strings, at the limits too.
func TestInt64JSON(t *testing.T) {
	for in, want := range map[string]int64{
		`9223372036854775807`: math.MaxInt64, `"-9223372036854775808"`: math.MinInt64,
		`"9007199254740993"`: 1<<53 + 1, `1e3`: 1000, `0`: 0,
	} {
		var n i64
		if err := json.Unmarshal([]byte(in), &n); err != nil || int64(n) != want {
			t.Errorf("Unmarshal(%s) = %d, %v; want %d", in, n, err, want)
		}
	}
	for _, bad := range []string{`1.5`, `"x"`, `1e300`} {
		var n i64
		if err := json.Unmarshal([]byte(bad), &n); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
	if b, _ := json.Marshal(i64(math.MinInt64)); string(b) != "-9223372036854775808" {
		t.Errorf("Marshal = %s", b)
	}
}

func same(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return a == b && math.Signbit(a) == math.Signbit(b)
}

// TestShiftToken moves the offset of MLflow page tokens and keeps other
// fields.
func TestShiftToken(t *testing.T) {
	got, ok := shiftToken("eyJvZmZzZXQiOiAxMH0=", -1) // {"offset": 10}
	if !ok || got != "eyJvZmZzZXQiOjl9" {             // {"offset":9}
		t.Errorf("shiftToken = %q, %v", got, ok)
	}
	if _, ok := shiftToken("not base64!", -1); ok {
		t.Error("a bad token was shifted")
	}
	if !isPageToken("eyJvZmZzZXQiOiAxMH0=") || isPageToken("not a token") {
		t.Error("isPageToken")
	}
}
