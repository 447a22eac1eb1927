package sqlstore

import (
	"context"
	"database/sql"

	"github.com/mlrun-go/mlrun/store"
)

var _ store.RunTagUpdater = (*Store)(nil)

// UpdateRunTag changes a run tag by read-modify-write in one write
// transaction (see store.RunTagUpdater), which SQLite serializes with every
// other write to the database, from any process. A busy database retries
// the whole transaction, calling fn again.
func (s *Store) UpdateRunTag(ctx context.Context, runID, key string, fn func(old string, ok bool) (string, error)) error {
	if err := s.enterWrite(ctx, store.ValidateRunTagUpdate(runID, key, fn)); err != nil {
		return err
	}
	defer s.leave()
	return s.write(ctx, "update run tag", func(tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, tx, runID); err != nil {
			return err
		}
		var old sql.NullString
		err := tx.QueryRowContext(ctx, "SELECT value FROM tags WHERE run_uuid = ? AND key = ?", runID, key).Scan(&old)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		v, write, err := store.ApplyRunTagUpdate(key, old.String, err == nil, fn) // a NULL value reads as ""
		if err != nil || !write {
			return err
		}
		_, err = tx.ExecContext(ctx, upsertTagSQL, key, v, runID)
		return err
	})
}
