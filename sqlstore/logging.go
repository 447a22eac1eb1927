package sqlstore

import (
	"context"
	"database/sql"
	"math"
	"math/bits"
	"slices"
	"strings"

	"github.com/mlrun-go/mlrun/internal/pystr"

	"github.com/mlrun-go/mlrun/store"
)

// maxFloat is what MLflow's SQL store writes for ±Inf
// (SqlAlchemyStore.sanitize_metric_value).
const maxFloat = 1.7976931348623157e308

// sanitize returns the value and is_nan flag MLflow's SQL store writes for a
// metric value: NaN is stored as 0 with is_nan = 1 (SQLite would turn a NaN
// into NULL), ±Inf as ±1.7976931348623157e308. SQLite itself stores -0.0 as
// 0 (a REAL column keeps an integral value as an integer), so -0.0 reads
// back as 0.0, in Go as in Python.
func sanitize(v float64) (value float64, isNaN bool) {
	switch {
	case math.IsNaN(v):
		return 0, true
	case math.IsInf(v, 1):
		return maxFloat, false
	case math.IsInf(v, -1):
		return -maxFloat, false
	}
	return v, false
}

// readBack returns m as the store reads it back after logging it: its
// value sanitized and unsanitized, and -0.0 as 0.0.
func readBack(m store.Metric) store.Metric {
	m.Value = unsanitize(sanitize(m.Value))
	if m.Value == 0 {
		m.Value = 0 // -0.0 too
	}
	return m
}

// unsanitize returns the metric value of a stored (value, is_nan) pair, as
// SqlMetric.to_mlflow_entity does: NaN if is_nan, else the value (so an
// infinity reads back as ±1.7976931348623157e308).
func unsanitize(value float64, isNaN bool) float64 {
	if isNaN {
		return math.NaN()
	}
	return value
}

// row is a metric point as stored: sanitized value and is_nan.
type row struct {
	key       string
	value     float64
	timestamp int64
	step      int64
	isNaN     bool
}

// newer reports whether a replaces b as the latest point of a key, as
// _update_latest_metrics_if_necessary decides: (step, timestamp, value) of
// the stored rows compared as Python tuples, strictly. The values compared
// are the sanitized ones, so a NaN counts as 0 and an infinity as
// ±1.7976931348623157e308 (MLflow's file store compares the raw values
// instead; see store.Supersedes).
func newer(a, b row) bool {
	if a.step != b.step {
		return a.step > b.step
	}
	if a.timestamp != b.timestamp {
		return a.timestamp > b.timestamp
	}
	return a.value > b.value
}

// LogBatch logs metrics, params and tags to an active run in ONE
// transaction: either all of the batch is written or none of it (MLflow's
// SQL store writes params, metrics and tags in separate transactions).
//
// As in MLflow's SQL store: a param already logged with the same value is
// skipped and one with another value fails the batch
// (store.ErrInvalidParameter); a metric point identical to one already
// stored (same key, timestamp, step and stored value) is dropped, since it
// is the primary key of the metrics table; latest_metrics is updated with
// the rule of [newer]; tags are upserted, the last of repeated keys
// winning, and a non-empty mlflow.runName tag also renames the run (an
// empty one is ignored, as update_run_info ignores an empty name).
func (s *Store) LogBatch(ctx context.Context, runID string, metrics []store.Metric, params []store.Param, tags []store.Tag) error {
	if err := s.enterWrite(ctx, store.ValidateLogBatch(runID, metrics, params, tags)); err != nil {
		return err
	}
	defer s.leave()
	for _, p := range params {
		if err := s.checkLength("params", "value", p.Key, p.Value); err != nil {
			return err
		}
	}
	if err := s.checkTagLengths("tags", tags); err != nil {
		return err
	}
	rows := make([]row, len(metrics))
	for i, m := range metrics {
		v, isNaN := sanitize(m.Value)
		rows[i] = row{key: m.Key, value: v, timestamp: m.Timestamp, step: m.Step, isNaN: isNaN}
	}
	return s.write(ctx, "log batch", func(tx *sql.Tx) error {
		if len(rows) == 1 && len(params) == 0 && len(tags) == 0 {
			// One point (log_metric): insert it only if the run is
			// active, which saves the separate run lookup. Nothing
			// inserted means an inactive or missing run, or a point
			// already stored: the general path below tells which.
			done, err := s.logPointIfActive(ctx, tx, runID, rows[0])
			if err != nil || done {
				return err
			}
		}
		if _, err := s.activeRun(ctx, tx, runID); err != nil {
			return err
		}
		if err := s.logParams(ctx, tx, runID, params); err != nil {
			return err
		}
		if err := s.logMetrics(ctx, tx, runID, rows); err != nil {
			return err
		}
		return s.setTags(ctx, tx, runID, tags)
	})
}

