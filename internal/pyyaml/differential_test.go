package pyyaml

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
)

// stringDocs returns the documents in which each corpus string is placed:
// as a value, as a key, in a list under a key, nested (deeper indentation
// changes folding), in a list of mappings, and at the root.
func stringDocs(s string) []any {
	return []any{
		map[string]any{"k": s},
		map[string]any{s: "v"},
		map[string]any{"k": []any{s, s}},
		map[string]any{"a": map[string]any{"bb": map[string]any{s: s}}},
		[]any{map[string]any{"a": s, s: []any{s}}},
		[]any{[]any{s}},
		s,
	}
}

// differentialCorpus returns the documents of the differential test: every
// tricky string and many random strings in every position of stringDocs,
// random nested documents, and MLflow-shaped documents.
func differentialCorpus() []any {
	var docs []any
	for _, s := range trickyStrings() {
		docs = append(docs, stringDocs(s)...)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1500 {
		docs = append(docs, stringDocs(randomString(r))...)
	}
	for range 500 {
		s := randomScalarLike(r)
		docs = append(docs, map[string]any{"k": s}, map[string]any{s: 1})
	}
	for range 1500 {
		docs = append(docs, randomValue(r, 4))
	}
	for range 300 {
		docs = append(docs, map[string]any{"v": randomFloat(r)})
	}
	docs = append(docs, mlflowDocs()...)
	return docs
}

// mlflowDocs returns documents shaped like MLflow's meta.yaml files.
func mlflowDocs() []any {
	return []any{
		map[string]any{
			"artifact_location": "file:///home/user/mlruns/0",
			"creation_time":     int64(1718000000000),
			"experiment_id":     "0",
			"last_update_time":  int64(1718000000000),
			"lifecycle_stage":   "active",
			"name":              "Default",
		},
		map[string]any{
			"artifact_uri":     "file:///home/user/mlruns/0/0123456789abcdef0123456789abcdef/artifacts",
			"end_time":         nil,
			"entry_point_name": "",
			"experiment_id":    "0",
			"lifecycle_stage":  "active",
			"run_id":           "0123456789abcdef0123456789abcdef",
			"run_name":         "bright-fox-42",
			"run_uuid":         "0123456789abcdef0123456789abcdef",
			"source_name":      "",
			"source_type":      4,
			"source_version":   "",
			"start_time":       int64(1718000000123),
			"status":           1,
			"tags":             []any{},
			"user_id":          "user",
		},
		map[string]any{
			"digest":      "abcdef12",
			"name":        "dataset",
			"profile":     `{"num_rows": 150, "num_elements": 600}`,
			"schema":      `{"mlflow_colspec": [{"type": "double", "name": "sepal length (cm)", "required": true}, {"type": "double", "name": "sepal width (cm)", "required": true}, {"type": "long", "name": "target", "required": true}]}`,
			"source":      `{"uri": "/tmp/iris.csv"}`,
			"source_type": "local",
		},
		map[string]any{
			"artifact_path": "model",
			"flavors": map[string]any{
				"python_function": map[string]any{
					"env":            map[string]any{"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
					"loader_module":  "mlflow.sklearn",
					"model_path":     "model.pkl",
					"predict_fn":     "predict",
					"python_version": "3.11.7",
				},
				"sklearn": map[string]any{
					"code":                 nil,
					"pickled_model":        "model.pkl",
					"serialization_format": "cloudpickle",
					"sklearn_version":      "1.4.2",
				},
			},
			"mlflow_version":           "2.14.1",
			"model_size_bytes":         int64(1234),
			"model_uuid":               "f0e1d2c3b4a5",
			"run_id":                   "0123456789abcdef0123456789abcdef",
			"utc_time_created":         "2024-06-10 12:34:56.789012",
			"metadata":                 map[string]any{},
			"signature":                map[string]any{"inputs": `[{"type": "double", "name": "x", "required": true}]`, "outputs": `[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}]`, "params": nil},
			"saved_input_example_info": map[string]any{"artifact_path": "input_example.json", "type": "dataframe", "pandas_orient": "split"},
		},
		map[string]any{}, []any{}, nil, true, int64(0), 1.5, "",
	}
}

// TestMatchesPyYAML marshals every corpus document and compares the bytes
// with PyYAML's safe_dump, and checks that PyYAML's safe_load gives back the
// document with the same types.
func TestMatchesPyYAML(t *testing.T) {
	py := pythonYAML(t)
	docs := differentialCorpus()
	mine := make([][]byte, len(docs))
	for i, d := range docs {
		b, err := Marshal(d)
		if err != nil {
			t.Fatalf("Marshal(%s): %v", short(d), err)
		}
		mine[i] = b
	}
	res := runPython(t, py, docs, mine)
	fails, nel := 0, 0
	for i, d := range docs {
		if string(mine[i]) != res[i].Dump {
			t.Errorf("document %s\n got %q\nwant %q", short(d), mine[i], res[i].Dump)
			fails++
		}
		if !res[i].Loads {
			// PyYAML writes U+0085 (NEL) raw inside single-quoted scalars,
			// and its reader then turns it into a folded line break. The
			// loss is PyYAML's own; the bytes above are identical.
			if bytes.ContainsRune(mine[i], '\u0085') {
				nel++
			} else {
				t.Errorf("safe_load of output for %s gives %s", short(d), res[i].Loaded)
				fails++
			}
		}
		if fails > 20 {
			t.Fatal("too many failures")
		}
	}
	t.Logf("compared %d documents with PyYAML safe_dump; %d written with a raw U+0085 do not round-trip through safe_load",
		len(docs), nel)
}

func short(v any) string {
	s := []rune(fmt.Sprintf("%#v", v))
	if len(s) > 300 {
		return string(s[:300]) + "..."
	}
	return string(s)
}

// TestResolverMatchesPyYAML compares resolvesToStr with PyYAML's own
// Resolver on strings built from the pieces of YAML 1.1 scalars.
func TestResolverMatchesPyYAML(t *testing.T) {
	py := pythonYAML(t)
	ss := trickyStrings()
	r := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		ss = append(ss, randomScalarLike(r))
	}
	in, err := json.Marshal(ss)
	if err != nil {
		t.Fatal(err)
	}
	const script = `
import json, sys, yaml
r = yaml.resolver.Resolver()
print(''.join('1' if r.resolve(yaml.ScalarNode, s, (True, False)) == 'tag:yaml.org,2002:str' else '0'
              for s in json.load(sys.stdin)))
`
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	got := strings.TrimSpace(string(out))
	if len(got) != len(ss) {
		t.Fatalf("python3 returned %d results for %d strings", len(got), len(ss))
	}
	for i, s := range ss {
		if want := got[i] == '1'; resolvesToStr(s) != want {
			t.Errorf("resolvesToStr(%q) = %v, PyYAML says %v", s, !want, want)
		}
	}
}
