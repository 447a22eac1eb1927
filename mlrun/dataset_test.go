package mlrun_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/internal/compat"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// datasetPy builds, for each case read as JSON from stdin, the dataset
// MLflow builds from the same data (from_pandas, from_numpy, MetaDataset)
// and prints the entity's fields.
const datasetPy = `
import sys, json, base64, datetime, warnings, logging
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
import numpy as np, pandas as pd, mlflow
from mlflow.data.meta_dataset import MetaDataset
from mlflow.data.dataset_source_registry import resolve_dataset_source

def val(v):
    t = v[0]
    if t == "n": return None
    if t == "i": return int(v[1])
    if t == "f": return float(v[1])
    if t in ("s", "b"): return v[1]
    if t == "t": return datetime.datetime.fromisoformat(v[1])
    if t == "y": return base64.b64decode(v[1])
    raise ValueError(t)

def typed(dtype, vals):
    vals = [val(v) for v in vals]
    if dtype == "any": return vals
    if dtype == "datetime": return pd.to_datetime(pd.Series(vals, dtype=object))
    if dtype == "str": return np.array(vals, dtype=str) if vals else np.array([], dtype="<U1")
    return np.array(vals, dtype=dtype)

def arr(t):
    return typed(t["dtype"], t.get("data", [])).reshape(t["shape"])

def tensors(ts):
    if len(ts) == 1 and not ts[0].get("name"): return arr(ts[0])
    return {t["name"]: arr(t) for t in ts}

def build(c):
    kw = {}
    if c.get("name"): kw["name"] = c["name"]
    if c.get("source"): kw["source"] = c["source"]
    k = c["kind"]
    if k == "rows":
        df = pd.DataFrame([[val(v) for v in r] for r in c.get("rows", [])], columns=c.get("columns", []))
        return mlflow.data.from_pandas(df, **kw)
    if k == "columns":
        df = pd.DataFrame({col["name"]: typed(col["dtype"], col.get("values", [])) for col in c["typed"]})
        return mlflow.data.from_pandas(df, **kw)
    if k == "tensors":
        targets = tensors(c["targets"]) if c.get("targets") else None
        return mlflow.data.from_numpy(tensors(c["features"]), targets=targets, **kw)
    if k == "csv":
        return mlflow.data.from_pandas(pd.read_csv(c["path"], sep=c.get("sep", ",")), source=c["path"], **kw)
    if k == "npy":
        a = arr(c["features"][0])
        if c.get("byteorder"): a = a.astype(a.dtype.newbyteorder(c["byteorder"]))
        if c.get("fortran"): a = np.asfortranarray(a)
        np.save(c["path"], a)
        return mlflow.data.from_numpy(np.load(c["path"]), source=c["path"], **kw)
    if k == "meta":
        return MetaDataset(resolve_dataset_source(c["source"]), **({"name": c["name"]} if c.get("name") else {}))
    raise ValueError(k)

out = {}
for c in json.load(sys.stdin):
    try:
        e = build(c)._to_mlflow_entity()
        out[c["id"]] = {"name": e.name, "digest": e.digest, "source_type": e.source_type,
                        "source": e.source, "schema": e.schema or "", "profile": e.profile or ""}
    except Exception as ex:
        out[c["id"]] = {"error": repr(ex)}
print(json.dumps(out))
`

// pyVal is a value tagged with its Python type, for datasetPy.
type pyVal []any

func tag(v any) pyVal {
	switch x := v.(type) {
	case nil:
		return pyVal{"n"}
	case int64:
		return pyVal{"i", strconv.FormatInt(x, 10)}
	case float64:
		return pyVal{"f", strconv.FormatFloat(x, 'g', -1, 64)}
	case float32:
		return pyVal{"f", strconv.FormatFloat(float64(x), 'g', -1, 32)}
	case string:
		return pyVal{"s", x}
	case bool:
		return pyVal{"b", x}
	case time.Time:
		return pyVal{"t", x.Format("2006-01-02T15:04:05.000000")}
	case []byte:
		return pyVal{"y", base64.StdEncoding.EncodeToString(x)}
	}
	// Go integer and unsigned types of the typed columns.
	return pyVal{"i", fmt.Sprint(v)}
}

