package mlrun

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mlrun-go/mlrun/store"
)

// DatasetFromFile builds a dataset from a local file, as MLflow builds it
// from the file loaded the usual way and source=path:
//
//	.csv, .tsv (also .gz, .bz2)  from_pandas(pd.read_csv(path), source=path)  (see [DatasetFromCSV])
//	.npy                         from_numpy(np.load(path), source=path)
//
// Other files are refused; [DatasetFromSource] describes any file by its
// path alone, as MLflow's MetaDataset.
func DatasetFromFile(path string, opts ...DatasetOption) (store.Dataset, error) {
	base := strings.ToLower(filepath.Base(path))
	for _, ext := range []string{".gz", ".bz2"} {
		base = strings.TrimSuffix(base, ext)
	}
	switch filepath.Ext(base) {
	case ".csv", ".tsv":
		return DatasetFromCSV(path, opts...)
	case ".npy":
		return datasetFromNpy(path, opts)
	}
	return store.Dataset{}, store.Invalidf("DatasetFromFile: %s is not a .csv, .tsv or .npy file; DatasetFromSource describes any file by its path", path)
}

// readDataFile reads the local file at path with read, decompressing .gz
// and .bz2 files as pandas does.
func readDataFile[T any](path string, read func(io.Reader) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(path)
	if err != nil {
		return zero, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return zero, store.Invalidf("dataset: %s is not a regular file", path)
	}
	var r io.Reader = bufio.NewReader(f)
	switch strings.ToLower(filepath.Ext(path)) {
	case ".gz":
		if r, err = gzip.NewReader(r); err != nil {
			return zero, store.Invalidf("dataset %s: %v", path, err)
		}
	case ".bz2":
		r = bzip2.NewReader(r)
	}
	v, err := read(r)
	if err != nil {
		return zero, fmt.Errorf("dataset %s: %w", path, err)
	}
	return v, nil
}

// DatasetFromCSV builds a dataset from a CSV file (tab-separated for a
// .tsv name; .gz and .bz2 decompressed), as
// mlflow.data.from_pandas(pd.read_csv(path), source=path) does: the first
// line names the columns (an empty name is "Unnamed: i", a repeated one gets
// ".1", ".2"), and each column gets the type read_csv infers:
//
//	integers (surrounding spaces allowed)        int64
//	numbers, with missing values, or all missing float64
//	True/TRUE/true and False/FALSE/false         bool (with missing values: object)
//	anything else                                str, the text as written
//
// Missing values are read_csv's defaults ("", NA, NaN, null, None, N/A,
// #N/A, …). Rows shorter than the header are padded with missing values;
// longer ones are an error. The source defaults to path as given.
//
// Digest parity with pandas holds for numbers its parser reads exactly
// (up to 17 significant digits, which is what repr and %g write); integers
// beyond int64 are refused.
func DatasetFromCSV(path string, opts ...DatasetOption) (store.Dataset, error) {
	c, err := newDatasetConfig(opts)
	if err != nil {
		return store.Dataset{}, err
	}
	sep := ','
	if strings.HasSuffix(strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(path), ".gz"), ".bz2"), ".tsv") {
		sep = '\t'
	}
	t, err := readDataFile(path, func(r io.Reader) (*table, error) { return readCSV(r, sep) })
	if err != nil {
		return store.Dataset{}, err
	}
	return t.dataset(c, path)
}

// csvNA is pandas' STR_NA_VALUES, the strings read_csv reads as missing.
var csvNA = []string{"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
	"1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}

var (
	csvInt   = regexp.MustCompile(`^[ \t\r\n\v\f]*[+-]?[0-9]+[ \t\r\n\v\f]*$`)
	csvFloat = regexp.MustCompile(`^[ \t\r\n\v\f]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t\r\n\v\f]*$`)
	csvInf   = regexp.MustCompile(`^[+-]?(?i:inf|infinity)$`)
)

func readCSV(r io.Reader, sep rune) (*table, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.Comma = sep
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, store.Invalidf("No columns to parse from file")
	}
	if err != nil {
		return nil, store.Invalidf("%v", err)
	}
	names := csvNames(header)
	fields := make([][]string, len(names)) // per column; nil entries are missing
	missing := make([][]bool, len(names))
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, store.Invalidf("%v", err)
		}
		if len(rec) > len(names) {
			return nil, store.Invalidf("Error tokenizing data. C error: Expected %d fields in line %d, saw %d", len(names), line, len(rec))
		}
		for j := range names {
			v, miss := "", true
			if j < len(rec) {
				v, miss = rec[j], slices.Contains(csvNA, rec[j])
			}
			fields[j] = append(fields[j], v)
			missing[j] = append(missing[j], miss)
		}
	}
	cols := make([]tableCol, len(names))
	for j, name := range names {
		col, err := csvColumn(name, fields[j], missing[j])
		if err != nil {
			return nil, err
		}
		cols[j] = col
	}
	return newTable(cols, len(fields[0]))
}

