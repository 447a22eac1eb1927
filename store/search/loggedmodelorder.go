package search

import (
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mlrun-go/mlrun/internal/pystr"
	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/search/internal/pysql"
)

// Search answers a search_logged_models request over models as the store
// does, checking the request in the store's order.
//
// For FileLoggedModels, models are the active models of q.ExperimentIDs,
// experiment by experiment in the order of q.ExperimentIDs (an id given
// twice lists its models twice, as MLflow's file store does), each with its
// latest metric point per dataset in Metrics (datasets in the order their
// first point was logged).
//
// For SQLLoggedModels, models are the active models of the experiments
// (each once, in any order), each with every logged point in Metrics.
func (sem LoggedModelSemantics) Search(models []*store.LoggedModel, q store.LoggedModelQuery) (*store.LoggedModelPage, error) {
	for _, d := range q.Datasets {
		if d.Name == "" {
			return nil, store.Invalidf("`dataset_name` in the `datasets` clause must be specified.")
		}
	}
	if sem == SQLLoggedModels {
		return searchLMSQL(models, q)
	}
	clauses, err := parseLMFilterFile(q.Filter)
	if err != nil {
		return nil, err
	}
	if q.Filter != "" || len(q.Datasets) > 0 {
		models, err = filterLMFile(models, clauses, q.Datasets)
		if err != nil {
			return nil, err
		}
	} else {
		models = slices.Clone(models)
	}
	if err := FileLoggedModels.Sort(models, q.OrderBy); err != nil {
		return nil, err
	}
	page, next, err := FileLoggedModels.Page(models, q)
	if err != nil {
		return nil, err
	}
	return &store.LoggedModelPage{Models: page, NextPageToken: next}, nil
}

// filterLMFile is SearchLoggedModelsUtils.filter_logged_models.
func filterLMFile(models []*store.LoggedModel, clauses []LoggedModelClause, datasets []store.LoggedModelDataset) ([]*store.LoggedModel, error) {
	if len(datasets) > 0 {
		hasMetric := false
		for _, c := range clauses {
			if c.Entity != "metric" {
				continue
			}
			if !slices.Contains(lmMetricOps, c.Op) {
				return nil, store.Invalidf("Invalid comparator '%s' not one of '%s", c.Op, pysql.SetRepr(lmMetricOps))
			}
			hasMetric = true
			break
		}
		if !hasMetric {
			models = slices.DeleteFunc(slices.Clone(models), func(m *store.LoggedModel) bool {
				return !slices.ContainsFunc(m.Metrics, func(x store.LoggedModelMetric) bool { return lmOnDataset(x, datasets) })
			})
		}
	}
	var out []*store.LoggedModel
	for _, m := range models {
		ok, err := FileLoggedModels.Match(clauses, datasets, m)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// SortLoggedModels sorts models as MLflow's file store does; see
// [LoggedModelSemantics.Sort].
func SortLoggedModels(models []*store.LoggedModel, orderBy []store.LoggedModelOrderBy) error {
	return FileLoggedModels.Sort(models, orderBy)
}

// Sort sorts models by orderBy as the store does, then by
// creation_timestamp DESC and model_id ASC unless orderBy has them. A
// metrics.<key> entry compares the latest point by timestamp (on the
// entry's dataset, if given); models without one sort last. The file store
// reports an invalid entry even with no models, and fails when it cannot
// compare two keys (None against a string in an ascending model_type or
// source_run_id, or last_updated_time); NaN values have no defined place
// there (Python's sort meets them in whatever order the directory listing
// gave).
func (sem LoggedModelSemantics) Sort(models []*store.LoggedModel, orderBy []store.LoggedModelOrderBy) error {
	if sem == SQLLoggedModels {
		keys, err := parseLMOrderSQL(orderBy)
		if err != nil {
			return err
		}
		sortLMSQL(models, keys)
		return nil
	}
	keys, err := parseLMOrderFile(orderBy)
	if err != nil {
		return err
	}
	return sortLMFile(models, keys)
}

type lmOrderKey struct {
	field     string // attribute, or "" for a metric
	metric    string // the metric key
	isMetric  bool
	asc       bool
	dsName    string
	dsDigest  string
	sqlColumn string // SQL: the column
}

// parseLMOrderFile is parse_order_by_for_logged_models plus _get_sort_key's
// tie-breaks.
func parseLMOrderFile(orderBy []store.LoggedModelOrderBy) ([]lmOrderKey, error) {
	var keys []lmOrderKey
	for _, o := range orderBy {
		k := lmOrderKey{asc: o.Ascending, dsName: o.DatasetName, dsDigest: o.DatasetDigest}
		f := o.FieldName
		if entity, key, ok := strings.Cut(f, "."); ok {
			if entity != "metrics" {
				return nil, store.Invalidf("Invalid order by field name: %s, only `metrics.<name>` is allowed.", entity)
			}
			k.isMetric, k.metric = true, key
		} else {
			f = lmPyStrip(f)
			if !slices.Contains(lmFileAttrs, f) {
				return nil, store.Invalidf("Invalid order by field name: %s.", f)
			}
			if f == "creation_time" {
				f = "creation_timestamp"
			}
			k.field = f
		}
		if o.DatasetDigest != "" && o.DatasetName == "" {
			return nil, store.Invalidf("`dataset_digest` can only be specified if `dataset_name` is also specified.")
		}
		keys = append(keys, k)
	}
	if !slices.ContainsFunc(keys, func(k lmOrderKey) bool { return !k.isMetric && k.field == "creation_timestamp" }) {
		keys = append(keys, lmOrderKey{field: "creation_timestamp"})
	}
	if !slices.ContainsFunc(keys, func(k lmOrderKey) bool { return !k.isMetric && k.field == "model_id" }) {
		keys = append(keys, lmOrderKey{field: "model_id", asc: true})
	}
	return keys, nil
}

// lmPyStrip is Python's str.strip().
func lmPyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return r == ' ' || ('\t' <= r && r <= '\r') || (0x1c <= r && r <= 0x1f) || r == 0x85 || r == 0xa0 ||
			r == 0x1680 || (0x2000 <= r && r <= 0x200a) || r == 0x2028 || r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000
	})
}