func tags[T any](vs []T) []pyVal {
	out := make([]pyVal, len(vs))
	for i, v := range vs {
		out[i] = tag(v)
	}
	return out
}

type pyTyped struct {
	Name   string  `json:"name"`
	DType  string  `json:"dtype"`
	Values []pyVal `json:"values"`
}

type pyTensor struct {
	Name  string  `json:"name,omitempty"`
	DType string  `json:"dtype"`
	Shape []int   `json:"shape"`
	Data  []pyVal `json:"data"`
}

// dsCase is one dataset built by Go (build) and by MLflow (the rest,
// read by datasetPy).
type dsCase struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"`
	Name      string     `json:"name,omitempty"`
	Source    string     `json:"source,omitempty"`
	Columns   []string   `json:"columns,omitempty"`
	Rows      [][]pyVal  `json:"rows,omitempty"`
	Typed     []pyTyped  `json:"typed,omitempty"`
	Features  []pyTensor `json:"features,omitempty"`
	Targets   []pyTensor `json:"targets,omitempty"`
	Path      string     `json:"path,omitempty"`
	Sep       string     `json:"sep,omitempty"`
	ByteOrder string     `json:"byteorder,omitempty"`
	Fortran   bool       `json:"fortran,omitempty"`

	build func() (store.Dataset, error)
	// pandas2 is the digest pandas 2 computes where it differs (it hashes
	// -0.0 by its bits).
	pandas2Differs bool
}

// dsGen generates random data of every kind the constructors take.
type dsGen struct{ r *rand.Rand }

func (g dsGen) int() int64 {
	switch g.r.IntN(6) {
	case 0:
		return math.MaxInt64
	case 1:
		return math.MinInt64
	case 2:
		return int64(g.r.Uint64())
	}
	return g.r.Int64N(2001) - 1000
}

func (g dsGen) float() float64 {
	switch g.r.IntN(12) {
	case 0:
		return math.Copysign(0, -1)
	case 1:
		return math.Inf(1)
	case 2:
		return math.Inf(-1)
	case 3:
		return 5e-324
	case 4:
		return 0
	case 5:
		for {
			if f := math.Float64frombits(g.r.Uint64()); !math.IsNaN(f) && !math.IsInf(f, 0) {
				return f
			}
		}
	case 6:
		return math.Round(g.r.NormFloat64()*1000) / 100
	}
	return g.r.NormFloat64() * math.Pow(10, float64(g.r.IntN(20)-10))
}

var dsRunes = []rune("abcxyzAZ09 ,;\"'\\\n\t\r.-_éß✓中😀\u2028")

func (g dsGen) str() string {
	n := g.r.IntN(7)
	var b strings.Builder
	for range n {
		b.WriteRune(dsRunes[g.r.IntN(len(dsRunes))])
	}
	return b.String()
}

func (g dsGen) time() time.Time {
	return time.UnixMicro(g.r.Int64N(4_000_000_000_000_000)).UTC()
}

func (g dsGen) bytes() []byte {
	b := make([]byte, g.r.IntN(5))
	for i := range b {
		b[i] = byte(g.r.IntN(256))
	}
	return b
}

// names returns n distinct column names in random order.
func (g dsGen) names(n int) []string {
	pool := []string{"a", "b", "Z", "z", "é", "a b", "10", "2", "x.1", "✓", "A", "_", "日本", "col", "😀"}
	g.r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	return pool[:n]
}

// anyColumn returns n Python values of one of the kinds pandas infers.
func (g dsGen) anyColumn(n int) []any {
	kind := g.r.IntN(15)
	vs := make([]any, n)
	for i := range vs {
		maybeNil := func(v any) any {
			if g.r.IntN(3) == 0 {
				return nil
			}
			return v
		}
		switch kind {
		case 0:
			vs[i] = g.int()
		case 1:
			vs[i] = g.float()
		case 2:
			if g.r.IntN(2) == 0 {
				vs[i] = g.int()
			} else {
				vs[i] = g.float()
			}
		case 3:
			vs[i] = maybeNil(g.int())
		case 4:
			vs[i] = g.str()
		case 5:
			vs[i] = maybeNil(g.str())
		case 6:
			vs[i] = g.r.IntN(2) == 0
		case 7:
			vs[i] = maybeNil(g.r.IntN(2) == 0)
		case 8:
			vs[i] = nil
		case 9:
			vs[i] = []any{nil, math.NaN()}[g.r.IntN(2)]
		case 10:
			vs[i] = g.time()
		case 11:
			vs[i] = maybeNil(g.time())
		case 12:
			vs[i] = g.bytes()
		case 13:
			vs[i] = []any{g.int(), g.str(), g.r.IntN(2) == 0}[g.r.IntN(3)]
		case 14:
			vs[i] = []any{g.float(), math.NaN(), g.str()}[g.r.IntN(3)]
		}
	}
	return vs
}

