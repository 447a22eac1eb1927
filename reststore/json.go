package reststore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// num is a proto double in MLflow's JSON: a number, or one of the strings
// "NaN", "Infinity" and "-Infinity" (protobuf's JSON forms, which MLflow's
// server emits and accepts). -0.0 is written as -0.0 so that Python reads a
// float, not the integer 0.
type num float64

func (f num) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	case v == 0 && math.Signbit(v):
		return []byte(`-0.0`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

func (f *num) UnmarshalJSON(b []byte) error {
	v, err := parseDouble(b)
	if err != nil {
		return err
	}
	*f = num(v)
	return nil
}

func parseDouble(b []byte) (float64, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return 0, err
		}
		switch s {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
		b = []byte(s)
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, fmt.Errorf("reststore: bad double %s", b)
	}
	return v, nil
}

// i64 is a proto int64 in JSON: MLflow writes a number, protobuf's own
// encoder a string; both are read exactly.
type i64 int64

func (n i64) MarshalJSON() ([]byte, error) { return strconv.AppendInt(nil, int64(n), 10), nil }

func (n *i64) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		// An integral number written with an exponent or a fraction.
		f, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return fmt.Errorf("reststore: bad int64 %s", b)
		}
		v = int64(f)
	}
	*n = i64(v)
	return nil
}

func ptrI64(p *int64) *i64 {
	if p == nil {
		return nil
	}
	v := i64(*p)
	return &v
}

func fromPtrI64(p *i64) *int64 {
	if p == nil {
		return nil
	}
	v := int64(*p)
	return &v
}