// csvNames is read_csv's header (pandas' TextReader, mangle_dupe_names):
// "Unnamed: i" for an empty name; a repeated name gets ".1", ".2", …,
// skipping names the header already has, named columns first.
func csvNames(header []string) []string {
	names := slices.Clone(header)
	var order, unnamed []int
	for i, h := range names {
		if h == "" {
			names[i] = "Unnamed: " + strconv.Itoa(i)
			unnamed = append(unnamed, i)
		} else {
			order = append(order, i)
		}
	}
	counts := map[string]int{}
	for _, i := range append(order, unnamed...) {
		col, old := names[i], names[i]
		cur := counts[col]
		for cur > 0 {
			counts[old] = cur + 1
			col = old + "." + strconv.Itoa(cur)
			if slices.Contains(names, col) {
				cur++
			} else {
				cur = counts[col]
			}
		}
		names[i] = col
		counts[col] = cur + 1
	}
	return names
}

// csvColumn types a column as read_csv's C parser does: int64, else
// float64, else bool, else str.
func csvColumn(name string, fields []string, missing []bool) (tableCol, error) {
	nMissing, isInt, isFloat, isBool := 0, true, true, true
	for i, f := range fields {
		if missing[i] {
			nMissing++
			continue
		}
		if isInt && !csvInt.MatchString(f) {
			isInt = false
		}
		if isFloat && !csvInt.MatchString(f) && !csvFloat.MatchString(f) && !csvInf.MatchString(f) {
			isFloat = false
		}
		if isBool && !slices.Contains([]string{"True", "TRUE", "true", "False", "FALSE", "false"}, f) {
			isBool = false
		}
	}
	vals := make([]any, len(fields))
	col := tableCol{name: name, vals: vals}
	switch {
	case len(fields) == 0:
		col.dtype = "object" // a header without rows
	case isInt && nMissing == 0:
		col.dtype, col.itemsize = "int64", 8
		for i, f := range fields {
			v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil {
				return col, store.Invalidf("column %q: %q is out of the range of int64", name, f)
			}
			vals[i] = v
		}
	case isFloat:
		col.dtype = "float64"
		for i, f := range fields {
			if missing[i] {
				vals[i] = math.NaN()
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return col, store.Invalidf("column %q: %q is not a number", name, f)
			}
			vals[i] = v
		}
	case isBool:
		col.dtype = "bool"
		if nMissing > 0 {
			col.dtype = "object"
		}
		for i, f := range fields {
			if !missing[i] {
				vals[i] = f[0] == 'T' || f[0] == 't'
			}
		}
	default:
		col.dtype = "str"
		for i, f := range fields {
			if !missing[i] {
				vals[i] = f
			}
		}
	}
	return col, nil
}

// datasetFromNpy reads a NumPy .npy file (format 1.0 to 3.0) of a numeric,
// bool or unicode dtype, as np.load does, into from_numpy's dataset.
func datasetFromNpy(path string, opts []DatasetOption) (store.Dataset, error) {
	c, err := newDatasetConfig(opts)
	if err != nil {
		return store.Dataset{}, err
	}
	t, err := readDataFile(path, readNpy)
	if err != nil {
		return store.Dataset{}, err
	}
	return tensorDataset(c, []Tensor{t}, path)
}

