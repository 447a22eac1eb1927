package mlrun

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/mlrun-go/mlrun/store"
)

// Column is one named column of a table, for [DatasetFromColumns]. Values
// is a slice; its element type decides the column's type as a NumPy array
// of that type would in a pandas DataFrame:
//
//	[]float64 float64 (NaN is a missing value)   []float32 float32
//	[]int, []int64 int64   []int32, []int16, []int8, []uint32, []uint16, []uint8 the same width
//	[]uint, []uint64 uint64 (MLflow infers no schema for it)
//	[]bool bool   []string str   []time.Time datetime
//	[]any the type pandas infers from Python values, as in [DatasetFromRows]
type Column struct {
	Name   string
	Values any
}

// tableCol is one column of a DataFrame as pandas would hold it.
type tableCol struct {
	name     string
	dtype    string // pandas dtype: int64 … uint8, float64, float32, bool, str, datetime64, object
	itemsize int    // bytes of an integer dtype's values
	// vals holds the values: int64 for integer dtypes (uint64 by its bits),
	// float64 or float32 for float dtypes, and for the others bool, string,
	// time.Time, []byte or nil (missing).
	vals []any
}

func (c *tableCol) numeric() bool {
	return c.itemsize > 0 || c.dtype == "float64" || c.dtype == "float32"
}

// allStr reports whether every value is a str, MLflow's test for a string
// column in its digest ((df.map(type) == str).all()).
func (c *tableCol) allStr() bool {
	if c.dtype != "str" && c.dtype != "object" {
		return len(c.vals) == 0
	}
	for _, v := range c.vals {
		if _, ok := v.(string); !ok {
			return false
		}
	}
	return true
}

func isMissing(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case float64:
		return x != x
	case float32:
		return x != x
	}
	return false
}

// required is MLflow's _infer_required: no None, NaN or NaT.
func (c *tableCol) required() bool {
	return !slices.ContainsFunc(c.vals, isMissing)
}

// schemaType is MLflow's _infer_pandas_column; ok is false where MLflow
// fails to infer a type (and so logs the dataset without a schema).
func (c *tableCol) schemaType() (typ string, ok bool) {
	switch c.dtype {
	case "int8", "int16", "int32", "uint8", "uint16":
		return "integer", true
	case "int64", "uint32":
		return "long", true
	case "float32":
		return "float", true
	case "float64":
		return "double", true
	case "bool":
		return "boolean", true
	case "str":
		return "string", true
	case "datetime64":
		return "datetime", true
	case "object":
		if len(c.vals) == 0 {
			return "string", true // is_string_dtype of an empty object column
		}
		typ = "any"
		for _, v := range c.vals {
			var t string
			switch v.(type) {
			case nil:
				continue
			case bool:
				t = "boolean"
			case string:
				t = "string"
			case []byte:
				t = "binary"
			case time.Time:
				t = "datetime"
			default:
				return "", false
			}
			if typ != "any" && typ != t {
				return "", false // "Expected all values in the list to be of the same type"
			}
			typ = t
		}
		return typ, true
	}
	return "", false // uint64
}

// hashes is hash_array of the column's first n values.
func (c *tableCol) hashes(n int) []uint64 {
	out := make([]uint64, n)
	for i, v := range c.vals[:n] {
		switch x := v.(type) {
		case int64:
			out[i] = hashInt(x, c.itemsize)
		case float64:
			out[i] = hashFloat64(x)
		case float32:
			out[i] = hashFloat32(x)
		case string:
			out[i] = hashString(x)
		}
	}
	return out
}

// table is a DataFrame with a default RangeIndex.
type table struct {
	cols []tableCol
	rows int
}

// newTable checks the columns hold rows values each and have distinct
// names.
func newTable(cols []tableCol, rows int) (*table, error) {
	seen := map[string]bool{}
	for _, c := range cols {
		if seen[c.name] {
			return nil, store.Invalidf("dataset column %q appears twice", c.name)
		}
		seen[c.name] = true
		if len(c.vals) != rows {
			return nil, store.Invalidf("dataset column %q has %d values, column %q has %d", c.name, len(c.vals), cols[0].name, rows)
		}
	}
	return &table{cols: cols, rows: rows}, nil
}

// digest is MLflow's compute_pandas_digest.
func (t *table) digest() string {
	var strCols, numCols []int
	for i := range t.cols {
		if t.cols[i].allStr() {
			strCols = append(strCols, i)
		}
		if t.cols[i].numeric() {
			numCols = append(numCols, i)
		}
	}
	// string_columns.union(numeric_columns): either one alone keeps the
	// columns' order; a true union is sorted by name.
	desired := strCols
	switch {
	case len(numCols) == 0:
	case len(strCols) == 0 || slices.Equal(strCols, numCols):
		desired = numCols
	default:
		for _, i := range numCols {
			if !slices.Contains(desired, i) {
				desired = append(desired, i)
			}
		}
		slices.SortFunc(desired, func(a, b int) int { return strings.Compare(t.cols[a].name, t.cols[b].name) })
	}
	n := min(t.rows, digestMaxRows)
	arrays := make([][]uint64, 0, len(desired)+1)
	for _, i := range desired {
		arrays = append(arrays, t.cols[i].hashes(n))
	}
	index := make([]uint64, n)
	for i := range index {
		index[i] = hashInt(int64(i), 8)
	}
	arrays = append(arrays, index)
	d := newMD5Digest()
	d.uint64s(combineHashArrays(arrays, n))
	d.int64(int64(t.rows))
	for _, c := range t.cols {
		d.bytes([]byte(c.name))
	}
	return d.sum()
}

