// Package pyyaml writes YAML byte-for-byte identical to PyYAML's
//
//	yaml.safe_dump(data, default_flow_style=False, allow_unicode=True, sort_keys=True)
//
// the serialization MLflow's write_yaml uses for meta.yaml files and similar
// documents of the mlruns file store (see below for its libyaml variant).
//
// The emitter is a port of PyYAML 6's pure-Python emitter (yaml.SafeDumper),
// including its scalar style choice (plain, single-quoted or double-quoted),
// its YAML 1.1 implicit resolvers, which decide whether a string such as "yes",
// "0x1F" or "2024-01-01" has to be quoted, and its folding of long scalars at
// 80 columns. Decoding the output with PyYAML's safe_load, or with
// gopkg.in/yaml.v3 into string fields, gives back the original values, with
// one exception inherited from PyYAML: U+0085 (NEL) is written unescaped
// inside single quotes, and readers turn it into a line break.
//
// PyYAML's C-accelerated yaml.CSafeDumper (libyaml), which MLflow's
// write_yaml actually prefers when PyYAML was built with libyaml, writes the
// same bytes for typical MLflow documents (ASCII keys and single-line
// values, including long JSON strings), but differs for some inputs:
// characters outside the Basic Multilingual Plane (which libyaml escapes in
// double quotes), U+0085 (which libyaml escapes), the length limit of
// implicit keys (PyYAML switches to "? key" at 123 characters, libyaml above
// 128 bytes), empty keys, keys containing "\r", the folding of long
// double-quoted strings, and the "..." end marker after a plain root scalar.
// This package reproduces the pure-Python emitter.
package pyyaml

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mlrun-go/mlrun/internal/pyfloat"
)

// Marshal returns the YAML document that PyYAML's
// safe_dump(v, default_flow_style=False, allow_unicode=True, sort_keys=True)
// produces for the Python equivalent of v.
//
// Supported values, and the Python values they stand for, are:
//
//   - nil, and nil pointers and interfaces: None, written "null";
//   - bool: bool, written "true" or "false";
//   - signed and unsigned integers of all sizes: int;
//   - float64 and float32: float, written as PyYAML does (".nan", ".inf",
//     "-.inf", "1.0", "1.0e-05", "1.0e+16"); a float32 is converted to
//     float64 first;
//   - string: str; it must be valid UTF-8;
//   - maps whose key type has kind string: dict, with the keys sorted by
//     Unicode code point as Python sorts str; empty (or nil) maps are "{}";
//   - slices and arrays (except of bytes): list, written as block sequences
//     not indented under their mapping key; empty (or nil) ones are "[]";
//   - pointers and interfaces holding any of the above.
//
// Named types are supported through their underlying kind. Other types,
// including structs and []byte, yield an *UnsupportedTypeError; invalid UTF-8
// yields an *InvalidUTF8Error. Cyclic values yield an error (PyYAML would
// emit anchors and aliases, which this package does not support).
func Marshal(v any) ([]byte, error) {
	r := representer{seen: map[any]struct{}{}}
	n, err := r.represent(reflect.ValueOf(v))
	if err != nil {
		return nil, err
	}
	e := newEmitter()
	e.emitDocument(n)
	return e.buf, nil
}

// UnsupportedTypeError is returned by [Marshal] for values it cannot
// represent.
type UnsupportedTypeError struct {
	Type reflect.Type
}

func (e *UnsupportedTypeError) Error() string {
	return "pyyaml: unsupported type: " + e.Type.String()
}

// InvalidUTF8Error is returned by [Marshal] for strings that are not valid
// UTF-8 and therefore have no Python str equivalent.
type InvalidUTF8Error struct {
	S string // the whole string value or mapping key
}

func (e *InvalidUTF8Error) Error() string {
	return "pyyaml: invalid UTF-8 in string " + strconv.Quote(e.S)
}

type nodeKind uint8

const (
	scalarNode nodeKind = iota
	sequenceNode
	mappingNode
)

type node struct {
	kind nodeKind
	// tag is the suffix of the node's tag:yaml.org,2002: tag, such as "str".
	tag string

	// Scalars.
	value string
	// plainImplicit and quotedImplicit are the two halves of the scalar
	// event's "implicit" pair: whether the tag may be omitted when the
	// scalar is written plain, and when it is written quoted.
	plainImplicit  bool
	quotedImplicit bool

	items []*node // sequences
	pairs []pair  // mappings
}

type pair struct {
	key, value *node
}

// strNode returns the node of a Python str.
func strNode(s string) *node {
	return &node{kind: scalarNode, tag: "str", value: s, plainImplicit: resolvesToStr(s), quotedImplicit: true}
}

