package mlrun_test

import (
	"context"
	"errors"
	"image"
	"reflect"
	"testing"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

var (
	contextType = reflect.TypeFor[context.Context]()
	errorType   = reflect.TypeFor[error]()
)

// call calls method m of recv with zero arguments (a nil context, zero
// values, no variadic arguments) and returns its results, or the panic.
func call(recv reflect.Value, m reflect.Method) (out []reflect.Value, panicked any) {
	defer func() { panicked = recover() }()
	fn := recv.MethodByName(m.Name)
	n := fn.Type().NumIn()
	if fn.Type().IsVariadic() {
		n--
	}
	args := make([]reflect.Value, n)
	for i := range n {
		args[i] = reflect.Zero(fn.Type().In(i))
	}
	return fn.Call(args), nil
}

// lastError returns the error result of a call, if the method has one.
func lastError(m reflect.Method, out []reflect.Value) (err error, has bool) {
	t := m.Type
	if t.NumOut() == 0 || t.Out(t.NumOut()-1) != errorType {
		return nil, false
	}
	e, _ := out[len(out)-1].Interface().(error)
	return e, true
}

// TestMisuseReturnsErrors calls every exported method of Client and Run,
// found by reflection, on nil and zero-value receivers and, on live ones,
// with a nil context: none panics, and each that returns an error returns
// one (ErrInvalidParameter).
func TestMisuseReturnsErrors(t *testing.T) {
	ctx := context.Background()
	c, _ := openTemp(t)
	run, err := c.StartRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dead := []struct {
		name string
		recv reflect.Value
	}{
		{"nil *Client", reflect.ValueOf((*mlrun.Client)(nil))},
		{"zero Client", reflect.ValueOf(&mlrun.Client{})},
		{"nil *Run", reflect.ValueOf((*mlrun.Run)(nil))},
		{"zero Run", reflect.ValueOf(&mlrun.Run{})},
	}
	methods := 0
	for _, d := range dead {
		typ := d.recv.Type()
		for i := range typ.NumMethod() {
			m := typ.Method(i)
			out, p := call(d.recv, m)
			if p != nil {
				t.Errorf("%s.%s panicked: %v", d.name, m.Name, p)
				continue
			}
			methods++
			if err, has := lastError(m, out); has && !errors.Is(err, store.ErrInvalidParameter) {
				t.Errorf("%s.%s: err = %v, want ErrInvalidParameter", d.name, m.Name, err)
			}
		}
	}
	// Each method on two receivers of each type.
	if want := 2*reflect.TypeFor[*mlrun.Client]().NumMethod() + 2*reflect.TypeFor[*mlrun.Run]().NumMethod(); methods != want || methods < 150 {
		t.Errorf("called %d methods, want %d (and at least 150)", methods, want)
	}

	ctxMethods := 0
	for _, live := range []struct {
		name string
		recv reflect.Value
	}{{"Client", reflect.ValueOf(c)}, {"Run", reflect.ValueOf(run)}} {
		typ := live.recv.Type()
		for i := range typ.NumMethod() {
			m := typ.Method(i)
			if m.Type.NumIn() < 2 || m.Type.In(1) != contextType {
				continue
			}
			ctxMethods++
			out, p := call(live.recv, m)
			if p != nil {
				t.Errorf("%s.%s(nil ctx) panicked: %v", live.name, m.Name, p)
				continue
			}
			if err, has := lastError(m, out); has && !errors.Is(err, store.ErrInvalidParameter) {
				t.Errorf("%s.%s(nil ctx): err = %v, want ErrInvalidParameter", live.name, m.Name, err)
			}
		}
	}
	if ctxMethods < 70 {
		t.Errorf("only %d methods take a context", ctxMethods)
	}
	// The nil-context End did not end the run.
	if r, err := run.Get(ctx); err != nil || r.Info.Status != store.StatusRunning {
		t.Errorf("after End(nil): %v, %v", r.Info.Status, err)
	}
	var nilCtx context.Context
	if _, err := mlrun.Open(nilCtx); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("Open(nil): %v", err)
	}
}

// TestMisuseArguments checks arguments that used to panic or loop.
func TestMisuseArguments(t *testing.T) {
	ctx := context.Background()
	c, _ := openTemp(t)
	run, err := c.StartRun(ctx, nil, mlrun.WithRunName("r")) // a nil option is ignored
	if err != nil {
		t.Fatal(err)
	}
	if err := run.LogImage(ctx, nil, "x.png"); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("LogImage(nil): %v", err)
	}
	if err := run.LogImage(ctx, (*image.RGBA)(nil), "x.png"); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("LogImage(typed nil): %v", err)
	}
	if err := run.LogImage(ctx, &image.RGBA{}, "x.png"); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("LogImage(0x0 image): %v", err) // PNG has no empty images
	}
	m := map[string]any{"a": 1}
	m["self"] = m
	s := []any{1, nil}
	s[1] = s
	type node struct {
		Name string
		Next *node
	}
	n := &node{Name: "loop"}
	n.Next = n
	for what, v := range map[string]any{"map": m, "slice": s, "struct": n} {
		err := run.LogParam(ctx, "p-"+what, v)
		if !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("LogParam(self-referencing %s): err = %v", what, err)
		}
	}
	if got := mlrun.ParamString(m); got != "{'a': 1, 'self': {...}}" {
		t.Errorf("ParamString(self-referencing map) = %s", got)
	}
	if got := mlrun.ParamString(s); got != "[1, [...]]" {
		t.Errorf("ParamString(self-referencing slice) = %s", got)
	}
	if err := run.LogJSON(ctx, map[string]any{"f": func() {}}, "x.json"); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("LogJSON(func): %v", err)
	}
	if err := run.LogTable(ctx, []string{"a"}, [][]any{{func() {}}}, "t.json"); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("LogTable(func): %v", err)
	}
	if _, err := c.StartRun(ctx, mlrun.WithParent(&mlrun.Run{})); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("WithParent(zero Run): %v", err)
	}
	r, _ := run.Get(ctx)
	if len(r.Data.Params) != 0 {
		t.Errorf("refused params were logged: %v", r.Data.Params)
	}
	if !errors.Is(run.Err(), store.ErrInvalidParameter) {
		t.Errorf("Err() = %v", run.Err())
	}
}