// schema is {"mlflow_colspec": Schema.to_dict()}, or "" where MLflow
// infers none (no columns, or a column of mixed types).
func (t *table) schema() string {
	if len(t.cols) == 0 {
		return ""
	}
	specs := make([]string, len(t.cols))
	for i := range t.cols {
		typ, ok := t.cols[i].schemaType()
		if !ok {
			return ""
		}
		specs[i] = "{" + pyKV("type", pyStr(typ)) + ", " + pyKV("name", pyStr(t.cols[i].name)) + ", " +
			pyKV("required", pyBool(t.cols[i].required())) + "}"
	}
	return "{" + pyKV("mlflow_colspec", pyList(specs)) + "}"
}

// profile is PandasDataset.profile.
func (t *table) profile() string {
	return "{" + pyKV("num_rows", pyInt(int64(t.rows))) + ", " +
		pyKV("num_elements", pyInt(int64(t.rows)*int64(len(t.cols)))) + "}"
}

// dataset builds the dataset of t as from_pandas does.
func (t *table) dataset(c *datasetConfig, path string) (store.Dataset, error) {
	if err := t.checkColumn("targets", c.targets); err != nil {
		return store.Dataset{}, err
	}
	if err := t.checkColumn("predictions", c.predictions); err != nil {
		return store.Dataset{}, err
	}
	if len(c.targetTs) > 0 {
		return store.Dataset{}, store.Invalidf("WithTargetTensors applies to tensor datasets only; name a table's target with WithTargetColumn")
	}
	if err := c.sourceOr(path); err != nil {
		return store.Dataset{}, err
	}
	return c.dataset(t.digest(), t.schema(), t.profile())
}

func (t *table) checkColumn(what string, name *string) error {
	if name == nil || slices.ContainsFunc(t.cols, func(c tableCol) bool { return c.name == *name }) {
		return nil
	}
	return store.Invalidf("The specified pandas DataFrame does not contain the specified %s column '%s'.", what, *name)
}

// DatasetFromRows builds a dataset from a table given row by row, as
// mlflow.data.from_pandas(pd.DataFrame(rows, columns=columns)) does. Each
// column's type is the one pandas infers from the Python equivalents of its
// values: Go integers are int, floats are float, and nil (or NaN) is None:
//
//	integers only                         int64
//	integers and floats, or with nil/NaN  float64
//	bools only                            bool (with nil: object, schema boolean)
//	strings (nil allowed)                 str
//	time.Time values (nil allowed)        datetime
//	[]byte values                         object, schema binary
//	only nil                              object, schema any
//	a mix of kinds                        object, and MLflow logs no schema
//
// The digest is MLflow's compute_pandas_digest (MD5 over pandas'
// hash_pandas_object of the first 10,000 rows' string and numeric
// columns, the row count and the column names); the source defaults to the
// code source (see [WithDatasetSource]).
func DatasetFromRows(columns []string, rows [][]any, opts ...DatasetOption) (store.Dataset, error) {
	c, err := newDatasetConfig(opts)
	if err != nil {
		return store.Dataset{}, err
	}
	for i, row := range rows {
		if len(row) != len(columns) {
			return store.Dataset{}, store.Invalidf("row %d has %d values for %d columns", i, len(row), len(columns))
		}
	}
	cols := make([]tableCol, len(columns))
	for j, name := range columns {
		vals := make([]any, len(rows))
		for i, row := range rows {
			vals[i] = row[j]
		}
		if cols[j], err = inferColumn(name, vals); err != nil {
			return store.Dataset{}, err
		}
	}
	t, err := newTable(cols, len(rows))
	if err != nil {
		return store.Dataset{}, err
	}
	return t.dataset(c, "")
}

// DatasetFromColumns builds a dataset from a table given column by column,
// as mlflow.data.from_pandas(pd.DataFrame({name: values, ...})) does; see
// [Column] for the column types and [DatasetFromRows] for the rest.
func DatasetFromColumns(columns []Column, opts ...DatasetOption) (store.Dataset, error) {
	c, err := newDatasetConfig(opts)
	if err != nil {
		return store.Dataset{}, err
	}
	t, err := tableOfColumns(columns)
	if err != nil {
		return store.Dataset{}, err
	}
	return t.dataset(c, "")
}

