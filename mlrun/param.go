package mlrun

import (
	"cmp"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/mlrun-go/mlrun/internal/pyfloat"
	"github.com/mlrun-go/mlrun/internal/pystr"
	"github.com/mlrun-go/mlrun/store"
)

// ParamString formats a param value as MLflow's Python client does,
// str(value), for the Python value closest to v:
//
//   - nil, and nil pointers, funcs and channels: None
//   - bool: True or False
//   - integers: decimal; float64: Python's repr (0.1, 1.0, 1e-05, inf,
//     nan); float32: the repr of the Python float of the shortest decimal
//     that round-trips to it (float32(0.1) is 0.1, not
//     0.10000000149011612); complex numbers as Python's complex, (1+2j)
//   - string: as is at the top level, and Python's repr ('a', "it's")
//     inside containers
//   - []byte: Python bytes, b'\x00a'
//   - slices and arrays: lists, [1, 'a', None]; nil slices are []
//   - maps: dicts, {'a': 1, 2: [3]}, keys in sorted order (Python keeps
//     insertion order, which Go maps do not have); nil maps are {}
//   - structs: the dict of their exported fields, in field order, as
//     str(dataclasses.asdict(x))
//   - pointers and interfaces: the value they point to
//   - values with an Error or String method: its result, also inside
//     containers (time.Duration(1e9) is 1s)
//
// A container that holds itself is shown as Python shows it, [...] or
// {...}; nesting deeper than 1000 levels (where Python gives up with
// RecursionError) is cut to "...". [Run.LogParam] refuses both.
func ParamString(v any) string {
	s, _ := paramString(v)
	return s
}

// maxParamDepth is how deep ParamString descends into nested values:
// Python's default recursion limit.
const maxParamDepth = 1000

// paramString is ParamString, also returning an ErrInvalidParameter error
// when v contains itself or is nested deeper than maxParamDepth.
func paramString(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil // the common case, without reflection
	}
	p := &pyFormatter{seen: map[visit]bool{}}
	p.format(reflect.ValueOf(v), 0, true)
	return p.b.String(), p.err
}

// visit identifies a container on the path from the root, to detect a
// value that contains itself (as encoding/json does: pointer, and length
// for slices).
type visit struct {
	ptr uintptr
	n   int
	typ reflect.Type
}

type pyFormatter struct {
	b    strings.Builder
	seen map[visit]bool // the containers being formatted, root to here
	err  error          // the first reason the value cannot be a param
}

func (p *pyFormatter) fail(format string, args ...any) {
	if p.err == nil {
		p.err = store.Invalidf(format, args...)
	}
}

var (
	errorType    = reflect.TypeFor[error]()
	stringerType = reflect.TypeFor[fmt.Stringer]()
)

// format writes v; top is true for the value itself (a string is written
// raw), false inside a container (a string is written as its repr).
func (p *pyFormatter) format(v reflect.Value, depth int, top bool) {
	if !v.IsValid() {
		p.b.WriteString("None")
		return
	}
	if depth > maxParamDepth {
		p.fail("the param value is nested deeper than %d levels", maxParamDepth)
		p.b.WriteString("...")
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
		if v.IsNil() {
			switch v.Kind() {
			case reflect.Map:
				p.b.WriteString("{}")
			case reflect.Slice:
				p.b.WriteString("[]")
			default:
				p.b.WriteString("None")
			}
			return
		}
	}
	if v.Type().Implements(errorType) || v.Type().Implements(stringerType) {
		if s, ok := callString(v); ok {
			p.b.WriteString(s)
			return
		}
	}
	switch v.Kind() {
	case reflect.Interface:
		p.format(v.Elem(), depth, top)
	case reflect.Pointer:
		if p.enter(v, 0) {
			p.b.WriteString("{...}") // only structs can reach themselves through a pointer
			return
		}
		p.format(v.Elem(), depth+1, top)
		p.leave(v, 0)
	case reflect.String:
		if top {
			p.b.WriteString(v.String())
		} else {
			p.b.WriteString(pystr.Repr(v.String()))
		}
	case reflect.Bool:
		if v.Bool() {
			p.b.WriteString("True")
		} else {
			p.b.WriteString("False")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		p.b.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		p.b.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32:
		p.b.WriteString(pyfloat.Repr(float32Value(v.Float())))
	case reflect.Float64:
		p.b.WriteString(pyfloat.Repr(v.Float()))
	case reflect.Complex64:
		c := v.Complex()
		p.b.WriteString(pyComplex(float32Value(real(c)), float32Value(imag(c))))
	case reflect.Complex128:
		c := v.Complex()
		p.b.WriteString(pyComplex(real(c), imag(c)))
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			p.b.WriteString(pystr.BytesRepr(v.Bytes()))
			return
		}
		if p.enter(v, v.Len()) {
			p.b.WriteString("[...]")
			return
		}
		p.list(v, depth)
		p.leave(v, v.Len())
	case reflect.Array:
		p.list(v, depth)
	case reflect.Map:
		if p.enter(v, 0) {
			p.b.WriteString("{...}")
			return
		}
		p.dict(v, depth)
		p.leave(v, 0)
	case reflect.Struct:
		p.structDict(v, depth)
	default: // funcs, channels, unsafe pointers: no Python equivalent
		fmt.Fprintf(&p.b, "<%s at %#x>", v.Type(), v.Pointer())
	}
}