// logPointIfActive inserts one metric point and brings latest_metrics up
// to date if the run exists and is active, and reports whether it did.
func (s *Store) logPointIfActive(ctx context.Context, tx *sql.Tx, runID string, r row) (bool, error) {
	st, err := s.txStmt(ctx, tx, "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "+
		"SELECT ?, ?, ?, run_uuid, ?, ? FROM runs WHERE run_uuid = ? AND lifecycle_stage = 'active' ON CONFLICT DO NOTHING")
	if err != nil {
		return false, err
	}
	res, err := st.ExecContext(ctx, r.key, r.value, r.timestamp, r.step, boolInt(r.isNaN), runID)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	return true, s.upsertLatest(ctx, tx, runID, []string{r.key}, []row{r})
}

// logParams inserts the params not yet logged and fails if one was logged
// with another value.
func (s *Store) logParams(ctx context.Context, tx *sql.Tx, runID string, params []store.Param) error {
	if len(params) == 0 {
		return nil
	}
	keys := make([]string, len(params))
	for i, p := range params {
		keys[i] = p.Key
	}
	existing := map[string]string{}
	err := s.queryKeys(ctx, tx, "SELECT key, value FROM params WHERE run_uuid = ? AND key IN", runID, keys, func(rows *sql.Rows) error {
		var k string
		var v sql.NullString
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		existing[k] = v.String
		return nil
	})
	if err != nil {
		return err
	}
	var conflicts []string
	var fresh []any
	for _, p := range params {
		old, ok := existing[p.Key]
		switch {
		case !ok:
			fresh = append(fresh, p.Key, p.Value, runID)
		case old != p.Value:
			conflicts = append(conflicts, "{'key': "+pystr.Repr(p.Key)+", 'old_value': "+pystr.Repr(old)+", 'new_value': "+pystr.Repr(p.Value)+"}")
		}
	}
	if len(conflicts) > 0 {
		return store.Invalidf("Changing param values is not allowed. Params were already logged='[%s]' for run ID='%s'.", strings.Join(conflicts, ", "), runID)
	}
	return s.insertRows(ctx, tx, "INSERT INTO params (key, value, run_uuid) VALUES ", "(?, ?, ?)", "", 3, fresh)
}

// logMetrics inserts metric points and brings latest_metrics up to date
// with one conditional upsert per key.
func (s *Store) logMetrics(ctx context.Context, tx *sql.Tx, runID string, rows []row) error {
	if len(rows) == 0 {
		return nil
	}
	var keys []string
	seen := map[string]bool{}
	for _, r := range rows {
		if !seen[r.key] {
			seen[r.key] = true
			keys = append(keys, r.key)
		}
	}
	// Insert the points grouped by key (each key's points in logging
	// order): consecutive inserts then land next to each other in the
	// metric_pk and (run_uuid, key, step) indexes, which makes a large
	// batch about a third cheaper. History is per key, so its order
	// (rowid order within a key) is unchanged.
	sorted := slices.Clone(rows)
	slices.SortStableFunc(sorted, func(a, b row) int { return strings.Compare(a.key, b.key) })
	args := make([]any, 0, 6*len(rows))
	for _, r := range sorted {
		args = append(args, r.key, r.value, r.timestamp, runID, r.step, boolInt(r.isNaN))
	}
	// A point equal to a stored one (the whole primary key) is dropped, as
	// MLflow does after its IntegrityError. It cannot change the latest
	// point: it was compared when it was first logged.
	err := s.insertRows(ctx, tx, "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES ",
		"(?, ?, ?, ?, ?, ?)", " ON CONFLICT DO NOTHING", 6, args)
	if err != nil {
		return err
	}

	return s.upsertLatest(ctx, tx, runID, keys, rows)
}

