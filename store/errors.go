package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
)

// Sentinel error kinds. Backends wrap them, so test with errors.Is.
var (
	// ErrNotFound is returned when an experiment, run, metric or other
	// resource does not exist. MLflow code RESOURCE_DOES_NOT_EXIST.
	ErrNotFound = errors.New("resource does not exist")

	// ErrAlreadyExists is returned when creating a resource whose unique
	// name is taken. MLflow code RESOURCE_ALREADY_EXISTS.
	ErrAlreadyExists = errors.New("resource already exists")

	// ErrInvalidParameter is returned for a request that MLflow would
	// reject as malformed: a bad key, an over-long value, a changed param,
	// a batch over the limits. MLflow code INVALID_PARAMETER_VALUE.
	ErrInvalidParameter = errors.New("invalid parameter value")

	// ErrInvalidState is returned when a resource is not in a state that
	// allows the operation: logging to a finished or deleted run, restoring
	// an active experiment. MLflow code INVALID_STATE.
	ErrInvalidState = errors.New("invalid state")

	// ErrCorrupt is returned when data on disk cannot be parsed. The error
	// message names the file or table. MLflow code INTERNAL_ERROR.
	ErrCorrupt = errors.New("corrupt store data")

	// ErrLocked is returned when a lock on the store could not be taken
	// before the deadline. MLflow code INTERNAL_ERROR.
	ErrLocked = errors.New("store is locked")

	// ErrClosed is returned by a store after Close. MLflow code INTERNAL_ERROR.
	ErrClosed = errors.New("store is closed")

	// ErrReadOnly is returned by every write method of a store opened
	// read-only (fsstore.Options.ReadOnly, sqlstore.Options.ReadOnly). It
	// is a kind of ErrInvalidState: errors.Is(err, ErrInvalidState) holds
	// too, and its MLflow code is INVALID_STATE.
	ErrReadOnly error = &Error{Kind: ErrInvalidState, Msg: "store is opened read-only"}
)

// ReadOnlyf returns an ErrReadOnly error with a formatted message naming
// the store and what was refused.
func ReadOnlyf(format string, args ...any) error { return Errorf(ErrReadOnly, format, args...) }

// NoStoreAt returns the error of opening, read-only, a store that does
// not exist: "no MLflow store at <path>", wrapping ErrNotFound and
// fs.ErrNotExist.
func NoStoreAt(path string) error {
	return Errorf(ErrNotFound, "no MLflow store at %s: %w", path, fs.ErrNotExist)
}

// CheckContext returns ctx.Err(), or an ErrInvalidParameter error for a
// nil ctx, which every store method refuses rather than panicking on.
func CheckContext(ctx context.Context) error {
	if ctx == nil {
		return Invalidf("nil context: pass context.Background() or a request's context")
	}
	return ctx.Err()
}

// Error is an error of a known kind with a human-readable message in
// MLflow's wording. errors.Is(err, Kind) reports true.
type Error struct {
	Kind error  // one of the sentinel errors above
	Msg  string // the message, without the kind
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the kind, so errors.Is(err, store.ErrNotFound) works.
func (e *Error) Unwrap() error { return e.Kind }

// Errorf returns an *Error of the given kind with a formatted message.
// A %w verb in format wraps that error as well.
func Errorf(kind error, format string, args ...any) error {
	wrapped := fmt.Errorf(format, args...)
	if errors.Unwrap(wrapped) != nil {
		return &wrappedError{kind: kind, msg: wrapped.Error(), cause: errors.Unwrap(wrapped)}
	}
	return &Error{Kind: kind, Msg: wrapped.Error()}
}

// wrappedError is an error of a kind that also wraps the cause given with %w.
type wrappedError struct {
	kind  error
	msg   string
	cause error
}

func (e *wrappedError) Error() string   { return e.msg }
func (e *wrappedError) Unwrap() []error { return []error{e.kind, e.cause} }

// NotFoundf returns an ErrNotFound error with a formatted message.
func NotFoundf(format string, args ...any) error { return Errorf(ErrNotFound, format, args...) }

// AlreadyExistsf returns an ErrAlreadyExists error with a formatted message.
func AlreadyExistsf(format string, args ...any) error {
	return Errorf(ErrAlreadyExists, format, args...)
}

// Invalidf returns an ErrInvalidParameter error with a formatted message.
func Invalidf(format string, args ...any) error {
	return Errorf(ErrInvalidParameter, format, args...)
}

// InvalidStatef returns an ErrInvalidState error with a formatted message.
func InvalidStatef(format string, args ...any) error {
	return Errorf(ErrInvalidState, format, args...)
}

// Corruptf returns an ErrCorrupt error with a formatted message; the message
// should name the file or table that could not be read.
func Corruptf(format string, args ...any) error { return Errorf(ErrCorrupt, format, args...) }

// Code returns the MLflow error code for err: RESOURCE_DOES_NOT_EXIST,
// RESOURCE_ALREADY_EXISTS, INVALID_PARAMETER_VALUE, INVALID_STATE, or
// INTERNAL_ERROR for anything else. It returns "" for a nil error.
func Code(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNotFound):
		return "RESOURCE_DOES_NOT_EXIST"
	case errors.Is(err, ErrAlreadyExists):
		return "RESOURCE_ALREADY_EXISTS"
	case errors.Is(err, ErrInvalidParameter):
		return "INVALID_PARAMETER_VALUE"
	case errors.Is(err, ErrInvalidState):
		return "INVALID_STATE"
	default:
		return "INTERNAL_ERROR"
	}
}