// enter marks the container v as being formatted and reports whether it
// already was (v contains itself).
func (p *pyFormatter) enter(v reflect.Value, n int) bool {
	k := visit{v.Pointer(), n, v.Type()}
	if p.seen[k] {
		p.fail("the param value contains itself (a %s that refers back to itself)", v.Type())
		return true
	}
	p.seen[k] = true
	return false
}

func (p *pyFormatter) leave(v reflect.Value, n int) { delete(p.seen, visit{v.Pointer(), n, v.Type()}) }

func (p *pyFormatter) list(v reflect.Value, depth int) {
	p.b.WriteByte('[')
	for i := range v.Len() {
		if i > 0 {
			p.b.WriteString(", ")
		}
		p.format(v.Index(i), depth+1, false)
	}
	p.b.WriteByte(']')
}

func (p *pyFormatter) dict(v reflect.Value, depth int) {
	keys := v.MapKeys()
	slices.SortFunc(keys, compareKeys)
	p.b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			p.b.WriteString(", ")
		}
		p.format(k, depth+1, false)
		p.b.WriteString(": ")
		p.format(v.MapIndex(k), depth+1, false)
	}
	p.b.WriteByte('}')
}

func (p *pyFormatter) structDict(v reflect.Value, depth int) {
	p.b.WriteByte('{')
	n := 0
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		if n > 0 {
			p.b.WriteString(", ")
		}
		n++
		p.b.WriteString(pystr.Repr(f.Name))
		p.b.WriteString(": ")
		p.format(v.Field(i), depth+1, false)
	}
	p.b.WriteByte('}')
}

// callString returns v's Error or String result; a method that panics
// (say, on a nil receiver inside a struct) is not used.
func callString(v reflect.Value) (s string, ok bool) {
	if !v.CanInterface() {
		return "", false
	}
	defer func() {
		if recover() != nil {
			s, ok = "", false
		}
	}()
	switch x := v.Interface().(type) {
	case error:
		return x.Error(), true
	case fmt.Stringer:
		return x.String(), true
	}
	return "", false
}

// compareKeys orders map keys: numbers by value, strings and bools
// naturally, anything else by its formatted form; keys of different kinds
// by kind.
func compareKeys(a, b reflect.Value) int {
	for a.Kind() == reflect.Interface && !a.IsNil() {
		a = a.Elem()
	}
	for b.Kind() == reflect.Interface && !b.IsNil() {
		b = b.Elem()
	}
	if a.Kind() != b.Kind() {
		return cmp.Compare(a.Kind(), b.Kind())
	}
	switch a.Kind() {
	case reflect.String:
		return cmp.Compare(a.String(), b.String())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return cmp.Compare(a.Int(), b.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return cmp.Compare(a.Uint(), b.Uint())
	case reflect.Float32, reflect.Float64:
		return cmp.Compare(a.Float(), b.Float())
	case reflect.Bool:
		return cmp.Compare(boolInt(a.Bool()), boolInt(b.Bool()))
	}
	return cmp.Compare(ParamString(a.Interface()), ParamString(b.Interface()))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// float32Value is the float64 of the shortest decimal that round-trips
// to the float32 f.
func float32Value(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return f
	}
	x, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', -1, 32), 64)
	return x
}

// pyComplex is Python's str of complex(re, im).
func pyComplex(re, im float64) string {
	part := func(f float64) string { return strings.TrimSuffix(pyfloat.Repr(f), ".0") }
	sign := "+"
	if im < 0 || (im == 0 && math.Signbit(im)) {
		sign = "-"
	}
	if re == 0 && !math.Signbit(re) {
		return part(im) + "j"
	}
	return "(" + part(re) + sign + part(math.Abs(im)) + "j)"
}
