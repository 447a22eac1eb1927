package store

import (
	"errors"
	"strings"
	"testing"
)

// TestRequestChecks covers the whole-request checks of requests.go: each
// reports its first problem, in the documented order.
func TestRequestChecks(t *testing.T) {
	run := NewRunID()
	bad := "../x"
	for _, c := range []struct {
		name string
		err  error
		want string // "" for success, else a part of the message
	}{
		{"bad experiment", second(ExperimentIDOrDefault(bad)), "Invalid experiment ID"},
		{"experiment ids", ValidateExperimentIDs([]string{"1", bad, ""}), "Invalid experiment ID: '../x'"},
		{"no experiment ids", ValidateExperimentIDs(nil), ""},
		{"delete default", ValidateDeleteExperiment(DefaultExperimentID), "Cannot delete the default experiment"},
		{"delete bad id", ValidateDeleteExperiment(bad), "Invalid experiment ID"},
		{"delete", ValidateDeleteExperiment("7"), ""},
		{"batch run id first", ValidateLogBatch(bad, []Metric{{Key: bad}}, nil, nil), "run_id"},
		{"batch", ValidateLogBatch(run, []Metric{{Key: bad}}, nil, nil), "'name'"},
		{"delete tag run id first", ValidateDeleteTag(bad, ""), "run_id"},
		{"delete tag key", ValidateDeleteTag(run, ""), "'key'"},
		{"history run id first", ValidateGetMetricHistory(bad, ""), "run_id"},
		{"history key", ValidateGetMetricHistory(run, "m"), ""},
		{"status", ValidateLoggedModelStatus(LoggedModelStatus(99)), "Unknown model status: 99"},
		{"status ok", ValidateLoggedModelStatus(0), ""},
	} {
		switch {
		case c.want == "" && c.err != nil:
			t.Errorf("%s: %v", c.name, c.err)
		case c.want != "" && (!errors.Is(c.err, ErrInvalidParameter) || !strings.Contains(strings.ToLower(c.err.Error()), strings.ToLower(c.want))):
			t.Errorf("%s: %v, want ErrInvalidParameter about %q", c.name, c.err, c.want)
		}
	}

	if id, err := ExperimentIDOrDefault(""); id != DefaultExperimentID || err != nil {
		t.Errorf("ExperimentIDOrDefault(\"\") = %q, %v", id, err)
	}
	expID, name, tags, err := ValidateCreateRun(CreateRunRequest{RunName: "r"})
	if err != nil || expID != DefaultExperimentID || name != "r" || len(tags) != 1 || tags[0] != (Tag{Key: RunNameTag, Value: "r"}) {
		t.Errorf("ValidateCreateRun = %q %q %v %v", expID, name, tags, err)
	}
	if _, _, _, err := ValidateCreateRun(CreateRunRequest{ExperimentID: bad, RunName: string([]byte{0xff})}); err == nil || !strings.Contains(err.Error(), "experiment ID") {
		t.Errorf("ValidateCreateRun checks the experiment id first: %v", err)
	}
}

func second(_ string, err error) error { return err }