func sample[T any](n int, f func() T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = f()
	}
	return out
}

// typedColumn returns a typed column of n values, its Python dtype and
// whether it holds -0.0.
func (g dsGen) typedColumn(name string, n int) (mlrun.Column, string) {
	switch g.r.IntN(14) {
	case 0:
		return mlrun.Column{Name: name, Values: sample(n, g.float)}, "float64"
	case 1:
		return mlrun.Column{Name: name, Values: sample(n, func() float32 { return float32(g.float()) })}, "float32"
	case 2:
		return mlrun.Column{Name: name, Values: sample(n, g.int)}, "int64"
	case 3:
		return mlrun.Column{Name: name, Values: sample(n, func() int32 { return int32(g.int()) })}, "int32"
	case 4:
		return mlrun.Column{Name: name, Values: sample(n, func() int16 { return int16(g.int()) })}, "int16"
	case 5:
		return mlrun.Column{Name: name, Values: sample(n, func() int8 { return int8(g.int()) })}, "int8"
	case 6:
		return mlrun.Column{Name: name, Values: sample(n, func() uint32 { return uint32(g.int()) })}, "uint32"
	case 7:
		return mlrun.Column{Name: name, Values: sample(n, func() uint16 { return uint16(g.int()) })}, "uint16"
	case 8:
		return mlrun.Column{Name: name, Values: sample(n, func() uint8 { return uint8(g.int()) })}, "uint8"
	case 9:
		return mlrun.Column{Name: name, Values: sample(n, func() uint64 { return uint64(g.int()) })}, "uint64"
	case 10:
		return mlrun.Column{Name: name, Values: sample(n, func() bool { return g.r.IntN(2) == 0 })}, "bool"
	case 11:
		return mlrun.Column{Name: name, Values: sample(n, g.str)}, "str"
	case 12:
		return mlrun.Column{Name: name, Values: sample(n, g.time)}, "datetime"
	}
	return mlrun.Column{Name: name, Values: g.anyColumn(n)}, "any"
}

func hasNegZero(vs any) bool {
	switch x := vs.(type) {
	case []float64:
		for _, f := range x {
			if f == 0 && math.Signbit(f) {
				return true
			}
		}
	case []float32:
		for _, f := range x {
			if f == 0 && math.Signbit(float64(f)) {
				return true
			}
		}
	case []any:
		for _, v := range x {
			if f, ok := v.(float64); ok && f == 0 && math.Signbit(f) {
				return true
			}
		}
	}
	return false
}

func (g dsGen) tensor(name string) (mlrun.Tensor, pyTensor) {
	shape := make([]int, 1+g.r.IntN(3))
	n := 1
	for i := range shape {
		shape[i] = g.r.IntN(4)
		n *= shape[i]
	}
	var data any
	var dtype string
	switch g.r.IntN(12) {
	case 0:
		data, dtype = sample(n, g.float), "float64"
	case 1:
		data, dtype = sample(n, func() float32 { return float32(g.float()) }), "float32"
	case 2:
		data, dtype = sample(n, g.int), "int64"
	case 3:
		data, dtype = sample(n, func() int32 { return int32(g.int()) }), "int32"
	case 4:
		data, dtype = sample(n, func() int16 { return int16(g.int()) }), "int16"
	case 5:
		data, dtype = sample(n, func() int8 { return int8(g.int()) }), "int8"
	case 6:
		data, dtype = sample(n, func() uint64 { return uint64(g.int()) }), "uint64"
	case 7:
		data, dtype = sample(n, func() uint32 { return uint32(g.int()) }), "uint32"
	case 8:
		data, dtype = sample(n, func() uint8 { return uint8(g.int()) }), "uint8"
	case 9:
		data, dtype = sample(n, func() bool { return g.r.IntN(2) == 0 }), "bool"
	case 10:
		data, dtype = sample(n, func() string { return strings.ReplaceAll(g.str(), "\x00", "") }), "str"
	default:
		data, dtype = sample(n, func() uint16 { return uint16(g.int()) }), "uint16"
	}
	return mlrun.Tensor{Name: name, Shape: shape, Data: data}, pyTensor{Name: name, DType: dtype, Shape: shape, Data: tagsOf(data)}
}

