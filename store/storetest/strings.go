package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

// badUTF8 makes a string invalid UTF-8 (a lone continuation byte after
// what it held), which MLflow cannot decode when it reads it back.
func badUTF8(s string) string { return s + "\xff" }

// eachString calls fn once for every string reachable from the value v
// points to (exported struct fields, slice and array elements, through
// pointers), with that string made invalid UTF-8 for the duration of the
// call and its path ("Tags[0].Value") as argument. A field added to a
// request type later is covered without editing the suite.
func eachString(v any, fn func(path string)) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer {
		panic("eachString: want a pointer")
	}
	walkStrings(rv.Elem(), reflect.TypeOf(v).Elem().Name(), fn)
}

func walkStrings(v reflect.Value, path string, fn func(path string)) {
	switch v.Kind() {
	case reflect.String:
		old := v.String()
		v.SetString(badUTF8(old))
		defer v.SetString(old)
		fn(path)
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				walkStrings(v.Field(i), path+"."+f.Name, fn)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkStrings(v.Index(i), fmt.Sprintf("%s[%d]", path, i), fn)
		}
	case reflect.Pointer:
		if !v.IsNil() {
			walkStrings(v.Elem(), path, fn)
		}
	}
}

// stateOf returns the backend's fingerprint of s (Options.State), or ""
// without one.
func stateOf(t *testing.T, opts Options, s any) string {
	t.Helper()
	if ss, ok := s.(*suiteStore); ok {
		s = ss.Store
	}
	if opts.State == nil {
		return ""
	}
	return opts.State(t, s)
}

// wantRefused checks that call fails with ErrInvalidParameter and leaves
// the store as it was (Options.State).
func wantRefused(t *testing.T, opts Options, s any, what string, call func() error) {
	t.Helper()
	before := stateOf(t, opts, s)
	err := call()
	if !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("%s: err = %v, want ErrInvalidParameter", what, err)
	}
	if after := stateOf(t, opts, s); after != before {
		t.Errorf("%s: the failed call changed the store at %s", what, FirstDiff(after, before))
	}
}

// FirstDiff describes where two texts first differ, line by line
// ("line N:\n got <got's line>\nwant <want's line>", quoted), or returns ""
// when they are equal.
func FirstDiff(got, want string) string {
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(gl), len(wl)) {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			return fmt.Sprintf("line %d:\n got %q\nwant %q", i+1, g, w)
		}
	}
	return ""
}