// upsertLatest brings latest_metrics up to date with the points of rows,
// whose distinct keys are keys.
func (s *Store) upsertLatest(ctx context.Context, tx *sql.Tx, runID string, keys []string, rows []row) error {
	// The latest point of each key in the batch, in Go: the first of the
	// greatest, as MLflow folds a batch in logging order.
	best := make(map[string]row, len(keys))
	for _, r := range rows {
		if cur, ok := best[r.key]; !ok || newer(r, cur) {
			best[r.key] = r
		}
	}
	// One upsert per key, which replaces the stored row only if the
	// batch's point is strictly newer, with the same (step, timestamp,
	// value) comparison done by SQLite on the stored values: folding the
	// stored row and then the batch gives the stored row on a tie, as
	// MLflow's loop over the points does.
	up := make([]any, 0, 6*len(keys))
	for _, k := range keys {
		r := best[k]
		up = append(up, r.key, r.value, r.timestamp, r.step, boolInt(r.isNaN), runID)
	}
	return s.insertRows(ctx, tx, "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES ",
		"(?, ?, ?, ?, ?, ?)", " ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value, "+
			"timestamp = excluded.timestamp, step = excluded.step, is_nan = excluded.is_nan "+
			"WHERE (excluded.step, excluded.timestamp, excluded.value) > "+
			"(latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)", 6, up)
}

// setTags upserts run tags in order; mlflow.runName renames the run.
func (s *Store) setTags(ctx context.Context, tx *sql.Tx, runID string, tags []store.Tag) error {
	if len(tags) == 0 {
		return nil
	}
	st, err := s.txStmt(ctx, tx, upsertTagSQL)
	if err != nil {
		return err
	}
	for _, t := range tags {
		if t.Key == store.RunNameTag {
			if t.Value != "" {
				if err := s.setRunName(ctx, tx, runID, t.Value); err != nil {
					return err
				}
			}
			continue
		}
		if _, err := st.ExecContext(ctx, t.Key, t.Value, runID); err != nil {
			return err
		}
	}
	return nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// maxRowsPerInsert bounds the rows of one multi-row INSERT.
const maxRowsPerInsert = 128

// insertRows executes prefix + "tuple, tuple, ..." + suffix over args,
// which holds width values per row, in multi-row statements of 128, 64,
// ..., 1 rows, so that at most eight statement texts are ever prepared per
// table.
func (s *Store) insertRows(ctx context.Context, tx *sql.Tx, prefix, tuple, suffix string, width int, args []any) error {
	for len(args) > 0 {
		n := min(len(args)/width, maxRowsPerInsert)
		n = 1 << (bits.Len(uint(n)) - 1) // largest power of two <= n
		q := prefix + strings.Repeat(tuple+", ", n-1) + tuple + suffix
		st, err := s.txStmt(ctx, tx, q)
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx, args[:n*width]...); err != nil {
			return err
		}
		args = args[n*width:]
	}
	return nil
}

// queryKeys runs prefix + " (?, ...)" with the run id and the keys as
// arguments and calls scan for each row. The IN list is padded to a power
// of two by repeating the last key, so that few statement texts are
// prepared.
func (s *Store) queryKeys(ctx context.Context, tx *sql.Tx, prefix, runID string, keys []string, scan func(*sql.Rows) error) error {
	for len(keys) > 0 {
		n := min(len(keys), maxInArgs)
		size := 1 << bits.Len(uint(n-1)) // smallest power of two >= n
		args := make([]any, 0, size+1)
		args = append(args, runID)
		for i := range size {
			args = append(args, keys[min(i, n-1)])
		}
		st, err := s.txStmt(ctx, tx, prefix+" ("+placeholders(size)+")")
		if err != nil {
			return err
		}
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// GetMetricHistory returns every stored point of a metric in logging
// order (the order of the rows in the metrics table). MLflow 3's
// get_metric_history returns the same points sorted by (timestamp, step,
// value) instead. NaN points read as NaN, infinite ones as
// ±1.7976931348623157e308 (see sanitize).
func (s *Store) GetMetricHistory(ctx context.Context, runID, key string) ([]store.Metric, error) {
	if err := s.enter(ctx, store.ValidateGetMetricHistory(runID, key)); err != nil {
		return nil, err
	}
	defer s.leave()
	var out []store.Metric
	err := s.read(ctx, "get metric history", func(tx *sql.Tx) error {
		if _, err := s.runState(ctx, tx, runID); err != nil {
			return err
		}
		st, err := s.txStmt(ctx, tx, "SELECT value, timestamp, step, is_nan FROM metrics WHERE run_uuid = ? AND key = ? ORDER BY rowid")
		if err != nil {
			return err
		}
		rows, err := st.QueryContext(ctx, runID, key)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = out[:0]
		for rows.Next() {
			var value float64
			var ts, step int64
			var isNaN bool
			if err := rows.Scan(&value, &ts, &step, &isNaN); err != nil {
				return err
			}
			out = append(out, store.Metric{Key: key, Value: unsanitize(value, isNaN), Timestamp: ts, Step: step})
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []store.Metric{}
	}
	return out, nil
}
