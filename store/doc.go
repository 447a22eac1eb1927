// Package store defines the contract every mlrun backend implements: the
// tracking entities (experiments, runs, metrics, params, tags, dataset
// inputs), MLflow's validation rules and limits, and the error kinds that map
// to MLflow's error codes.
//
// Backends live in their own packages (fsstore for an mlruns directory,
// sqlstore for an MLflow SQLite database) and are checked by one conformance
// suite, store/storetest, so that they behave the same.
//
// # Errors
//
// Every error a backend returns for a bad request wraps one of the sentinel
// errors below, so callers test the kind with errors.Is and MLflow's code with
// [Code]:
//
//	ErrNotFound          RESOURCE_DOES_NOT_EXIST
//	ErrAlreadyExists     RESOURCE_ALREADY_EXISTS
//	ErrInvalidParameter  INVALID_PARAMETER_VALUE
//	ErrInvalidState      INVALID_STATE
//	ErrCorrupt           INTERNAL_ERROR (malformed data on disk; the message names the file)
//	ErrLocked            INTERNAL_ERROR (a lock could not be taken in time)
//	ErrClosed            INTERNAL_ERROR (the store was closed)
//	ErrReadOnly          INVALID_STATE (a write to a store opened read-only; a kind of ErrInvalidState)
//
// # Validation
//
// The backends check every request with the functions of this package
// before their first write, so that both refuse the same requests with the
// same errors: MLflow's limits and name rules, valid UTF-8 in every string
// (MLflow cannot read back an entity holding an invalid one), experiment
// artifact locations MLflow can use ([ExperimentArtifactLocation]), and a
// non-nil context ([CheckContext]).
package store