// lmSortVal is one element of a file-store sort key: a value (None, str
// or number), possibly wrapped in _Reversor or _LoggedModelMetricComp.
type lmSortVal struct {
	kind byte // 'N' None, 's' str, 'n' number
	str  string
	num  float64
	wrap byte // 0 raw, 'R' _Reversor, 'M' _LoggedModelMetricComp
}

func (a lmSortVal) eq(b lmSortVal) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case 'N':
		return true
	case 's':
		return a.str == b.str
	}
	return a.num == b.num
}

func lmRawLess(a, b lmSortVal) bool {
	if a.kind == 's' {
		return a.str < b.str
	}
	return a.num < b.num
}

// less is a < b; ok is false where Python raises TypeError.
func (a lmSortVal) less(b lmSortVal) (less, ok bool) {
	switch a.wrap {
	case 'R':
		if a.kind == 'N' {
			return false, true
		}
		if b.kind == 'N' {
			return true, true
		}
		return lmRawLess(b, a), true
	case 'M':
		if a.kind == 'N' {
			return false, true
		}
		if b.kind == 'N' {
			return true, true
		}
		return lmRawLess(a, b), true
	}
	if a.kind == 'N' || b.kind == 'N' {
		return false, false
	}
	return lmRawLess(a, b), true
}