var (
	npyDescr   = regexp.MustCompile(`'descr'\s*:\s*'([<>|=])([a-zA-Z])(\d+)'`)
	npyFortran = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	npyShape   = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// maxNpyBytes bounds what readNpy loads into memory.
const maxNpyBytes = 1 << 31

func readNpy(r io.Reader) (Tensor, error) {
	var t Tensor
	magic := make([]byte, 8)
	if _, err := io.ReadFull(r, magic); err != nil || string(magic[:6]) != "\x93NUMPY" {
		return t, store.Invalidf("not a .npy file")
	}
	var hlen int
	switch magic[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return t, store.Invalidf("truncated .npy header")
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return t, store.Invalidf("truncated .npy header")
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
	default:
		return t, store.Invalidf(".npy format version %d.%d is not supported", magic[6], magic[7])
	}
	if hlen > 1<<20 {
		return t, store.Invalidf(".npy header of %d bytes is too long", hlen)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(r, hb); err != nil {
		return t, store.Invalidf("truncated .npy header")
	}
	header := string(hb)
	d, f, s := npyDescr.FindStringSubmatch(header), npyFortran.FindStringSubmatch(header), npyShape.FindStringSubmatch(header)
	if d == nil || f == nil || s == nil {
		return t, store.Invalidf(".npy header %q is not supported (a structured or object dtype?)", strings.TrimSpace(header))
	}
	size := 1
	for _, p := range strings.Split(s[1], ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > maxNpyBytes {
			return t, store.Invalidf(".npy shape (%s) is not valid", s[1])
		}
		t.Shape = append(t.Shape, n)
		size *= n
		if size > maxNpyBytes {
			return t, store.Invalidf(".npy array of shape (%s) is too large", s[1])
		}
	}
	if len(t.Shape) == 0 {
		return t, store.Invalidf("a 0-dimensional .npy array is not a dataset")
	}
	width, _ := strconv.Atoi(d[3])
	var order binary.ByteOrder = binary.LittleEndian
	if d[1] == ">" {
		order = binary.BigEndian
	}
	kind := d[2]
	if kind == "U" {
		width *= 4
	}
	if width <= 0 || size*width > maxNpyBytes {
		return t, store.Invalidf(".npy dtype %s%s%s is not supported", d[1], d[2], d[3])
	}
	raw := make([]byte, size*width)
	if _, err := io.ReadFull(r, raw); err != nil {
		return t, store.Invalidf("truncated .npy data")
	}
	if f[1] == "True" {
		raw = fortranToC(raw, t.Shape, width)
	}
	switch kind + strconv.Itoa(width) {
	case "f8":
		t.Data = npyElems(raw, 8, func(b []byte) float64 { return math.Float64frombits(order.Uint64(b)) })
	case "f4":
		t.Data = npyElems(raw, 4, func(b []byte) float32 { return math.Float32frombits(order.Uint32(b)) })
	case "i8":
		t.Data = npyElems(raw, 8, func(b []byte) int64 { return int64(order.Uint64(b)) })
	case "i4":
		t.Data = npyElems(raw, 4, func(b []byte) int32 { return int32(order.Uint32(b)) })
	case "i2":
		t.Data = npyElems(raw, 2, func(b []byte) int16 { return int16(order.Uint16(b)) })
	case "i1":
		t.Data = npyElems(raw, 1, func(b []byte) int8 { return int8(b[0]) })
	case "u8":
		t.Data = npyElems(raw, 8, order.Uint64)
	case "u4":
		t.Data = npyElems(raw, 4, order.Uint32)
	case "u2":
		t.Data = npyElems(raw, 2, order.Uint16)
	case "u1":
		t.Data = npyElems(raw, 1, func(b []byte) uint8 { return b[0] })
	case "b1":
		t.Data = npyElems(raw, 1, func(b []byte) bool { return b[0] != 0 })
	default:
		if kind != "U" {
			return t, store.Invalidf(".npy dtype %s%s%s is not supported", d[1], d[2], d[3])
		}
		strs := make([]string, size)
		for i := range strs {
			end := (i + 1) * width
			for end > i*width && order.Uint32(raw[end-4:]) == 0 {
				end -= 4 // NumPy strips trailing NULs
			}
			var sb strings.Builder
			for k := i * width; k < end; k += 4 {
				cp := order.Uint32(raw[k:])
				if cp > utf8.MaxRune || !utf8.ValidRune(rune(cp)) {
					return t, store.Invalidf(".npy string %d holds an invalid code point", i)
				}
				sb.WriteRune(rune(cp))
			}
			strs[i] = sb.String()
		}
		// np.load keeps the file's width, which may exceed the longest string.
		t.Data = paddedStrings{strs, width}
		return t, nil
	}
	if order == binary.BigEndian && width > 1 {
		t.Data = swappedBytes{t.Data}
	}
	return t, nil
}

func npyElems[T any](raw []byte, width int, f func([]byte) T) []T {
	out := make([]T, len(raw)/width)
	for i := range out {
		out[i] = f(raw[i*width : (i+1)*width])
	}
	return out
}

// fortranToC reorders column-major elements into row-major order.
func fortranToC(raw []byte, shape []int, width int) []byte {
	out := make([]byte, len(raw))
	n := len(raw) / width
	idx := make([]int, len(shape))
	for c := range n {
		// c is the row-major position; its column-major one is the index
		// read with the first axis varying fastest.
		f, stride := 0, 1
		for k := range shape {
			f += idx[k] * stride
			stride *= shape[k]
		}
		copy(out[c*width:(c+1)*width], raw[f*width:(f+1)*width])
		for k := len(shape) - 1; k >= 0; k-- {
			if idx[k]++; idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return out
}
