package store

import "cmp"

// ValidateCreateLoggedModel checks a CreateLoggedModelRequest as every
// backend does before writing: the experiment id ("" is Default, which it
// returns), the name if given, the source run id if given, params and tags.
func ValidateCreateLoggedModel(req CreateLoggedModelRequest) (experimentID string, err error) {
	expID := cmp.Or(req.ExperimentID, DefaultExperimentID)
	if err := ValidateExperimentID(expID); err != nil {
		return "", err
	}
	if req.Name != "" {
		if err := ValidateLoggedModelName(req.Name); err != nil {
			return "", err
		}
	}
	if req.SourceRunID != "" {
		if err := ValidateRunID(req.SourceRunID); err != nil {
			return "", err
		}
	}
	for _, p := range req.Params {
		if err := ValidateParam(p); err != nil {
			return "", err
		}
	}
	for _, t := range req.Tags {
		if err := ValidateTag(t); err != nil {
			return "", err
		}
	}
	return expID, nil
}

// ValidateRunUpdate checks the arguments of UpdateRun: the run id, a
// known status (zero leaves it), a valid name (empty leaves it) and a
// non-negative end time.
func ValidateRunUpdate(runID string, u RunUpdate) error {
	if err := ValidateRunID(runID); err != nil {
		return err
	}
	if u.Status != 0 && !u.Status.Valid() {
		return Invalidf("Invalid run status %d", int(u.Status))
	}
	if u.RunName != "" {
		if err := ValidateRunName(u.RunName); err != nil {
			return err
		}
	}
	if u.EndTime != nil && *u.EndTime < 0 {
		return Invalidf("Invalid value %d for parameter 'end_time' supplied.", *u.EndTime)
	}
	return nil
}
