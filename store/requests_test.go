package store

import (
	"errors"
	"testing"
)

func TestValidateRequests(t *testing.T) {
	if id, err := ValidateCreateLoggedModel(CreateLoggedModelRequest{Name: "m"}); err != nil || id != DefaultExperimentID {
		t.Errorf("default experiment: %q, %v", id, err)
	}
	for _, bad := range []CreateLoggedModelRequest{
		{ExperimentID: "../x"}, {Name: "a/b"}, {SourceRunID: "../r"},
		{Params: []Param{{Key: "../p"}}}, {Tags: []Tag{{Key: ""}}},
	} {
		if _, err := ValidateCreateLoggedModel(bad); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	neg := int64(-1)
	for _, bad := range []RunUpdate{{Status: 9}, {RunName: string([]byte{0xff})}, {EndTime: &neg}} {
		if err := ValidateRunUpdate(NewRunID(), bad); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if err := ValidateRunUpdate("../x", RunUpdate{}); !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("bad run id: %v", err)
	}
	if err := ValidateRunUpdate(NewRunID(), RunUpdate{Status: StatusFinished, RunName: "ok"}); err != nil {
		t.Error(err)
	}
}
