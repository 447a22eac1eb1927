package store

// This file holds the stateless checks of whole requests that both
// backends (fsstore, sqlstore) make before touching their data, one
// function per request where the request needs more than one check. A
// backend passes their errors to its entry gate, so that each method
// starts with one call and both backends refuse a request with the same
// error (see internal/storegate).

// ExperimentIDOrDefault returns the experiment a create request names, ""
// meaning the Default experiment (DefaultExperimentID), after checking
// that it could name an experiment.
func ExperimentIDOrDefault(id string) (string, error) {
	if id == "" {
		id = DefaultExperimentID
	}
	return id, ValidateExperimentID(id)
}

// ValidateExperimentIDs checks the experiment ids a search names, in
// order.
func ValidateExperimentIDs(ids []string) error {
	for _, id := range ids {
		if err := ValidateExperimentID(id); err != nil {
			return err
		}
	}
	return nil
}

// ValidateCreateRun checks a CreateRun request: the experiment id (""
// meaning the Default experiment), the user id and the tags, and returns
// the experiment id, the run's name and its tags as RunNameAndTags decides
// them.
func ValidateCreateRun(req CreateRunRequest) (expID, name string, tags []Tag, err error) {
	if expID, err = ExperimentIDOrDefault(req.ExperimentID); err != nil {
		return expID, "", nil, err
	}
	name, tags, err = req.RunNameAndTags()
	return expID, name, tags, err
}

// ValidateDeleteExperiment checks a DeleteExperiment request: the Default
// experiment is reserved and cannot be deleted, as in MLflow, and the id
// must be one an experiment could have.
func ValidateDeleteExperiment(id string) error {
	if id == DefaultExperimentID {
		return Invalidf("Cannot delete the default experiment '%s'. This is an internally reserved experiment.", DefaultExperimentID)
	}
	return ValidateExperimentID(id)
}

// ValidateLogBatch checks a LogBatch request before anything is written:
// the run id, then the batch (see ValidateBatch).
func ValidateLogBatch(runID string, metrics []Metric, params []Param, tags []Tag) error {
	if err := ValidateRunID(runID); err != nil {
		return err
	}
	return ValidateBatch(metrics, params, tags)
}

// ValidateDeleteTag checks a DeleteTag request: the run id, then the key.
func ValidateDeleteTag(runID, key string) error {
	if err := ValidateRunID(runID); err != nil {
		return err
	}
	return ValidateTag(Tag{Key: key})
}

// ValidateGetMetricHistory checks a GetMetricHistory request: the run id,
// then the metric key.
func ValidateGetMetricHistory(runID, key string) error {
	if err := ValidateRunID(runID); err != nil {
		return err
	}
	return ValidateMetric(Metric{Key: key})
}

// ValidateLoggedModelStatus checks the status FinalizeLoggedModel sets.
func ValidateLoggedModelStatus(status LoggedModelStatus) error {
	if !status.Valid() {
		return Invalidf("Unknown model status: %d", int(status))
	}
	return nil
}