// TreeState fingerprints the files under dir: every path with its type and
// permission bits and, for a regular file, the SHA-256 of its content, one
// line each, sorted. Paths for which ignore (if not nil) reports true are
// left out. Backends use it for Options.State and ReadOnlyHarness.Snapshot.
func TreeState(t testing.TB, dir string, ignore func(rel string) bool) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if ignore != nil && ignore(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %v", rel, info.Mode())
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			line += " " + hex.EncodeToString(sum[:8])
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatalf("TreeState %s: %v", dir, err)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// testInvalidUTF8 sends invalid UTF-8 in every string argument and every
// string field of every request of store.Store's writes: each is
// ErrInvalidParameter, with nothing written (MLflow cannot read an entity
// holding such a string back). The valid requests they derive from
// succeed.
func testInvalidUTF8(t *testing.T, s store.Store) {
	opts := options(s)
	exp := createExperiment(t, s, "utf8")
	run := createRun(t, s, exp, "r", 0)
	rid := run.Info.RunID

	name, loc, tags := "e", "/tmp/mlruns-utf8", []store.Tag{{Key: "k", Value: "v"}}
	wantRefused(t, opts, s, "CreateExperiment name", func() error { _, err := s.CreateExperiment(ctx, badUTF8(name), loc, tags); return err })
	wantRefused(t, opts, s, "CreateExperiment artifact location", func() error { _, err := s.CreateExperiment(ctx, name, badUTF8(loc), tags); return err })
	eachString(&tags, func(path string) {
		wantRefused(t, opts, s, "CreateExperiment "+path, func() error { _, err := s.CreateExperiment(ctx, name, loc, tags); return err })
	})
	wantRefused(t, opts, s, "RenameExperiment", func() error { return s.RenameExperiment(ctx, exp, badUTF8("n")) })
	tag := store.Tag{Key: "k", Value: "v"}
	eachString(&tag, func(path string) {
		wantRefused(t, opts, s, "SetExperimentTag "+path, func() error { return s.SetExperimentTag(ctx, exp, tag) })
	})

	req := store.CreateRunRequest{ExperimentID: exp, UserID: "alice", RunName: "run", Tags: []store.Tag{{Key: "k", Value: "v"}}}
	eachString(&req, func(path string) {
		wantRefused(t, opts, s, "CreateRun "+path, func() error { _, err := s.CreateRun(ctx, req); return err })
	})
	wantRefused(t, opts, s, "UpdateRun RunName", func() error { _, err := s.UpdateRun(ctx, rid, store.RunUpdate{RunName: badUTF8("n")}); return err })

	batch := struct {
		Metrics []store.Metric
		Params  []store.Param
		Tags    []store.Tag
	}{[]store.Metric{{Key: "m", Value: 1, Timestamp: 1}}, []store.Param{{Key: "p", Value: "v"}}, []store.Tag{{Key: "t", Value: "v"}}}
	eachString(&batch, func(path string) {
		wantRefused(t, opts, s, "LogBatch "+path, func() error { return s.LogBatch(ctx, rid, batch.Metrics, batch.Params, batch.Tags) })
	})
	wantRefused(t, opts, s, "DeleteTag key", func() error { return s.DeleteTag(ctx, rid, badUTF8("k")) })

	inputs := []store.DatasetInput{{
		Dataset: store.Dataset{Name: "train", Digest: "d1", SourceType: "local", Source: `{"uri": "x"}`, Schema: "{}", Profile: "{}"},
		Tags:    []store.Tag{{Key: "mlflow.data.context", Value: "training"}},
	}}
	eachString(&inputs, func(path string) {
		wantRefused(t, opts, s, "LogInputs "+path, func() error { return s.LogInputs(ctx, rid, inputs) })
	})
	if got := getRun(t, s, rid); len(got.Inputs) != 0 {
		t.Errorf("refused LogInputs left inputs %+v", got.Inputs)
	}

	// The requests themselves are fine.
	_, err := s.CreateExperiment(ctx, name, loc, tags)
	must(t, err, "CreateExperiment")
	must(t, s.SetExperimentTag(ctx, exp, tag), "SetExperimentTag")
	_, err = s.CreateRun(ctx, req)
	must(t, err, "CreateRun")
	must(t, s.LogBatch(ctx, rid, batch.Metrics, batch.Params, batch.Tags), "LogBatch")
	must(t, s.LogInputs(ctx, rid, inputs), "LogInputs")
}

// testLMInvalidUTF8 is testInvalidUTF8 for store.LoggedModels' writes.
func testLMInvalidUTF8(t *testing.T, s LMStore, opts Options) {
	run := createRun(t, s, store.DefaultExperimentID, "r", 0)
	rid := run.Info.RunID
	lm := createLM(t, s, store.CreateLoggedModelRequest{Name: "base", SourceRunID: rid})
	req := store.CreateLoggedModelRequest{ExperimentID: store.DefaultExperimentID, Name: "m", SourceRunID: rid, ModelType: "regressor",
		Tags: []store.Tag{{Key: "t", Value: "v"}}, Params: []store.Param{{Key: "p", Value: "v"}}}
	eachString(&req, func(path string) {
		wantRefused(t, opts, s, "CreateLoggedModel "+path, func() error { _, err := s.CreateLoggedModel(ctx, req); return err })
	})
	tags := []store.Tag{{Key: "t", Value: "v"}}
	eachString(&tags, func(path string) {
		wantRefused(t, opts, s, "SetLoggedModelTags "+path, func() error { return s.SetLoggedModelTags(ctx, lm.ModelID, tags) })
	})
	wantRefused(t, opts, s, "DeleteLoggedModelTag key", func() error { return s.DeleteLoggedModelTag(ctx, lm.ModelID, badUTF8("t")) })
	params := []store.Param{{Key: "p", Value: "v"}}
	eachString(&params, func(path string) {
		wantRefused(t, opts, s, "LogLoggedModelParams "+path, func() error { return s.LogLoggedModelParams(ctx, lm.ModelID, params) })
	})
	metrics := []store.LoggedModelMetric{{Key: "acc", Value: 1, Timestamp: 1, RunID: rid, DatasetName: "train", DatasetDigest: "d1"}}
	eachString(&metrics, func(path string) {
		wantRefused(t, opts, s, "LogLoggedModelMetrics "+path, func() error { return s.LogLoggedModelMetrics(ctx, lm.ModelID, metrics) })
	})
	outputs := []store.LoggedModelOutput{{ModelID: lm.ModelID}}
	eachString(&outputs, func(path string) {
		wantRefused(t, opts, s, "LogOutputs "+path, func() error { return s.LogOutputs(ctx, rid, outputs) })
	})
	if got := getLM(t, s, lm.ModelID); len(got.Tags)+len(got.Params)+len(got.Metrics) != 0 {
		t.Errorf("refused writes left %+v", got)
	}

	createLM(t, s, req)
	must(t, s.SetLoggedModelTags(ctx, lm.ModelID, tags), "SetLoggedModelTags")
	must(t, s.LogLoggedModelParams(ctx, lm.ModelID, params), "LogLoggedModelParams")
	must(t, s.LogLoggedModelMetrics(ctx, lm.ModelID, metrics), "LogLoggedModelMetrics")
	must(t, s.LogOutputs(ctx, rid, outputs), "LogOutputs")
}

// testRegInvalidUTF8 is testInvalidUTF8 for store.Registry's writes.
func testRegInvalidUTF8(t *testing.T, r store.Registry, ropts RegistryOptions) {
	opts := Options{State: ropts.State}
	sr := &suiteRegistry{Registry: r, opts: ropts} // r itself is what State fingerprints
	mustModel(t, sr, "base")
	mustVersion(t, sr, "base")
	name, desc, tags := "m", "a model", []store.Tag{{Key: "k", Value: "v"}}
	wantRefused(t, opts, r, "CreateRegisteredModel name", func() error { _, err := r.CreateRegisteredModel(bg(), badUTF8(name), tags, desc); return err })
	wantRefused(t, opts, r, "CreateRegisteredModel description", func() error {
		_, err := r.CreateRegisteredModel(bg(), name, tags, badUTF8(desc))
		return err
	})
	eachString(&tags, func(path string) {
		wantRefused(t, opts, r, "CreateRegisteredModel "+path, func() error { _, err := r.CreateRegisteredModel(bg(), name, tags, desc); return err })
	})
	wantRefused(t, opts, r, "UpdateRegisteredModel", func() error { _, err := r.UpdateRegisteredModel(bg(), "base", badUTF8(desc)); return err })
	wantRefused(t, opts, r, "RenameRegisteredModel", func() error { _, err := r.RenameRegisteredModel(bg(), "base", badUTF8("n")); return err })
	tag := store.Tag{Key: "k", Value: "v"}
	eachString(&tag, func(path string) {
		wantRefused(t, opts, r, "SetRegisteredModelTag "+path, func() error { return r.SetRegisteredModelTag(bg(), "base", tag) })
		wantRefused(t, opts, r, "SetModelVersionTag "+path, func() error { return r.SetModelVersionTag(bg(), "base", 1, tag) })
	})
	req := store.CreateModelVersionRequest{Name: "base", Source: source(sr, "file:///tmp/src"), RunID: "0123456789abcdef0123456789abcdef",
		ModelID: "m-0123456789abcdef0123456789abcdef", RunLink: "http://x/run", Description: "d", Tags: []store.Tag{{Key: "k", Value: "v"}},
		UserID: "alice", StorageLocation: "file:///tmp/storage"}
	eachString(&req, func(path string) {
		wantRefused(t, opts, r, "CreateModelVersion "+path, func() error { _, err := r.CreateModelVersion(bg(), req); return err })
	})
	wantRefused(t, opts, r, "UpdateModelVersion", func() error { _, err := r.UpdateModelVersion(bg(), "base", 1, badUTF8(desc)); return err })
	wantRefused(t, opts, r, "SetRegisteredModelAlias", func() error { return r.SetRegisteredModelAlias(bg(), "base", badUTF8("champion"), 1) })
	nested := []store.Tag{{Key: "a", Value: "1"}, {Key: "a/b", Value: "2"}}
	wantRefused(t, opts, r, "CreateRegisteredModel with nested tags", func() error { _, err := r.CreateRegisteredModel(bg(), name, nested, desc); return err })
	wantRefused(t, opts, r, "CreateModelVersion with nested tags", func() error {
		_, err := r.CreateModelVersion(bg(), store.CreateModelVersionRequest{Name: "base", Source: source(sr, "file:///tmp/src"), Tags: nested})
		return err
	})

	if _, err := r.CreateRegisteredModel(bg(), name, tags, desc); err != nil {
		t.Errorf("CreateRegisteredModel: %v", err)
	}
	if ropts.ServerSources {
		req.ModelID = "" // a server looks the model up
	}
	if _, err := r.CreateModelVersion(bg(), req); err != nil {
		t.Errorf("CreateModelVersion: %v", err)
	}
	if _, err := r.UpdateModelVersion(bg(), "base", 1, desc); err != nil {
		t.Errorf("UpdateModelVersion: %v", err)
	}
}
