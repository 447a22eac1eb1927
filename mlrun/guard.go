package mlrun

import (
	"context"

	"github.com/mlrun-go/mlrun/store"
)

// Misuse is an error, never a panic: every method of Client and Run
// checks its receiver (nil, or a zero value not made by Open, StartRun or
// ResumeRun) and its context (nil) first, and returns an error wrapping
// store.ErrInvalidParameter.

// ready checks a Client and the context of a call on it.
func (c *Client) ready(ctx context.Context) error {
	if err := c.valid(); err != nil {
		return err
	}
	if ctx == nil {
		return store.Invalidf("mlrun: nil context.Context (use context.Background())")
	}
	return nil
}

// valid checks a Client for the methods that take no context.
func (c *Client) valid() error {
	if c == nil || c.store == nil {
		return store.Invalidf("mlrun: the *Client is nil or was not made by mlrun.Open")
	}
	return nil
}

// ready checks a Run and the context of a call on it.
func (r *Run) ready(ctx context.Context) error {
	if r == nil || r.c == nil || r.id == "" {
		return store.Invalidf("mlrun: the *Run is nil or was not made by StartRun or ResumeRun")
	}
	return r.c.ready(ctx)
}

// keep records err as the run's first logging error if it is the first
// (see Run.Err) and returns it. Logging methods call it on their result:
//
//	func (r *Run) LogX(ctx context.Context, ...) (err error) {
//		defer r.keep(&err)
func (r *Run) keep(errp *error) {
	if *errp == nil || r == nil {
		return
	}
	r.mu.Lock()
	if r.err == nil {
		r.err = *errp
	}
	r.mu.Unlock()
}

// Err returns the first error a logging method of the run returned, or
// nil: the sticky error that End also returns. A training loop may log
// without checking each call and check Err (or End's result) once.
// Methods that only read (Get, ID, ...) and End itself do not set it. For
// a run that logs asynchronously it includes the first failed write of
// the queue written so far (see [Run.Flush]).
func (r *Run) Err() error {
	if r == nil || r.c == nil {
		return store.Invalidf("mlrun: the *Run is nil or was not made by StartRun or ResumeRun")
	}
	r.mu.Lock()
	err := r.err
	r.mu.Unlock()
	if err == nil && r.async != nil {
		err = r.async.firstErr()
	}
	return err
}