func tagsOf(data any) []pyVal {
	switch x := data.(type) {
	case []float64:
		return tags(x)
	case []float32:
		return tags(x)
	case []int:
		return tags(x)
	case []int64:
		return tags(x)
	case []int32:
		return tags(x)
	case []int16:
		return tags(x)
	case []int8:
		return tags(x)
	case []uint:
		return tags(x)
	case []uint64:
		return tags(x)
	case []uint32:
		return tags(x)
	case []uint16:
		return tags(x)
	case []uint8:
		return tags(x)
	case []bool:
		return tags(x)
	case []string:
		return tags(x)
	case []time.Time:
		return tags(x)
	case []any:
		return tags(x)
	}
	panic(fmt.Sprintf("tagsOf %T", data))
}

var dsSources = []string{"/data/train.csv", "rel/train.csv", "file:///data/x.csv", "s3://bucket/key.parquet",
	"gs://b/k", "https://example.com/d.csv", "hdfs://nn/x", "abfss://c@a.dfs.core.windows.net/p", "file://localhost/x"}

// datasetCases returns the parity corpus: random tables (by rows and by
// typed columns), random tensors, CSV and .npy files, and sources.
func datasetCases(t *testing.T, dir string) []*dsCase {
	seed := uint64(20261202)
	if s := os.Getenv("MLRUN_DATASET_SEED"); s != "" { // to explore other corpora
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	g := dsGen{rand.New(rand.NewPCG(seed, 1))}
	t.Logf("dataset corpus seed %d", seed)
	var cases []*dsCase
	add := func(c *dsCase) { c.ID = strconv.Itoa(len(cases)); cases = append(cases, c) }
	opts := func(c *dsCase) []mlrun.DatasetOption {
		var o []mlrun.DatasetOption
		if c.Name != "" {
			o = append(o, mlrun.WithDatasetName(c.Name))
		}
		if c.Source != "" {
			o = append(o, mlrun.WithDatasetSource(c.Source))
		}
		return o
	}
	randomOpts := func(c *dsCase) {
		if g.r.IntN(2) == 0 {
			c.Name = "ds_" + strconv.Itoa(g.r.IntN(100))
		}
		c.Source = dsSources[g.r.IntN(len(dsSources))]
	}

	// Tables given by rows.
	for i := range 160 {
		ncols, nrows := g.r.IntN(5), g.r.IntN(9)
		if i%40 == 39 {
			nrows = 10_000 + g.r.IntN(20) // past MLflow's MAX_ROWS
		}
		names := g.names(ncols)
		cols := make([][]any, ncols)
		for j := range cols {
			cols[j] = g.anyColumn(nrows)
		}
		rows := make([][]any, nrows)
		prows := make([][]pyVal, nrows)
		negZero := false
		for r := range rows {
			rows[r] = make([]any, ncols)
			for j := range cols {
				rows[r][j] = cols[j][r]
			}
			prows[r] = tags(rows[r])
			negZero = negZero || hasNegZero(rows[r])
		}
		c := &dsCase{Kind: "rows", Columns: names, Rows: prows, pandas2Differs: negZero}
		randomOpts(c)
		c.build = func() (store.Dataset, error) { return mlrun.DatasetFromRows(names, rows, opts(c)...) }
		add(c)
	}
	// Tables given by typed columns.
	for i := range 120 {
		ncols, nrows := 1+g.r.IntN(4), g.r.IntN(7)
		if i%40 == 39 {
			nrows = 10_000 + g.r.IntN(20)
		}
		var cols []mlrun.Column
		c := &dsCase{Kind: "columns"}
		for _, name := range g.names(ncols) {
			col, dtype := g.typedColumn(name, nrows)
			cols = append(cols, col)
			c.Typed = append(c.Typed, pyTyped{Name: name, DType: dtype, Values: tagsOf(col.Values)})
			c.pandas2Differs = c.pandas2Differs || hasNegZero(col.Values)
		}
		randomOpts(c)
		c.build = func() (store.Dataset, error) { return mlrun.DatasetFromColumns(cols, opts(c)...) }
		add(c)
	}
	// Tensors: one array or a dict, with or without targets.
	for i := range 80 {
		var fs, ts []mlrun.Tensor
		c := &dsCase{Kind: "tensors"}
		nf := 1 + g.r.IntN(3)
		for j, name := range g.names(nf) {
			if nf == 1 && j == 0 && g.r.IntN(2) == 0 {
				name = ""
			}
			gt, pt := g.tensor(name)
			fs, c.Features = append(fs, gt), append(c.Features, pt)
		}
		if i%2 == 0 {
			gt, pt := g.tensor("")
			ts, c.Targets = append(ts, gt), append(c.Targets, pt)
		}
		if i == 79 { // past MAX_ROWS elements
			data := sample(10_050, g.float)
			fs = []mlrun.Tensor{{Shape: []int{10_050}, Data: data}}
			c.Features = []pyTensor{{DType: "float64", Shape: []int{10_050}, Data: tags(data)}}
		}
		for _, f := range fs {
			c.pandas2Differs = c.pandas2Differs || hasNegZero(f.Data)
		}
		for _, f := range ts {
			c.pandas2Differs = c.pandas2Differs || hasNegZero(f.Data)
		}
		randomOpts(c)
		c.build = func() (store.Dataset, error) {
			o := opts(c)
			if len(ts) > 0 {
				o = append(o, mlrun.WithTargetTensors(ts...))
			}
			return mlrun.DatasetFromTensors(fs, o...)
		}
		add(c)
	}
	// .npy files written by NumPy (also big-endian and Fortran order).
	for i := range 24 {
		gt, pt := g.tensor("")
		c := &dsCase{Kind: "npy", Features: []pyTensor{pt}, Path: filepath.Join(dir, fmt.Sprintf("a%d.npy", i))}
		c.Fortran = i%3 == 1
		if i%4 == 2 && pt.DType != "bool" && pt.DType != "uint8" {
			c.ByteOrder = ">"
		}
		c.pandas2Differs = hasNegZero(gt.Data)
		if i%2 == 0 {
			c.Name = "arr"
		}
		c.build = func() (store.Dataset, error) { return mlrun.DatasetFromFile(c.Path, opts(c)...) }
		add(c)
	}
	// CSV files: fixed edge cases and random ones.
	csvs := []string{
		"a,b,c,d,e,f,g\n 1,1.5,x,True,,\"\",inf\n2 ,NA,\"y,z\",false,,q,-Infinity\n",
		"a,a,,b,a.1\n1,2,3,+4,5\n",
		"a,b\n1,2\n3\n",
		"a,b\nTRUE,True\nFalse,\n",
		"a,b,c\n1e3,INF,1_0\n.5,nan,0x10\n5.,-inf, 3\n",
		"\ufeffname,score\nalice,0.1\nbob,0.30000000000000004\n",
		"x\n\n1\n\n2\n",
		"s,t\n\"multi\nline\",\"quote \"\"q\"\"\"\nN/A,#N/A\nnull,None\n",
		"a,b\n-0.0,-0\n0.0,0\n",
		"only\n",
		"a,b\n1.7976931348623157e308,4.9e-324\n2.2250738585072014e-308,123456789012345678\n",
	}
	for range 30 {
		var b strings.Builder
		names := g.names(1 + g.r.IntN(4))
		b.WriteString(strings.Join(csvQuoteAll(names), ","))
		b.WriteByte('\n')
		kinds := sample(len(names), func() int { return g.r.IntN(6) })
		for range 1 + g.r.IntN(8) {
			fields := make([]string, len(names))
			for j, k := range kinds {
				switch {
				case g.r.IntN(6) == 0:
					fields[j] = []string{"", "NA", "nan", "null", "N/A"}[g.r.IntN(5)]
				case k == 0:
					fields[j] = strconv.FormatInt(g.int()/1000, 10)
				case k == 1:
					fields[j] = strconv.FormatFloat(g.float(), 'g', -1, 64)
				case k == 2:
					fields[j] = strconv.FormatFloat(g.float(), []byte("efg")[g.r.IntN(3)], g.r.IntN(10), 64)
				case k == 3:
					fields[j] = []string{"True", "False", "true", "FALSE"}[g.r.IntN(4)]
				default:
					fields[j] = g.str()
				}
			}
			b.WriteString(strings.Join(csvQuoteAll(fields), ","))
			b.WriteByte('\n')
		}
		csvs = append(csvs, b.String())
	}
	for i, text := range csvs {
		name := fmt.Sprintf("t%d.csv", i)
		data := []byte(text)
		c := &dsCase{Kind: "csv"}
		switch i % 5 {
		case 3:
			name = fmt.Sprintf("t%d.tsv", i)
			data = []byte(strings.ReplaceAll(text, ",", "\t"))
			c.Sep = "\t"
		case 4:
			name += ".gz"
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(data)
			zw.Close()
			data = buf.Bytes()
		}
		c.Path = filepath.Join(dir, name)
		if err := os.WriteFile(c.Path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		c.pandas2Differs = strings.Contains(text, "-0.0")
		c.build = func() (store.Dataset, error) { return mlrun.DatasetFromCSV(c.Path, opts(c)...) }
		add(c)
	}
	// Sources alone (MetaDataset).
	for i, src := range append(dsSources, "relative/model.bin", "/abs/dir with space/✓", "file://host/x", "HTTPS://Example.com/x",
		"S3://b/k", "mlflow-artifacts:/x", "runs:/abc/m", "models:/m/1", "dbfs:/x", "C:/x", "x:y", "/tmp/a:b", "file:relative",
		"file://127.0.0.1:5000/x", "file://user@LOCALHOST/x", "file://%6cocalhost/x", "ftp://h/x", "sftp://h/x", "viewfs://h/x",
		"wasbs://c@a.blob.core.windows.net/p", "r2://b/k", "b2://b/k", "9p://x", "a+b.c-d://x") {
		c := &dsCase{Kind: "meta", Source: src}
		if i%2 == 1 {
			c.Name = "meta"
		}
		c.build = func() (store.Dataset, error) {
			if c.Name != "" {
				return mlrun.DatasetFromSource(src, mlrun.WithDatasetName(c.Name))
			}
			return mlrun.DatasetFromSource(src)
		}
		add(c)
	}
	return cases
}

func csvQuoteAll(fields []string) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		if strings.ContainsAny(f, ",\"\n\r\t") || f != strings.TrimSpace(f) && f != "" {
			f = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
		}
		out[i] = f
	}
	return out
}

