package storegate

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/store"
)

func TestEnterOrder(t *testing.T) {
	bg := context.Background()
	bad := store.Invalidf("bad request")
	canceled, cancel := context.WithCancel(bg)
	cancel()

	g := New("teststore", "/x", true)
	var nilCtx context.Context
	if err := g.Enter(nilCtx, bad); !errors.Is(err, store.ErrInvalidParameter) || err == bad {
		t.Errorf("nil ctx: %v", err)
	}
	if err := g.Enter(canceled, bad); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled ctx: %v", err)
	}
	if err := g.EnterWrite(bg, bad); !errors.Is(err, store.ErrReadOnly) || err.Error() != "teststore: store /x was opened read-only (Options.ReadOnly)" {
		t.Errorf("write on read-only: %v", err)
	}
	if err := g.Enter(bg, nil, bad, store.Invalidf("second")); err != bad {
		t.Errorf("checks: got %v, want the first non-nil one", err)
	}
	if err := g.Enter(bg, nil); err != nil {
		t.Fatalf("read on read-only: %v", err)
	}
	g.Leave()

	released := 0
	if err := g.Close(func() error { released++; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(func() error { released++; return errors.New("twice") }); err != nil || released != 1 {
		t.Errorf("second Close: %v, release ran %d times", err, released)
	}
	if err := g.Enter(bg, bad); !errors.Is(err, store.ErrClosed) || err.Error() != "teststore: store /x is closed" {
		t.Errorf("after Close: %v", err)
	}
}

// TestCloseWaits checks that Close waits for the methods in flight.
func TestCloseWaits(t *testing.T) {
	g := New("teststore", "/x", false)
	if err := g.EnterWrite(context.Background()); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() {
		_ = g.Close(func() error { return nil })
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while a method was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	g.Leave()
	<-closed
}
