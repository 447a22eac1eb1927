package mlrun_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/internal/mlflowtest"
	"github.com/mlrun-go/mlrun/mlrun"
)

type point struct {
	X, Y   float64
	Label  string
	hidden int
}

// paramCases pair Go values with the Python value MLflow would get and
// str() of it. TestParamStringMatchesPython checks the want strings against
// Python.
var paramCases = []struct {
	goValue any
	python  string // a Python expression; "np" is numpy
	want    string
}{
	{nil, "None", "None"},
	{true, "True", "True"},
	{false, "False", "False"},
	{42, "42", "42"},
	{int64(-7), "-7", "-7"},
	{uint64(math.MaxUint64), "18446744073709551615", "18446744073709551615"},
	{int8(-128), "-128", "-128"},
	{0.1, "0.1", "0.1"},
	{1.0, "1.0", "1.0"},
	{1e-5, "1e-05", "1e-05"},
	{1e16, "1e16", "1e+16"},
	{123456789.0, "123456789.0", "123456789.0"},
	{math.Copysign(0, -1), "-0.0", "-0.0"},
	{math.Inf(-1), "float('-inf')", "-inf"},
	{math.NaN(), "float('nan')", "nan"},
	{float32(0.1), "float(str(np.float32(0.1)))", "0.1"},
	{float32(0.5), "float(str(np.float32(0.5)))", "0.5"},
	{float32(123456789), "float(str(np.float32(123456789.0)))", "123456790.0"},
	{float32(1e-5), "float(str(np.float32(1e-05)))", "1e-05"},
	{complex(1, 2), "complex(1, 2)", "(1+2j)"},
	{complex(0, 2), "complex(0, 2)", "2j"},
	{complex(1.5, -0.5), "complex(1.5, -0.5)", "(1.5-0.5j)"},
	{complex(math.Inf(1), math.NaN()), "complex(float('inf'), float('nan'))", "(inf+nanj)"},
	{"plain", "'plain'", "plain"},
	{"it's", `"it's"`, "it's"},
	{[]int{1, 2}, "[1, 2]", "[1, 2]"},
	{[]int{}, "[]", "[]"},
	{[]int(nil), "[]", "[]"},
	{[3]bool{true, false, true}, "[True, False, True]", "[True, False, True]"},
	{[]any{1, "a", nil, 2.5, true}, "[1, 'a', None, 2.5, True]", "[1, 'a', None, 2.5, True]"},
	{[]string{"it's", `say "hi"`, "both ' \"", "tab\t", "é", "\x00"}, `["it's", 'say "hi"', 'both \' "', 'tab\t', 'é', '\x00']`,
		`["it's", 'say "hi"', 'both \' "', 'tab\t', 'é', '\x00']`},
	{[]float64{0.1, 1, 1e22, math.Inf(1)}, "[0.1, 1.0, 1e22, float('inf')]", "[0.1, 1.0, 1e+22, inf]"},
	{map[string]int{"a": 1}, "{'a': 1}", "{'a': 1}"},
	{map[string]any{"b": []int{1}, "a": map[string]any{"x": nil}}, "{'a': {'x': None}, 'b': [1]}", "{'a': {'x': None}, 'b': [1]}"},
	{map[int]string{10: "x", 2: "y"}, "{2: 'y', 10: 'x'}", "{2: 'y', 10: 'x'}"},
	{map[string]int(nil), "{}", "{}"},
	{[][]string{{"a"}, {}}, "[['a'], []]", "[['a'], []]"},
	{[]byte("a'\x00\xff\n"), `b"a'\x00\xff\n"`, `b"a'\x00\xff\n"`},
	{[]byte("plain"), "b'plain'", "b'plain'"},
	{point{X: 1, Y: 0.5, Label: "p", hidden: 3}, "{'X': 1.0, 'Y': 0.5, 'Label': 'p'}", "{'X': 1.0, 'Y': 0.5, 'Label': 'p'}"},
	{&point{X: 2}, "{'X': 2.0, 'Y': 0.0, 'Label': ''}", "{'X': 2.0, 'Y': 0.0, 'Label': ''}"},
	{(*point)(nil), "None", "None"},
	{[]*int{nil}, "[None]", "[None]"},
	{[]any{[]any{[]any{}}}, "[[[]]]", "[[[]]]"},
	{time.Second, "'1s'", "1s"},
	{[]time.Duration{time.Minute}, "", "[1m0s]"}, // a Stringer: its String, also in containers
	{errors.New("boom"), "", "boom"},
}

