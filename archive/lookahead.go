package archive

// stream is an entity stream (an archive's or a store's) read with one
// item of lookahead, as import and sync read it.
type stream struct {
	next func() (item, error, bool)
	held *item // an item peeked at and not yet taken
	herr error // its error
}

// start reads from next, dropping anything held.
func (s *stream) start(next func() (item, error, bool)) {
	s.next, s.held, s.herr = next, nil, nil
}

// take returns the next item; ok is false at the end of the stream.
func (s *stream) take() (item, error, bool) {
	if s.held != nil {
		it, err := *s.held, s.herr
		s.held, s.herr = nil, nil
		return it, err, true
	}
	return s.next()
}

// peek returns the next item without taking it.
func (s *stream) peek() (item, error, bool) {
	if s.held == nil {
		it, err, ok := s.next()
		if !ok {
			return item{}, nil, false
		}
		s.held, s.herr = &it, err
	}
	return *s.held, s.herr, true
}

// takeMetrics takes the next item if it is a metrics record of run runID
// and returns it; at any other item (left in place) or the end it returns
// nil. A stream error, or metrics of another run, is an error.
func (s *stream) takeMetrics(runID string) (*metricsRec, error) {
	it, err, ok := s.peek()
	switch {
	case err != nil:
		s.take()
		return nil, err
	case !ok || it.rec == nil || it.rec.Kind != kindMetrics:
		return nil, nil
	}
	s.take()
	if m := it.rec.Metrics; m.RunID != runID {
		return nil, badf("metrics of run %s inside run %s", m.RunID, runID)
	}
	return it.rec.Metrics, nil
}

// takeFile takes the next item if it is an artifact file and returns it;
// at any other item (left in place) or the end it returns nil.
func (s *stream) takeFile() (*file, error) {
	it, err, ok := s.peek()
	switch {
	case err != nil:
		s.take()
		return nil, err
	case !ok || it.file == nil:
		return nil, nil
	}
	s.take()
	return it.file, nil
}