// TestDatasetsMatchMLflow builds every dataset of the corpus in Go and in
// MLflow (from_pandas, from_numpy, MetaDataset with the venv's pandas and
// NumPy) and compares name, digest, source type, source, schema and
// profile. Under MLflow 2.22.5 (pandas 2) digests of data holding -0.0
// differ, as pandas 2 hashes -0.0 by its bits; those are the only
// differences allowed.
func TestDatasetsMatchMLflow(t *testing.T) {
	for _, v := range compat.Versions() {
		t.Run("mlflow-"+v, func(t *testing.T) {
			m := compat.Require(t, v)
			cases := datasetCases(t, t.TempDir())
			in, err := json.Marshal(cases)
			if err != nil {
				t.Fatal(err)
			}
			var py map[string]map[string]string
			if err := json.Unmarshal(runPy(t, m, datasetPy, in), &py); err != nil {
				t.Fatal(err)
			}
			pandas2 := strings.HasPrefix(v, "2.")
			var matched, digestsSkipped, mlflowFails, bothRefuse int
			for _, c := range cases {
				want := py[c.ID]
				got, err := c.build()
				if msg, ok := want["error"]; ok {
					// pandas 3 cannot compare the types of an empty str column
					// (df.map(type) == str), so MLflow 3.17.2 fails on empty
					// tables with one; pandas 2 and mlrun build them.
					if strings.Contains(msg, "eq not implemented for <class 'type'>") && err == nil && strings.Contains(got.Profile, `"num_rows": 0,`) {
						mlflowFails++
						continue
					}
					// mlrun resolves sources as MLflow 3.17.2; 2.22.5 has no b2.
					if pandas2 && err == nil && got.SourceType == "b2" && strings.Contains(msg, "Could not find a source information resolver") {
						mlflowFails++
						continue
					}
					if err == nil {
						t.Errorf("case %s (%s): MLflow fails (%s), Go built %+v", c.ID, c.Kind, msg, got)
					} else {
						bothRefuse++
					}
					continue
				}
				if err != nil {
					t.Errorf("case %s (%s): %v; MLflow built %v", c.ID, c.Kind, err, want)
					continue
				}
				fields := []struct{ name, got string }{
					{"name", got.Name}, {"digest", got.Digest}, {"source_type", got.SourceType},
					{"source", got.Source}, {"schema", got.Schema}, {"profile", got.Profile},
				}
				ok := true
				for _, f := range fields {
					// pandas 2's read_csv parses some floats an ulp off (its
					// default parser is not correctly rounded; pandas 3's is).
					csvFloats := c.Kind == "csv" && strings.Contains(got.Schema, `"double"`)
					if f.name == "digest" && pandas2 && (c.pandas2Differs || csvFloats) {
						digestsSkipped++
						continue
					}
					if f.got != want[f.name] {
						ok = false
						j, _ := json.Marshal(c)
						if len(j) > 600 {
							j = append(j[:600], "..."...)
						}
						t.Errorf("case %s (%s) %s:\n got  %s\n want %s\ncase: %s", c.ID, c.Kind, f.name, f.got, want[f.name], j)
					}
				}
				if ok {
					matched++
				}
			}
			t.Logf("MLflow %s: %d of %d datasets equal in every compared field; %d pandas-2 digests (data with -0.0, CSV floats) not compared; %d datasets MLflow fails on (empty str columns under pandas 3, b2 sources in MLflow 2); %d sources both refuse", v, matched, len(cases), digestsSkipped, mlflowFails, bothRefuse)
		})
	}
}

