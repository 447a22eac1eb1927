package mlrun

import "errors"

// WithReadOnly opens the tracking store for reading only, as on read-only
// media, a store another user owns, or an archive: [Open] creates nothing
// and takes no lock (fsstore.Options.ReadOnly, sqlstore.Options.ReadOnly),
// reads work as usual, and every write (SetExperiment creating an
// experiment, StartRun, logging, registry changes) fails with an error
// wrapping store.ErrReadOnly. A store that does not exist is an error
// wrapping store.ErrNotFound that says "no MLflow store at <path>". It
// cannot be combined with [WithStore], whose store is opened already.
func WithReadOnly() Option {
	return func(c *config) error {
		c.readOnly = true
		return nil
	}
}

var errWithStoreReadOnly = errors.New("mlrun: WithReadOnly cannot apply to the store given with WithStore (open that store read-only instead)")
