package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

// This file calls every exported method of a store through reflection, so
// that a method added later is covered without editing the suite: with a
// nil context (testNilContext) and on a read-only store (RunReadOnly).

var (
	contextType = reflect.TypeFor[context.Context]()
	errorType   = reflect.TypeFor[error]()
)

// ctxMethod is an exported method of a store whose first argument is a
// context.Context and whose last result is an error.
type ctxMethod struct {
	name string
	fn   reflect.Value
}

// ctxMethods lists the context-taking methods of s's concrete type (the
// store.Store, store.LoggedModels and store.Registry methods, and any
// other), sorted by name. It fails the test on an exported method that
// takes a context but does not return an error last.
func ctxMethods(t *testing.T, s any) []ctxMethod {
	t.Helper()
	if ss, ok := s.(*suiteStore); ok {
		s = ss.Store
	}
	v := reflect.ValueOf(s)
	var out []ctxMethod
	for i := range v.NumMethod() {
		m := v.Type().Method(i)
		ft := m.Type // includes the receiver
		if ft.NumIn() < 2 || ft.In(1) != contextType {
			continue
		}
		if ft.NumOut() == 0 || ft.Out(ft.NumOut()-1) != errorType {
			t.Errorf("%T.%s takes a context but does not return an error last", s, m.Name)
			continue
		}
		out = append(out, ctxMethod{name: m.Name, fn: v.Method(i)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	if len(out) == 0 {
		t.Fatalf("%T has no method taking a context", s)
	}
	return out
}

// callZero calls m with ctx and the zero value of every other argument and
// returns its error, turning a panic into an error that says so.
func (m ctxMethod) callZero(ctx context.Context) (err error) {
	ft := m.fn.Type()
	args := make([]reflect.Value, ft.NumIn())
	if ctx == nil {
		args[0] = reflect.Zero(contextType)
	} else {
		args[0] = reflect.ValueOf(ctx)
	}
	for i := 1; i < ft.NumIn(); i++ {
		args[i] = reflect.Zero(ft.In(i))
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	out := m.fn.Call(args)
	if e := out[len(out)-1]; !e.IsNil() {
		return e.Interface().(error)
	}
	return nil
}

// isReadMethod reports whether a store method only reads, by MLflow's
// naming: Get..., Search... and List... read; every other method that
// takes a context writes.
func isReadMethod(name string) bool {
	for _, p := range []string{"Get", "Search", "List"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// testNilContext calls every method of the store with a nil context and
// the zero value of every other argument: each must return an
// ErrInvalidParameter error about the nil context, before looking at its
// other arguments, and none may panic.
func testNilContext(t *testing.T, s store.Store) {
	var nilCtx context.Context
	for _, m := range ctxMethods(t, s) {
		err := m.callZero(nilCtx)
		switch {
		case err == nil:
			t.Errorf("%s(nil ctx) succeeded", m.name)
		case !errors.Is(err, store.ErrInvalidParameter) || !strings.Contains(err.Error(), "nil context"):
			t.Errorf("%s(nil ctx) = %v, want the ErrInvalidParameter error of store.CheckContext", m.name, err)
		}
	}
	// The store still works.
	createExperiment(t, s, "after-nil-ctx")
}