func TestDatasetCodeSource(t *testing.T) {
	t.Setenv("MLFLOW_TRACKING_USERNAME", "ada")
	ds, err := mlrun.DatasetFromRows([]string{"x"}, [][]any{{1}, {2}})
	if err != nil {
		t.Fatal(err)
	}
	var src struct{ Tags map[string]string }
	if err := json.Unmarshal([]byte(ds.Source), &src); err != nil {
		t.Fatal(err)
	}
	if ds.SourceType != "code" || src.Tags["mlflow.user"] != "ada" || src.Tags["mlflow.source.type"] != "LOCAL" ||
		src.Tags["mlflow.source.name"] != os.Args[0] || !strings.HasPrefix(ds.Source, `{"tags": {"mlflow.user": "ada", "mlflow.source.name": `) {
		t.Errorf("code source = %s %s", ds.SourceType, ds.Source)
	}
	if ds.Name != "dataset" {
		t.Errorf("default name %q, want dataset", ds.Name)
	}
}

func TestDatasetErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "x.parquet")
	os.WriteFile(bad, []byte("PAR1"), 0o644)
	long := filepath.Join(dir, "long.csv")
	os.WriteFile(long, []byte("a\n1,2\n"), 0o644)
	big := filepath.Join(dir, "big.csv")
	os.WriteFile(big, []byte("a\n99999999999999999999\n"), 0o644)
	notNpy := filepath.Join(dir, "x.npy")
	os.WriteFile(notNpy, []byte("hello"), 0o644)
	for name, f := range map[string]func() (store.Dataset, error){
		"ragged row": func() (store.Dataset, error) { return mlrun.DatasetFromRows([]string{"a", "b"}, [][]any{{1}}) },
		"dup column": func() (store.Dataset, error) { return mlrun.DatasetFromRows([]string{"a", "a"}, [][]any{{1, 2}}) },
		"bad value":  func() (store.Dataset, error) { return mlrun.DatasetFromRows([]string{"a"}, [][]any{{struct{}{}}}) },
		"huge uint": func() (store.Dataset, error) {
			return mlrun.DatasetFromRows([]string{"a"}, [][]any{{uint64(math.MaxUint64)}})
		},
		"no target": func() (store.Dataset, error) {
			return mlrun.DatasetFromRows([]string{"a"}, nil, mlrun.WithTargetColumn("y"))
		},
		"no prediction": func() (store.Dataset, error) {
			return mlrun.DatasetFromRows([]string{"a"}, nil, mlrun.WithPredictionColumn("p"))
		},
		"target tensors": func() (store.Dataset, error) {
			return mlrun.DatasetFromRows([]string{"a"}, nil, mlrun.WithTargetTensors(mlrun.Tensor{Shape: []int{0}, Data: []int{}}))
		},
		"column lengths": func() (store.Dataset, error) {
			return mlrun.DatasetFromColumns([]mlrun.Column{{"a", []int{1}}, {"b", []int{}}})
		},
		"column type": func() (store.Dataset, error) { return mlrun.DatasetFromColumns([]mlrun.Column{{"a", []complex64{1}}}) },
		"space in name": func() (store.Dataset, error) {
			return mlrun.DatasetFromRows([]string{"a"}, nil, mlrun.WithDatasetName("a b"))
		},
		"empty name": func() (store.Dataset, error) {
			return mlrun.DatasetFromRows([]string{"a"}, nil, mlrun.WithDatasetName(""))
		},
		"bad source":      func() (store.Dataset, error) { return mlrun.DatasetFromSource("runs:/abc/x") },
		"remote file uri": func() (store.Dataset, error) { return mlrun.DatasetFromSource("file://host/x") },
		"source json": func() (store.Dataset, error) {
			return mlrun.DatasetFromSource("/x", mlrun.WithDatasetSourceJSON("delta_table", "[1]"))
		},
		"tensor shape": func() (store.Dataset, error) {
			return mlrun.DatasetFromTensors([]mlrun.Tensor{{Shape: []int{3}, Data: []int{1, 2}}})
		},
		"tensor 0-d": func() (store.Dataset, error) { return mlrun.DatasetFromTensors([]mlrun.Tensor{{Data: []int{1}}}) },
		"tensor names": func() (store.Dataset, error) {
			return mlrun.DatasetFromTensors([]mlrun.Tensor{{Name: "a", Shape: []int{1}, Data: []int{1}}, {Shape: []int{1}, Data: []int{1}}})
		},
		"tensor dup": func() (store.Dataset, error) {
			return mlrun.DatasetFromTensors([]mlrun.Tensor{{Name: "a", Shape: []int{1}, Data: []int{1}}, {Name: "a", Shape: []int{1}, Data: []int{1}}})
		},
		"tensor type": func() (store.Dataset, error) {
			return mlrun.DatasetFromTensors([]mlrun.Tensor{{Shape: []int{1}, Data: []any{1}}})
		},
		"tensor column": func() (store.Dataset, error) {
			return mlrun.DatasetFromTensors([]mlrun.Tensor{{Shape: []int{1}, Data: []int{1}}}, mlrun.WithTargetColumn("a"))
		},
		"file ext":     func() (store.Dataset, error) { return mlrun.DatasetFromFile(bad) },
		"long csv row": func() (store.Dataset, error) { return mlrun.DatasetFromCSV(long) },
		"csv big int":  func() (store.Dataset, error) { return mlrun.DatasetFromCSV(big) },
		"not npy":      func() (store.Dataset, error) { return mlrun.DatasetFromFile(notNpy) },
		"dir":          func() (store.Dataset, error) { return mlrun.DatasetFromCSV(dir) },
	} {
		if ds, err := f(); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("%s: got %+v, %v; want ErrInvalidParameter", name, ds, err)
		}
	}
	if _, err := mlrun.DatasetFromCSV(filepath.Join(dir, "missing.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
	// Valid targets and predictions change nothing, as in MLflow.
	plain, err1 := mlrun.DatasetFromRows([]string{"x", "y"}, [][]any{{1, 2}}, mlrun.WithDatasetSource("/d"))
	withT, err2 := mlrun.DatasetFromRows([]string{"x", "y"}, [][]any{{1, 2}}, mlrun.WithDatasetSource("/d"),
		mlrun.WithTargetColumn("y"), mlrun.WithPredictionColumn("x"), mlrun.WithDatasetDigest("custom"))
	if err1 != nil || err2 != nil || withT.Digest != "custom" || withT.Schema != plain.Schema || withT.Profile != plain.Profile {
		t.Errorf("targets/digest options: %+v %v / %+v %v", plain, err1, withT, err2)
	}
}
