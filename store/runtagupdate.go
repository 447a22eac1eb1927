package store

import (
	"context"
	"unicode/utf8"
)

// RunTagUpdater is implemented by a backend that can change a run tag by
// read-modify-write atomically, across goroutines and processes: the file
// store under its run lock, the SQLite store in one transaction. mlrun uses
// it for the tags MLflow's client keeps as JSON lists (mlflow.loggedArtifacts,
// mlflow.log-model.history), which concurrent read-then-set would lose
// entries of.
type RunTagUpdater interface {
	// UpdateRunTag reads the tag key of an active run (old, and ok false
	// when the run has no such tag), calls fn, and sets the tag to the
	// value fn returns, all while no other UpdateRunTag of that run can
	// run. An error of fn is returned as it is and nothing is written; a
	// value equal to the old one writes nothing. fn may be called more than
	// once (a busy database retries the transaction), so it must have no
	// side effects, and it must not call the store.
	//
	// The key is validated as a run tag key; mlflow.runName, which also
	// names the run, is ErrInvalidParameter (use LogBatch). The new value
	// must be valid UTF-8 but its length is NOT limited to
	// MaxTagValueLength: MLflow's record_logged_model writes
	// mlflow.log-model.history at any length, and callers that need the
	// limit check it in fn. An unknown run is ErrNotFound, a deleted one
	// ErrInvalidState.
	UpdateRunTag(ctx context.Context, runID, key string, fn func(old string, ok bool) (string, error)) error
}

// ValidateRunTagUpdate checks the arguments of UpdateRunTag before
// anything is read.
func ValidateRunTagUpdate(runID, key string, fn func(string, bool) (string, error)) error {
	if err := ValidateRunID(runID); err != nil {
		return err
	}
	if err := ValidateTag(Tag{Key: key}); err != nil {
		return err
	}
	if key == RunNameTag {
		return Invalidf("UpdateRunTag cannot change %s, which also names the run; set it with LogBatch", key)
	}
	if fn == nil {
		return Invalidf("UpdateRunTag: the update function must not be nil")
	}
	return nil
}

// ValidateRunTagValue checks a value UpdateRunTag's function returned:
// valid UTF-8, of any length.
func ValidateRunTagValue(key, value string) error {
	if !utf8.ValidString(value) {
		return Invalidf("Tag value for %q must be valid UTF-8", key)
	}
	return nil
}

// ApplyRunTagUpdate runs an UpdateRunTag function on the tag's current
// value (ok: the tag exists) and returns the value to write; write is false
// when the tag exists and fn keeps it unchanged. Backends call it between
// reading and writing the tag, inside their lock or transaction.
func ApplyRunTagUpdate(key, old string, ok bool, fn func(old string, ok bool) (string, error)) (value string, write bool, err error) {
	v, err := fn(old, ok)
	if err != nil {
		return "", false, err
	}
	if ok && v == old {
		return v, false, nil
	}
	if err := ValidateRunTagValue(key, v); err != nil {
		return "", false, err
	}
	return v, true, nil
}