func TestParamString(t *testing.T) {
	for _, tc := range paramCases {
		if got := mlrun.ParamString(tc.goValue); got != tc.want {
			t.Errorf("ParamString(%#v) = %q, want %q", tc.goValue, got, tc.want)
		}
	}
}

// TestParamStringMatchesPython checks paramCases' expected strings
// against str() of the Python values in MLflow's Python (3.17.2, with
// numpy).
func TestParamStringMatchesPython(t *testing.T) {
	var exprs []string
	var wants []string
	for _, tc := range paramCases {
		if tc.python != "" {
			exprs = append(exprs, tc.python)
			wants = append(wants, tc.want)
		}
	}
	in, err := json.Marshal(exprs)
	if err != nil {
		t.Fatal(err)
	}
	out := mlflowtest.Run(t, "3.17.2", "", `
import json, sys
import numpy as np
print(json.dumps([str(eval(e)) for e in json.loads(sys.argv[1])]))
`, string(in))
	var got []string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if len(got) != len(wants) {
		t.Fatalf("Python gave %d strings for %d expressions", len(got), len(wants))
	}
	for i := range got {
		if got[i] != wants[i] {
			t.Errorf("str(%s) is %q in Python; the table wants %q", exprs[i], got[i], wants[i])
		}
	}
}

// fuzzValue builds a nested value from data: each byte picks a leaf, a new
// list or map, the end of the current container, or a reference back to a
// map being built (a cycle). It reports whether it made a cycle.
func fuzzValue(data []byte) (any, bool) {
	type frame struct {
		list []any
		m    map[string]any
	}
	root := &frame{list: []any{}}
	stack := []*frame{root}
	cycle := false
	add := func(v any) {
		top := stack[len(stack)-1]
		if top.m != nil {
			top.m[string(rune('a'+len(top.m)%26))+strings.Repeat("k", len(top.m)/26)] = v
		} else {
			top.list = append(top.list, v)
		}
	}
	for i, b := range data {
		switch b % 8 {
		case 0:
			add(float64(b) / 7)
		case 1:
			add(string(data[i:min(i+3, len(data))]))
		case 2:
			add(nil)
		case 3: // a map
			m := map[string]any{}
			add(m)
			stack = append(stack, &frame{m: m})
		case 4: // a list, added to its parent when closed
			stack = append(stack, &frame{})
		case 5: // close
			if len(stack) > 1 {
				top := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if top.m == nil {
					add(top.list)
				}
			}
		case 6: // refer to a map on the stack: a cycle
			for j := len(stack) - 1; j >= 0; j-- {
				if stack[j].m != nil {
					add(stack[j].m)
					cycle = true
					break
				}
			}
		default:
			add(int(b) - 128)
		}
	}
	for len(stack) > 1 {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if top.m == nil {
			add(top.list)
		}
	}
	return root.list, cycle
}

// FuzzParamString: any nested value, cycles included, formats without
// panicking or overflowing the stack, the same way twice, as a Python list
// literal; values that hold themselves show Python's {...}, and LogParam's
// check refuses exactly those.
func FuzzParamString(f *testing.F) {
	f.Add([]byte{3, 6, 5})
	f.Add([]byte{4, 4, 1, 'x', 'y', 5, 0, 5})
	f.Add([]byte{3, 3, 3, 6, 6, 5, 5, 2, 7})
	f.Add([]byte("hello \x00 world"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, cycle := fuzzValue(data)
		s := mlrun.ParamString(v)
		if s != mlrun.ParamString(v) {
			t.Fatal("not deterministic")
		}
		if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
			t.Fatalf("not a list: %s", s)
		}
		if strings.Contains(s, "{...}") != cycle {
			t.Fatalf("cycle %v but output %s", cycle, s)
		}
		if mlrun.ParamStringErr(v) == nil == cycle {
			t.Fatalf("cycle %v, err %v", cycle, mlrun.ParamStringErr(v))
		}
	})
}