func tableOfColumns(columns []Column) (*table, error) {
	cols := make([]tableCol, len(columns))
	for i, c := range columns {
		tc, err := columnOf(c)
		if err != nil {
			return nil, err
		}
		cols[i] = tc
	}
	rows := 0
	if len(cols) > 0 {
		rows = len(cols[0].vals)
	}
	return newTable(cols, rows)
}

func intCol[T int | int8 | int16 | int32 | int64 | uint | uint8 | uint16 | uint32 | uint64](name, dtype string, itemsize int, vs []T) tableCol {
	vals := make([]any, len(vs))
	for i, v := range vs {
		vals[i] = int64(v)
	}
	return tableCol{name: name, dtype: dtype, itemsize: itemsize, vals: vals}
}

func anyCol[T any](name, dtype string, vs []T) tableCol {
	vals := make([]any, len(vs))
	for i, v := range vs {
		vals[i] = v
	}
	return tableCol{name: name, dtype: dtype, vals: vals}
}

func columnOf(c Column) (tableCol, error) {
	switch vs := c.Values.(type) {
	case []float64:
		return anyCol(c.Name, "float64", vs), nil
	case []float32:
		return anyCol(c.Name, "float32", vs), nil
	case []int:
		return intCol(c.Name, "int64", 8, vs), nil
	case []int64:
		return intCol(c.Name, "int64", 8, vs), nil
	case []int32:
		return intCol(c.Name, "int32", 4, vs), nil
	case []int16:
		return intCol(c.Name, "int16", 2, vs), nil
	case []int8:
		return intCol(c.Name, "int8", 1, vs), nil
	case []uint:
		return intCol(c.Name, "uint64", 8, vs), nil
	case []uint64:
		return intCol(c.Name, "uint64", 8, vs), nil
	case []uint32:
		return intCol(c.Name, "uint32", 4, vs), nil
	case []uint16:
		return intCol(c.Name, "uint16", 2, vs), nil
	case []uint8:
		return intCol(c.Name, "uint8", 1, vs), nil
	case []bool:
		return anyCol(c.Name, "bool", vs), nil
	case []string:
		return anyCol(c.Name, "str", vs), nil
	case []time.Time:
		return anyCol(c.Name, "datetime64", vs), nil
	case []any:
		if len(vs) == 0 {
			// pd.DataFrame({name: []}) makes an empty float64 column.
			return tableCol{name: c.Name, dtype: "float64"}, nil
		}
		return inferColumn(c.Name, vs)
	}
	return tableCol{}, store.Invalidf("dataset column %q: values of type %T are not supported", c.Name, c.Values)
}

// inferColumn gives Python values the dtype pandas infers for them.
func inferColumn(name string, in []any) (tableCol, error) {
	vals := make([]any, len(in))
	var nNil, nNaN, nInt, nFloat, nBool, nStr, nTime int
	for i, v := range in {
		var err error
		if vals[i], err = pyValue(v); err != nil {
			return tableCol{}, fmt.Errorf("dataset column %q, row %d: %w", name, i, err)
		}
		switch x := vals[i].(type) {
		case nil:
			nNil++
		case int64:
			nInt++
		case float64:
			if x != x {
				nNaN++
			} else {
				nFloat++
			}
		case bool:
			nBool++
		case string:
			nStr++
		case time.Time:
			nTime++
		}
	}
	missing := nNil + nNaN
	present := len(vals) - missing
	col := tableCol{name: name, dtype: "object", vals: vals}
	switch {
	case len(vals) == 0:
	case present == 0:
		if nNaN > 0 {
			col.dtype = "float64"
		}
	case nInt+nFloat == present:
		if nFloat == 0 && missing == 0 {
			col.dtype, col.itemsize = "int64", 8
			break
		}
		col.dtype = "float64"
	case nBool == present:
		if missing == 0 {
			col.dtype = "bool"
		}
	case nStr == present:
		col.dtype = "str"
	case nTime == present:
		col.dtype = "datetime64"
	}
	for i, v := range vals {
		switch x := v.(type) {
		case nil:
			if col.dtype == "float64" {
				vals[i] = math.NaN()
			}
		case int64:
			if col.dtype == "float64" {
				vals[i] = float64(x)
			}
		case float64:
			if x != x && col.dtype != "float64" {
				vals[i] = nil // pandas' NaN, None or NaT: missing either way
			}
		}
	}
	return col, nil
}

// pyValue maps a Go value to what it is in Python: int64 for integers,
// float64 for floats, and bool, string, time.Time, []byte or nil as is.
func pyValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string, time.Time, []byte, float64, int64:
		return x, nil
	case float32:
		return float64(x), nil
	case int:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint:
		return pyUint(uint64(x))
	case uint64:
		return pyUint(x)
	}
	return nil, store.Invalidf("values of type %T are not supported", v)
}

func pyUint(u uint64) (any, error) {
	if u > math.MaxInt64 {
		return nil, store.Invalidf("%d does not fit in pandas' int64", u)
	}
	return int64(u), nil
}