func lmFileSortKey(m *store.LoggedModel, keys []lmOrderKey) ([]lmSortVal, error) {
	out := make([]lmSortVal, len(keys))
	for i, k := range keys {
		var v lmSortVal
		if k.isMetric {
			v.kind = 'N'
			var best *store.LoggedModelMetric
			for j := range m.Metrics {
				x := &m.Metrics[j]
				if x.Key == k.metric && (k.dsName == "" || x.DatasetName == k.dsName) &&
					(k.dsDigest == "" || x.DatasetDigest == k.dsDigest) && (best == nil || x.Timestamp > best.Timestamp) {
					best = x
				}
			}
			if best != nil {
				v = lmSortVal{kind: 'n', num: best.Value}
			}
			v.wrap = 'M'
			if !k.asc {
				v.wrap = 'R'
			}
			out[i] = v
			continue
		}
		switch k.field {
		case "creation_timestamp":
			v = lmSortVal{kind: 'n', num: float64(m.CreationTimestamp)}
		case "last_updated_timestamp":
			v = lmSortVal{kind: 'n', num: float64(m.LastUpdatedTimestamp)}
		case "name":
			v = lmSortVal{kind: 's', str: m.Name}
		case "model_id":
			v = lmSortVal{kind: 's', str: m.ModelID}
		case "status":
			v = lmSortVal{kind: 's', str: m.Status.String()}
		case "model_type", "source_run_id":
			s := m.ModelType
			if k.field == "source_run_id" {
				s = m.SourceRunID
			}
			v = lmSortVal{kind: 'N'}
			if s != "" {
				v = lmSortVal{kind: 's', str: s}
			}
		default:
			return nil, internalf("'LoggedModel' object has no attribute '%s'", k.field)
		}
		if !k.asc {
			v.wrap = 'R'
		}
		out[i] = v
	}
	return out, nil
}

// lmTupleCmp compares two sort keys as Python compares tuples; ok is false
// where it raises.
func lmTupleCmp(a, b []lmSortVal) (int, bool) {
	for i := range a {
		if a[i].eq(b[i]) {
			continue
		}
		if l, ok := a[i].less(b[i]); !ok {
			return 0, false
		} else if l {
			return -1, true
		}
		if l, ok := b[i].less(a[i]); !ok {
			return 0, false
		} else if l {
			return 1, true
		}
		return 0, true // NaN: neither is less
	}
	return 0, true
}

func sortLMFile(models []*store.LoggedModel, keys []lmOrderKey) error {
	type keyed struct {
		m   *store.LoggedModel
		key []lmSortVal
	}
	ks := make([]keyed, len(models))
	for i, m := range models {
		k, err := lmFileSortKey(m, keys)
		if err != nil {
			return err
		}
		ks[i] = keyed{m, k}
	}
	// Sort with None placed before strings, then check neighbours: Python's
	// sort compares every pair that ends up adjacent, so it raises exactly
	// when some adjacent pair is None against a string.
	slices.SortStableFunc(ks, func(a, b keyed) int {
		if c, ok := lmTupleCmp(a.key, b.key); ok {
			return c
		}
		for i := range a.key {
			if a.key[i].eq(b.key[i]) {
				continue
			}
			if a.key[i].kind == 'N' {
				return -1
			}
			return 1
		}
		return 0
	})
	for i := 1; i < len(ks); i++ {
		if _, ok := lmTupleCmp(ks[i-1].key, ks[i].key); !ok {
			return internalf("'<' not supported between instances of 'NoneType' and 'str'")
		}
	}
	for i := range ks {
		models[i] = ks[i].m
	}
	return nil
}

// parseLMOrderSQL is _apply_order_by_search_logged_models' checks and
// tie-breaks.
func parseLMOrderSQL(orderBy []store.LoggedModelOrderBy) ([]lmOrderKey, error) {
	var keys []lmOrderKey
	hasCreation, hasID := false, false
	for _, o := range orderBy {
		k := lmOrderKey{asc: o.Ascending, dsName: o.DatasetName, dsDigest: o.DatasetDigest}
		f := o.FieldName
		if !strings.Contains(f, ".") {
			name := f
			if a, ok := lmSQLAliases[f]; ok {
				name = a
			}
			hasCreation = hasCreation || name == "creation_timestamp_ms"
			hasID = hasID || name == "model_id"
			if _, ok := lmSQLColumns[name]; !ok {
				if slices.Contains(lmSQLRelations, name) {
					return nil, internalf("cannot order by relationship %s", name)
				}
				return nil, store.Invalidf("Invalid order by field name: %s", f)
			}
			k.field, k.sqlColumn = name, name
			keys = append(keys, k)
			continue
		}
		entity, name, _ := strings.Cut(f, ".")
		if entity != "metrics" {
			return nil, store.Invalidf("Invalid order by field name: %s. Only metrics are supported.", f)
		}
		k.isMetric, k.metric = true, name
		keys = append(keys, k)
	}
	if !hasCreation {
		keys = append(keys, lmOrderKey{field: "creation_timestamp_ms", sqlColumn: "creation_timestamp_ms"})
	}
	if !hasID {
		keys = append(keys, lmOrderKey{field: "model_id", sqlColumn: "model_id", asc: true})
	}
	return keys, nil
}

