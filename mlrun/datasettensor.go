package mlrun

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mlrun-go/mlrun/store"
)

// Tensor is an n-dimensional array, the Go counterpart of a NumPy ndarray
// for [DatasetFromTensors]. Data holds its elements flat in row-major (C)
// order, len(Data) being the product of Shape; its element type is the
// array's dtype:
//
//	[]float64 float64   []float32 float32   []int, []int64 int64
//	[]int32, []int16, []int8, []uint, []uint64, []uint32, []uint16, []uint8 the same width
//	[]bool bool   []string str (a NumPy unicode array)
type Tensor struct {
	Name  string // the key in a dict of arrays; "" for a single array
	Shape []int
	Data  any
}

// paddedStrings is a unicode array read from a .npy file, whose items
// are width bytes wide whatever its strings' lengths.
type paddedStrings struct {
	strs  []string
	width int
}

// swappedBytes is a numeric array read from a big-endian .npy file.
// pandas hashes numbers through a native-order unsigned view of their
// bytes, so such an array hashes as its byte-swapped values.
type swappedBytes struct{ data any }

func swappedHashes(data any) func(int) []uint64 {
	switch x := data.(type) {
	case []float64:
		return tensorHashes(x, func(f float64) uint64 { return pandasMix(bits.ReverseBytes64(float64Bits(f))) })
	case []float32:
		return tensorHashes(x, func(f float32) uint64 { return pandasMix(uint64(bits.ReverseBytes32(float32Bits(f)))) })
	case []int64:
		return tensorHashes(x, func(v int64) uint64 { return pandasMix(bits.ReverseBytes64(uint64(v))) })
	case []uint64:
		return tensorHashes(x, func(v uint64) uint64 { return pandasMix(bits.ReverseBytes64(v)) })
	case []int32:
		return tensorHashes(x, func(v int32) uint64 { return pandasMix(uint64(bits.ReverseBytes32(uint32(v)))) })
	case []uint32:
		return tensorHashes(x, func(v uint32) uint64 { return pandasMix(uint64(bits.ReverseBytes32(v))) })
	case []int16:
		return tensorHashes(x, func(v int16) uint64 { return pandasMix(uint64(bits.ReverseBytes16(uint16(v)))) })
	case []uint16:
		return tensorHashes(x, func(v uint16) uint64 { return pandasMix(uint64(bits.ReverseBytes16(v))) })
	}
	panic(fmt.Sprintf("mlrun: swappedHashes of %T", data))
}

// tensorInfo is what a Tensor is to NumPy.
type tensorInfo struct {
	dtype    string // NumPy dtype name; "str" for unicode arrays
	itemsize int
	size     int
	hashes   func(n int) []uint64 // hash_array of the first n elements
}

func tensorHashes[T any](vs []T, h func(T) uint64) func(int) []uint64 {
	return func(n int) []uint64 {
		out := make([]uint64, n)
		for i, v := range vs[:n] {
			out[i] = h(v)
		}
		return out
	}
}

func intHashes[T int | int8 | int16 | int32 | int64 | uint | uint8 | uint16 | uint32 | uint64](vs []T, itemsize int) func(int) []uint64 {
	return tensorHashes(vs, func(v T) uint64 { return hashInt(int64(v), itemsize) })
}

