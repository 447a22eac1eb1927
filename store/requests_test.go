package store

import (
	"errors"
	"testing"
)

func TestValidateRequests(t *testing.T) {
	if err := ValidateCreateLoggedModel(CreateLoggedModelRequest{Name: "m"}); err != nil {
		t.Errorf("valid request: %v", err)
	}
	for _, bad := range []CreateLoggedModelRequest{
		{Name: "a/b"}, {SourceRunID: "../r"},
		{Params: []Param{{Key: "../p"}}}, {Tags: []Tag{{Key: ""}}},
	} {
		if err := ValidateCreateLoggedModel(bad); !errors.Is(err, ErrInvalidParameter) {
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