// lmSQLLatest is the SQL store's latest point of a metric for ordering: by
// timestamp DESC, step DESC, run_id ASC among the points on the entry's
// dataset.
func lmSQLLatest(m *store.LoggedModel, k lmOrderKey) lmSQLValue {
	var best *store.LoggedModelMetric
	for j := range m.Metrics {
		x := &m.Metrics[j]
		if x.Key != k.metric || (k.dsName != "" && x.DatasetName != k.dsName) || (k.dsDigest != "" && x.DatasetDigest != k.dsDigest) {
			continue
		}
		if best == nil || x.Timestamp > best.Timestamp ||
			(x.Timestamp == best.Timestamp && (x.Step > best.Step || (x.Step == best.Step && x.RunID < best.RunID))) {
			best = x
		}
	}
	if best == nil {
		return lmSQLValue{kind: 'N'}
	}
	return lmSQLNum(lmSQLStored(best.Value))
}

func sortLMSQL(models []*store.LoggedModel, keys []lmOrderKey) {
	vals := make(map[*store.LoggedModel][]lmSQLValue, len(models))
	for _, m := range models {
		v := make([]lmSQLValue, len(keys))
		for i, k := range keys {
			if k.isMetric {
				v[i] = lmSQLLatest(m, k)
			} else {
				v[i] = lmSQLColumn(m, k.sqlColumn)
			}
		}
		vals[m] = v
	}
	slices.SortStableFunc(models, func(a, b *store.LoggedModel) int {
		va, vb := vals[a], vals[b]
		for i, k := range keys {
			x, y := va[i], vb[i]
			switch {
			case x.kind == 'N' && y.kind == 'N':
				continue
			case x.kind == 'N':
				return 1 // NULLs last, either direction
			case y.kind == 'N':
				return -1
			}
			c := lmSQLCmp(x, y)
			if !k.asc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
}

// PageLoggedModels returns the page of sorted models that q's page token
// and max results select, and the next page token, as MLflow's file store
// does; see [LoggedModelSemantics.Page].
func PageLoggedModels(models []*store.LoggedModel, q store.LoggedModelQuery) ([]*store.LoggedModel, string, error) {
	return FileLoggedModels.Page(models, q)
}

// Page returns the page of the sorted, filtered models that q's page token
// and max results (0 means 100) select, and the token of the next page (""
// if none).
//
// The file store's token is base64 of {"offset": N} (SearchUtils.paginate):
// a token whose offset is missing or 0 is invalid, and offsets and
// negative max results slice as Python does. The SQL store's token is
// base64 of {"experiment_ids", "filter_string", "order_by", "offset"}
// (SearchLoggedModelsPaginationToken), which must match the request;
// offsets and max results apply as SQLite's OFFSET and LIMIT.
func (sem LoggedModelSemantics) Page(models []*store.LoggedModel, q store.LoggedModelQuery) ([]*store.LoggedModel, string, error) {
	size := q.MaxResults
	if size == 0 {
		size = store.DefaultLoggedModelMaxResults
	}
	if sem == SQLLoggedModels {
		off, err := ParseLoggedModelPageToken(q)
		if err != nil {
			return nil, "", err
		}
		return pageLMSQL(models, q, off, size)
	}
	off, err := pysql.ParseOffsetToken(q.PageToken)
	if err != nil {
		return nil, "", fromPySQL(err)
	}
	final := off + size
	lo, hi := lmPySlice(len(models), off, final)
	next := ""
	if final < len(models) {
		next = base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(`{"offset": %d}`, final)))
	}
	return models[lo:hi], next, nil
}

// lmPySlice returns the bounds of Python's s[lo:hi] for a sequence of n.
func lmPySlice(n, lo, hi int) (int, int) {
	clamp := func(i int) int {
		if i < 0 {
			i += n
			if i < 0 {
				i = 0
			}
		}
		return min(i, n)
	}
	lo, hi = clamp(lo), clamp(hi)
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

func pageLMSQL(models []*store.LoggedModel, q store.LoggedModelQuery, off, size int) ([]*store.LoggedModel, string, error) {
	rows := models[min(max(off, 0), len(models)):]
	if limit := size + 1; limit >= 0 && limit < len(rows) {
		rows = rows[:limit]
	}
	next := ""
	if len(rows) > size {
		next = NewLoggedModelPageToken(q, off+size)
	}
	lo, hi := lmPySlice(len(rows), 0, size)
	return rows[lo:hi], next, nil
}

// lmOrderByJSON returns the order_by list MLflow's REST handler passes to
// the store (None when empty), as Python values.
func lmOrderByJSON(orderBy []store.LoggedModelOrderBy) string {
	if len(orderBy) == 0 {
		return "null"
	}
	parts := make([]string, len(orderBy))
	for i, o := range orderBy {
		parts[i] = fmt.Sprintf(`{"field_name": %s, "ascending": %t, "dataset_name": %s, "dataset_digest": %s}`,
			pystr.JSONQuote(o.FieldName), o.Ascending, lmJSONOptString(o.DatasetName), lmJSONOptString(o.DatasetDigest))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func lmOrderByRepr(orderBy []store.LoggedModelOrderBy) string {
	if len(orderBy) == 0 {
		return "None"
	}
	opt := func(s string) string {
		if s == "" {
			return "None"
		}
		return pysql.Repr(s)
	}
	parts := make([]string, len(orderBy))
	for i, o := range orderBy {
		asc := "False"
		if o.Ascending {
			asc = "True"
		}
		parts[i] = fmt.Sprintf("{'field_name': %s, 'ascending': %s, 'dataset_name': %s, 'dataset_digest': %s}",
			pysql.Repr(o.FieldName), asc, opt(o.DatasetName), opt(o.DatasetDigest))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func lmJSONOptString(s string) string {
	if s == "" {
		return "null"
	}
	return pystr.JSONQuote(s)
}

// NewLoggedModelPageToken returns the page token MLflow's SQL store gives
// for the page of q that starts at offset
// (SearchLoggedModelsPaginationToken.encode): base64 of json.dumps of the
// experiment ids, filter string, order_by list (as MLflow's REST handler
// passes it) and offset, with Python's separators.
func NewLoggedModelPageToken(q store.LoggedModelQuery, offset int) string {
	ids := make([]string, len(q.ExperimentIDs))
	for i, id := range q.ExperimentIDs {
		ids[i] = pystr.JSONQuote(id)
	}
	filter := "null"
	if q.Filter != "" {
		filter = pystr.JSONQuote(q.Filter)
	}
	s := fmt.Sprintf(`{"experiment_ids": [%s], "filter_string": %s, "order_by": %s, "offset": %d}`,
		strings.Join(ids, ", "), filter, lmOrderByJSON(q.OrderBy), offset)
	return base64.StdEncoding.EncodeToString([]byte(s))
}

// ParseLoggedModelPageToken returns the offset in q's page token as
// MLflow's SQL store reads it (SearchLoggedModelsPaginationToken.decode
// and validate): the empty token is offset 0; a token made for other
// experiment ids, another filter or another order_by is a
// store.ErrInvalidParameter error with MLflow's message, and so is one
// that is not JSON; one that is not base64, not UTF-8 or not a JSON
// object is an internal error ([IsInternal]), as in MLflow. The offset
// may be negative (SQLite's OFFSET then counts it as 0).
func ParseLoggedModelPageToken(q store.LoggedModelQuery) (int, error) {
	if q.PageToken == "" {
		return 0, nil
	}
	raw, ok := pysql.B64Decode(q.PageToken)
	if !ok {
		return 0, internalf("Incorrect padding")
	}
	if !utf8.Valid(raw) {
		return 0, internalf("'utf-8' codec can't decode the page token")
	}
	v, err := pysql.JSONLoads(raw)
	if err != nil {
		return 0, store.Invalidf("Invalid page token: %s. Expecting value", q.PageToken)
	}
	if v.Kind() != 'd' {
		return 0, internalf("'%s' object has no attribute 'get'", v.TypeName())
	}
	found := "None"
	if ids, ok := v.Get("experiment_ids"); ok {
		found = ids.Repr()
	}
	if want := pysql.ListRepr(q.ExperimentIDs); found != want {
		return 0, store.Invalidf("Experiment IDs in the page token do not match the requested experiment IDs. Expected: %s. Found: %s", want, found)
	}
	foundFilter := "None"
	if f, ok := v.Get("filter_string"); ok && f.Truthy() {
		foundFilter = f.Repr()
		if f.Kind() == 's' {
			foundFilter = f.Str()
		}
	}
	wantFilter := "None"
	if q.Filter != "" {
		wantFilter = q.Filter
	}
	if foundFilter != wantFilter {
		return 0, store.Invalidf("Filter string in the page token does not match the requested filter string. Expected: %s. Found: %s", wantFilter, foundFilter)
	}
	foundOrder := "None"
	if o, ok := v.Get("order_by"); ok && o.Truthy() {
		foundOrder = o.Repr()
	}
	if want := lmOrderByRepr(q.OrderBy); foundOrder != want {
		return 0, store.Invalidf("Order by in the page token does not match the requested order by. Expected: %s. Found: %s", want, foundOrder)
	}
	off, ok := v.Get("offset")
	if !ok || !off.Truthy() {
		return 0, nil
	}
	switch off.Kind() {
	case 'i':
		n, err := strconv.ParseInt(off.Num(), 10, 64)
		if err != nil {
			return math.MaxInt, nil
		}
		return int(n), nil
	case 'B':
		return 1, nil
	}
	return 0, internalf("Query.offset() got an offset of type %s", off.TypeName())
}

func searchLMSQL(models []*store.LoggedModel, q store.LoggedModelQuery) (*store.LoggedModelPage, error) {
	off, err := ParseLoggedModelPageToken(q)
	if err != nil {
		return nil, err
	}
	size := q.MaxResults
	if size == 0 {
		size = store.DefaultLoggedModelMaxResults
	}
	clauses, err := parseLMFilterSQL(q.Filter)
	if err != nil {
		return nil, err
	}
	keys, err := parseLMOrderSQL(q.OrderBy)
	if err != nil {
		return nil, err
	}
	for _, c := range clauses {
		if err := lmSQLBindError(c); err != nil {
			return nil, err
		}
	}
	hasMetric := slices.ContainsFunc(clauses, func(c LoggedModelClause) bool { return c.Entity == "metric" })
	var out []*store.LoggedModel
	for _, m := range models {
		if len(q.Datasets) > 0 && !hasMetric &&
			!slices.ContainsFunc(m.Metrics, func(x store.LoggedModelMetric) bool { return lmOnDatasetSQL(x, q.Datasets) }) {
			continue
		}
		ok, err := SQLLoggedModels.Match(clauses, q.Datasets, m)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, m)
		}
	}
	sortLMSQL(out, keys)
	page, next, err := pageLMSQL(out, q, off, size)
	if err != nil {
		return nil, err
	}
	return &store.LoggedModelPage{Models: page, NextPageToken: next}, nil
}