func (t Tensor) info() (tensorInfo, error) {
	var ti tensorInfo
	switch vs := t.Data.(type) {
	case []float64:
		ti = tensorInfo{"float64", 8, len(vs), tensorHashes(vs, hashFloat64)}
	case []float32:
		ti = tensorInfo{"float32", 4, len(vs), tensorHashes(vs, hashFloat32)}
	case []int:
		ti = tensorInfo{"int64", 8, len(vs), intHashes(vs, 8)}
	case []int64:
		ti = tensorInfo{"int64", 8, len(vs), intHashes(vs, 8)}
	case []int32:
		ti = tensorInfo{"int32", 4, len(vs), intHashes(vs, 4)}
	case []int16:
		ti = tensorInfo{"int16", 2, len(vs), intHashes(vs, 2)}
	case []int8:
		ti = tensorInfo{"int8", 1, len(vs), intHashes(vs, 1)}
	case []uint:
		ti = tensorInfo{"uint64", 8, len(vs), intHashes(vs, 8)}
	case []uint64:
		ti = tensorInfo{"uint64", 8, len(vs), intHashes(vs, 8)}
	case []uint32:
		ti = tensorInfo{"uint32", 4, len(vs), intHashes(vs, 4)}
	case []uint16:
		ti = tensorInfo{"uint16", 2, len(vs), intHashes(vs, 2)}
	case []uint8:
		ti = tensorInfo{"uint8", 1, len(vs), intHashes(vs, 1)}
	case []bool:
		ti = tensorInfo{"bool", 1, len(vs), tensorHashes(vs, func(b bool) uint64 {
			if b {
				return pandasMix(1)
			}
			return pandasMix(0)
		})}
	case []string:
		// A NumPy unicode array stores UTF-32 code points, as many as its
		// longest string has (at least one).
		width := 1
		for _, s := range vs {
			if strings.ContainsRune(s, 0) {
				return ti, store.Invalidf("tensor %q: NumPy unicode arrays cannot hold NUL characters", t.Name)
			}
			width = max(width, utf8.RuneCountInString(s))
		}
		ti = tensorInfo{"str", 4 * width, len(vs), tensorHashes(vs, hashString)}
	case swappedBytes:
		inner, err := Tensor{Name: t.Name, Shape: t.Shape, Data: vs.data}.info()
		if err != nil {
			return ti, err
		}
		ti = inner
		ti.hashes = swappedHashes(vs.data)
	case paddedStrings:
		ti = tensorInfo{"str", vs.width, len(vs.strs), tensorHashes(vs.strs, hashString)}
	default:
		return ti, store.Invalidf("tensor %q: data of type %T is not supported", t.Name, t.Data)
	}
	if len(t.Shape) == 0 {
		return ti, store.Invalidf("tensor %q needs a shape of at least one dimension", t.Name)
	}
	size := 1
	for _, d := range t.Shape {
		if d < 0 {
			return ti, store.Invalidf("tensor %q: shape %v has a negative dimension", t.Name, t.Shape)
		}
		size *= d
	}
	if size != ti.size {
		return ti, store.Invalidf("tensor %q: shape %v holds %d elements, data has %d", t.Name, t.Shape, size, ti.size)
	}
	return ti, nil
}

// tensorSet is a from_numpy argument: one array, or a dict of named
// arrays (kept in the order given, as a Python dict keeps insertion order).
type tensorSet struct {
	ts    []Tensor
	infos []tensorInfo
	dict  bool
}

func newTensorSet(what string, ts []Tensor) (*tensorSet, error) {
	if len(ts) == 0 {
		return nil, store.Invalidf("dataset %s: no tensors", what)
	}
	s := &tensorSet{ts: ts, dict: len(ts) > 1 || ts[0].Name != ""}
	seen := map[string]bool{}
	for _, t := range ts {
		if s.dict && t.Name == "" {
			return nil, store.Invalidf("dataset %s: several tensors need a name each", what)
		}
		if seen[t.Name] {
			return nil, store.Invalidf("dataset %s: tensor name %q appears twice", what, t.Name)
		}
		seen[t.Name] = true
		ti, err := t.info()
		if err != nil {
			return nil, err
		}
		s.infos = append(s.infos, ti)
	}
	return s, nil
}

