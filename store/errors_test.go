package store

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestErrReadOnly(t *testing.T) {
	err := ReadOnlyf("store %s was opened read-only", "x")
	if !errors.Is(err, ErrReadOnly) || !errors.Is(err, ErrInvalidState) || errors.Is(err, ErrInvalidParameter) {
		t.Errorf("ReadOnlyf: Is(ErrReadOnly)=%v Is(ErrInvalidState)=%v", errors.Is(err, ErrReadOnly), errors.Is(err, ErrInvalidState))
	}
	if got := Code(err); got != "INVALID_STATE" {
		t.Errorf("Code = %s, want INVALID_STATE", got)
	}
	if err.Error() != "store x was opened read-only" {
		t.Errorf("message %q", err)
	}
}

func TestNoStoreAt(t *testing.T) {
	err := NoStoreAt("/a/b")
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "no MLflow store at /a/b") {
		t.Errorf("NoStoreAt = %v", err)
	}
}

func TestCheckContext(t *testing.T) {
	var nilCtx context.Context
	if err := CheckContext(nilCtx); !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("CheckContext(nil) = %v", err)
	}
	if err := CheckContext(context.Background()); err != nil {
		t.Errorf("CheckContext(Background) = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := CheckContext(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("CheckContext(canceled) = %v", err)
	}
}
