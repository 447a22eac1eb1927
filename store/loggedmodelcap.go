package store

// LoggedModelsCapability is implemented by a backend that has the
// LoggedModels methods but not always the data layout they need (the SQLite
// store: only MLflow 3 schemas have the logged_models tables). On a store
// whose HasLoggedModels reports false, every LoggedModels method fails with
// an error wrapping ErrInvalidState.
type LoggedModelsCapability interface {
	HasLoggedModels() bool
}

// AsLoggedModels returns s's LoggedModels if s implements them and, when it
// also implements LoggedModelsCapability, reports having them. Use it
// rather than a bare type assertion.
func AsLoggedModels(s Store) (LoggedModels, bool) {
	lms, ok := s.(LoggedModels)
	if !ok {
		return nil, false
	}
	if c, ok := s.(LoggedModelsCapability); ok && !c.HasLoggedModels() {
		return nil, false
	}
	return lms, true
}