// typedNode returns the node of a non-str scalar (tag "null", "bool", "int"
// or "float") whose text resolves to that tag.
func typedNode(tag, s string) *node {
	return &node{kind: scalarNode, tag: tag, value: s, plainImplicit: true}
}

type representer struct {
	// seen holds the maps and slices on the current path, to detect cycles.
	seen map[any]struct{}
}

var byteType = reflect.TypeFor[byte]()

func (r *representer) represent(v reflect.Value) (*node, error) {
	if !v.IsValid() {
		return typedNode("null", "null"), nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return typedNode("null", "null"), nil
		}
		if v.Kind() == reflect.Pointer {
			key := v.Pointer()
			if _, ok := r.seen[key]; ok {
				return nil, fmt.Errorf("pyyaml: cyclic value of type %s", v.Type())
			}
			r.seen[key] = struct{}{}
			defer delete(r.seen, key)
		}
		return r.represent(v.Elem())
	case reflect.Bool:
		if v.Bool() {
			return typedNode("bool", "true"), nil
		}
		return typedNode("bool", "false"), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return typedNode("int", strconv.FormatInt(v.Int(), 10)), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return typedNode("int", strconv.FormatUint(v.Uint(), 10)), nil
	case reflect.Float32, reflect.Float64:
		return typedNode("float", FormatFloat(v.Float())), nil
	case reflect.String:
		s := v.String()
		if !utf8.ValidString(s) {
			return nil, &InvalidUTF8Error{S: s}
		}
		return strNode(s), nil
	case reflect.Map:
		return r.representMap(v)
	case reflect.Slice:
		if v.Type().Elem() == byteType {
			return nil, &UnsupportedTypeError{Type: v.Type()}
		}
		if v.Len() > 0 {
			// A slice is identified by its array and length, as in
			// encoding/json.
			key := struct {
				ptr uintptr
				len int
			}{v.Pointer(), v.Len()}
			if _, ok := r.seen[key]; ok {
				return nil, fmt.Errorf("pyyaml: cyclic value of type %s", v.Type())
			}
			r.seen[key] = struct{}{}
			defer delete(r.seen, key)
		}
		return r.representSeq(v)
	case reflect.Array:
		if v.Type().Elem() == byteType {
			return nil, &UnsupportedTypeError{Type: v.Type()}
		}
		return r.representSeq(v)
	}
	return nil, &UnsupportedTypeError{Type: v.Type()}
}

func (r *representer) representSeq(v reflect.Value) (*node, error) {
	n := &node{kind: sequenceNode, tag: "seq", items: make([]*node, v.Len())}
	for i := range v.Len() {
		item, err := r.represent(v.Index(i))
		if err != nil {
			return nil, err
		}
		n.items[i] = item
	}
	return n, nil
}

func (r *representer) representMap(v reflect.Value) (*node, error) {
	if v.Type().Key().Kind() != reflect.String {
		return nil, &UnsupportedTypeError{Type: v.Type()}
	}
	if v.Len() > 0 {
		key := v.UnsafePointer()
		if _, ok := r.seen[key]; ok {
			return nil, fmt.Errorf("pyyaml: cyclic value of type %s", v.Type())
		}
		r.seen[key] = struct{}{}
		defer delete(r.seen, key)
	}
	keys := v.MapKeys()
	// Go compares strings bytewise, which for valid UTF-8 is the code point
	// order Python uses for str.
	slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
	n := &node{kind: mappingNode, tag: "map", pairs: make([]pair, len(keys))}
	for i, k := range keys {
		kn, err := r.represent(k)
		if err != nil {
			return nil, err
		}
		vn, err := r.represent(v.MapIndex(k))
		if err != nil {
			return nil, err
		}
		n.pairs[i] = pair{kn, vn}
	}
	return n, nil
}

// FormatFloat returns the text of f as PyYAML's SafeRepresenter writes it:
// ".nan", ".inf" and "-.inf" for the special values, otherwise Python's
// repr(f) lower-cased, with ".0" inserted before the exponent when the
// mantissa has no fractional part ("1.0e-05" rather than "1e-05"), so that
// the result resolves as a YAML 1.1 float.
func FormatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return ".nan"
	case math.IsInf(f, 1):
		return ".inf"
	case math.IsInf(f, -1):
		return "-.inf"
	}
	s := strings.ToLower(pyfloat.Repr(f))
	if !strings.Contains(s, ".") && strings.Contains(s, "e") {
		s = strings.Replace(s, "e", ".0e", 1)
	}
	return s
}