// digestInto is compute_numpy_digest's part for one argument: per array
// (a dict's in key order), hash_array of its first 10,000 elements and its
// dimensions.
func (s *tensorSet) digestInto(d *md5Digest) {
	order := make([]int, len(s.ts))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(s.ts[a].Name, s.ts[b].Name) })
	for _, i := range order {
		d.uint64s(s.infos[i].hashes(min(s.infos[i].size, digestMaxRows)))
		for _, dim := range s.ts[i].Shape {
			d.int64(int64(dim))
		}
	}
}

// schemaJSON is Schema.to_json() of _infer_schema: one TensorSpec per
// array, its first dimension variable.
func (s *tensorSet) schemaJSON() string {
	specs := make([]string, len(s.ts))
	for i, t := range s.ts {
		shape := slices.Clone(t.Shape)
		shape[0] = -1
		spec := pyKV("type", pyStr("tensor")) + ", " + pyKV("tensor-spec",
			"{"+pyKV("dtype", pyStr(s.infos[i].dtype))+", "+pyKV("shape", pyInts(shape))+"}")
		if s.dict {
			spec = pyKV("name", pyStr(t.Name)) + ", " + spec
		}
		specs[i] = "{" + spec + "}"
	}
	return pyList(specs)
}

// profileKV is NumpyDataset.profile's entries for one argument (prefix
// "features" or "targets").
func (s *tensorSet) profileKV(prefix string) []string {
	attr := func(f func(i int) string) string {
		if !s.dict {
			return f(0)
		}
		kv := make([]string, len(s.ts))
		for i, t := range s.ts {
			kv[i] = pyKV(t.Name, f(i))
		}
		return "{" + strings.Join(kv, ", ") + "}"
	}
	return []string{
		pyKV(prefix+"_shape", attr(func(i int) string { return pyInts(s.ts[i].Shape) })),
		pyKV(prefix+"_size", attr(func(i int) string { return pyInt(int64(s.infos[i].size)) })),
		pyKV(prefix+"_nbytes", attr(func(i int) string { return pyInt(int64(s.infos[i].size) * int64(s.infos[i].itemsize)) })),
	}
}

// DatasetFromTensors builds a dataset from arrays, as mlflow.data.from_numpy
// does: one unnamed [Tensor] is an ndarray, named tensors a dict of
// ndarrays; [WithTargetTensors] adds the targets. The digest is MLflow's
// compute_numpy_digest (MD5 over pandas' hash_array of each array's first
// 10,000 elements and its dimensions), the schema MLflow's
// {"mlflow_tensorspec": ...}, the profile the shapes, sizes and byte
// counts. The source defaults to the code source (see [WithDatasetSource]).
func DatasetFromTensors(features []Tensor, opts ...DatasetOption) (store.Dataset, error) {
	c, err := newDatasetConfig(opts)
	if err != nil {
		return store.Dataset{}, err
	}
	return tensorDataset(c, features, "")
}

func tensorDataset(c *datasetConfig, features []Tensor, path string) (store.Dataset, error) {
	if err := c.checkNotTable(); err != nil {
		return store.Dataset{}, err
	}
	fs, err := newTensorSet("features", features)
	if err != nil {
		return store.Dataset{}, err
	}
	var ts *tensorSet
	if len(c.targetTs) > 0 {
		if ts, err = newTensorSet("targets", c.targetTs); err != nil {
			return store.Dataset{}, err
		}
	}
	if err := c.sourceOr(path); err != nil {
		return store.Dataset{}, err
	}
	d := newMD5Digest()
	fs.digestInto(d)
	targets := "null"
	profile := fs.profileKV("features")
	if ts != nil {
		ts.digestInto(d)
		targets = pyStr(ts.schemaJSON())
		profile = append(profile, ts.profileKV("targets")...)
	}
	schema := "{" + pyKV("mlflow_tensorspec", "{"+pyKV("features", pyStr(fs.schemaJSON()))+", "+
		pyKV("targets", targets)+"}") + "}"
	return c.dataset(d.sum(), schema, "{"+strings.Join(profile, ", ")+"}")
}
