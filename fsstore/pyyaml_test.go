package fsstore

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

// trickyStrings are strings that PyYAML must quote, fold or escape, or
// that YAML 1.1 and 1.2 resolve differently. U+0085 (NEL) is left out:
// PyYAML's pure-Python emitter, which internal/pyyaml reproduces, writes it
// raw inside single quotes, where every YAML reader folds it to a space
// (libyaml's emitter writes "\N" instead), so it cannot round-trip.
var trickyStrings = []string{
	"plain", "yes", "No", "ON", "off", "true", "False", "null", "Null", "~", "", " ", "0", "007", "0o17", "0x1F", "0b101",
	"1_000", "1:20", "1e3", "1.5", ".5", "1.", "-1", "+1", ".inf", "-.inf", ".nan", "NaN", "inf", "2024-01-01",
	"2024-01-01 12:34:56", "=", "<<", "- x", "-", "a: b", "a:b", "#c", "a #c", "'q'", `"dq"`, "[x]", "{y}", "&a", "*b",
	"!tag", "%x", "@x", "`x", "|", ">", "?", " lead", "trail ", "tab\there", "multi\nline", "trailing newline\n",
	"\u2028ls", "bell\a", "caf\u00e9", "日本語の名前", "emoji 🚀 ok",
	strings.Repeat("long words that PyYAML folds at eighty columns ", 4),
	strings.Repeat("x", 120),
	"colon at end:", "question? mark", "comma, here", "file:///path/with spaces",
}

// TestPyYAMLAgreement writes meta.yaml files full of tricky strings and
// checks that Python's yaml.safe_load (as MLflow reads them) gives the
// same values and types as fsstore's reader, and that PyYAML's own
// safe_dump re-emits each file byte for byte.
func TestPyYAMLAgreement(t *testing.T) {
	py := pythonWithYAML(t)
	s := openStore(t, &Options{NoSync: true}) // durability is not the point here
	used := 0
	for i, str := range trickyStrings {
		if strings.TrimSpace(str) == "" {
			continue // experiment and run names must not be blank for a useful check
		}
		used++
		exp, err := s.CreateExperiment(bg, str, "", nil)
		mustNil(t, err, "CreateExperiment "+str)
		r, err := s.CreateRun(bg, store.CreateRunRequest{ExperimentID: exp, UserID: str, RunName: str, StartTime: int64(i + 1)})
		mustNil(t, err, "CreateRun "+str)
		mustNil(t, s.LogInputs(bg, r.Info.RunID, []store.DatasetInput{{
			Dataset: store.Dataset{Name: "ds" + string(rune('a'+i%26)), Digest: "d", SourceType: str, Source: str, Schema: str},
			Tags:    []store.Tag{{Key: "ctx", Value: str}},
		}}), "LogInputs "+str)
		if i%3 == 0 {
			mustNil(t, s.RenameExperiment(bg, exp, str+" renamed"), "RenameExperiment")
			mustNil(t, s.SetExperimentTag(bg, exp, store.Tag{Key: "t", Value: str}), "SetExperimentTag")
		}
		if i%4 == 0 {
			mustNil(t, s.DeleteRun(bg, r.Info.RunID), "DeleteRun")
		}
	}
	var paths []string
	mustNil(t, filepath.WalkDir(s.Root(), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == metaFile {
			paths = append(paths, p)
		}
		return err
	}), "walk")

	// Python: for each file, the loaded mapping with type names, and
	// whether safe_dump reproduces the file.
	script := `
import json, sys, yaml
out = {}
def typed(v):
    if isinstance(v, dict):
        return ["dict", {k: typed(x) for k, x in v.items()}]
    if isinstance(v, list):
        return ["list", [typed(x) for x in v]]
    return [type(v).__name__, v]
for p in sys.argv[1:]:
    text = open(p, encoding="utf-8").read()
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    redump = yaml.dump(data, default_flow_style=False, allow_unicode=True, sort_keys=True, Dumper=yaml.SafeDumper)
    out[p] = {"data": typed(data), "redump_equal": redump == text, "redump": redump}
json.dump(out, sys.stdout)
`
	cmd := exec.Command(py, append([]string{"-c", script}, paths...)...)
	cmd.Stderr = os.Stderr
	raw, err := cmd.Output()
	mustNil(t, err, "python")
	var res map[string]struct {
		Data        [2]json.RawMessage `json:"data"`
		RedumpEqual bool               `json:"redump_equal"`
		Redump      string             `json:"redump"`
	}
	mustNil(t, json.Unmarshal(raw, &res), "decode python output")
	if len(res) != len(paths) || len(paths) < 4*used {
		t.Fatalf("python read %d files, want %d (at least %d)", len(res), len(paths), 4*used)
	}
	for _, p := range paths {
		r := res[p]
		text, _ := os.ReadFile(p)
		if !r.RedumpEqual {
			t.Errorf("%s: PyYAML re-emits it differently:\n got %q\nwant %q", p, text, r.Redump)
		}
		var fields map[string][2]json.RawMessage
		mustNil(t, json.Unmarshal(r.Data[1], &fields), "decode "+p)
		want := expectedPythonTypes(t, p, text)
		for key, w := range want {
			f, ok := fields[key]
			if !ok {
				t.Errorf("%s: Python sees no key %q", p, key)
				continue
			}
			var typ string
			_ = json.Unmarshal(f[0], &typ)
			if typ != w.typ {
				t.Errorf("%s: key %q: Python type %s, want %s (value %s)", p, key, typ, w.typ, f[1])
				continue
			}
			if w.value != nil {
				var got any
				_ = json.Unmarshal(f[1], &got)
				if gs, ws := jsonString(got), jsonString(w.value); gs != ws {
					t.Errorf("%s: key %q: Python reads %s, fsstore reads %s", p, key, gs, ws)
				}
			}
		}
		if len(fields) != len(want) {
			t.Errorf("%s: Python sees keys %v, want %d keys", p, keysOf(fields), len(want))
		}
	}
}

type pyField struct {
	typ   string
	value any // compared as JSON; nil means "don't compare"
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func keysOf[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// expectedPythonTypes parses a meta.yaml with fsstore's reader and returns
// the Python type and value MLflow must see for each key.
func expectedPythonTypes(t *testing.T, path string, text []byte) map[string]pyField {
	t.Helper()
	intOrNone := func(p *int64) pyField {
		if p == nil {
			return pyField{"NoneType", nil}
		}
		return pyField{"int", *p}
	}
	strOrNone := func(s string) pyField {
		if s == "" {
			return pyField{"NoneType", nil}
		}
		return pyField{"str", s}
	}
	switch {
	case strings.Contains(path, string(filepath.Separator)+inputsDir+string(filepath.Separator)):
		m, err := parseInput(path, text)
		mustNil(t, err, "parseInput")
		tags := map[string]any{}
		for k, v := range m.Tags {
			tags[k] = []any{"str", v}
		}
		return map[string]pyField{
			"destination_id": {"str", m.SourceID}, "destination_type": {"str", vertexRun},
			"source_id": {"str", m.SourceID}, "source_type": {"str", m.SourceType}, "tags": {"dict", tags},
		}
	case strings.Contains(path, string(filepath.Separator)+datasetsDir+string(filepath.Separator)):
		d, err := parseDataset(path, text)
		mustNil(t, err, "parseDataset")
		return map[string]pyField{
			"digest": {"str", d.Digest}, "name": {"str", d.Name}, "source": {"str", d.Source},
			"source_type": {"str", d.SourceType}, "schema": strOrNone(d.Schema), "profile": strOrNone(d.Profile),
		}
	case strings.Contains(string(text), "run_id:"):
		m, err := parseRunMeta(path, text)
		mustNil(t, err, "parseRunMeta")
		want := map[string]pyField{
			"artifact_uri": {"str", m.ArtifactURI}, "end_time": intOrNone(m.EndTime), "entry_point_name": {"str", ""},
			"experiment_id": {"str", m.ExperimentID}, "lifecycle_stage": {"str", m.LifecycleStage},
			"run_id": {"str", m.RunID}, "run_uuid": {"str", m.RunID}, "run_name": {"str", m.RunName},
			"source_name": {"str", ""}, "source_type": {"int", sourceTypeLocal}, "source_version": {"str", ""},
			"start_time": {"int", m.StartTime}, "status": {"int", int(m.Status)}, "tags": {"list", []any{}},
			"user_id": {"str", m.UserID},
		}
		if strings.Contains(string(text), "deleted_time:") {
			want["deleted_time"] = intOrNone(m.DeletedTime)
		}
		return want
	default:
		m, err := parseExpMeta(path, text)
		mustNil(t, err, "parseExpMeta")
		want := map[string]pyField{
			"artifact_location": {"str", m.ArtifactLocation}, "creation_time": intOrNone(m.CreationTime),
			"experiment_id": {"str", m.ID}, "last_update_time": intOrNone(m.LastUpdateTime),
			"lifecycle_stage": {"str", m.LifecycleStage}, "name": {"str", m.Name},
		}
		if strings.Contains(string(text), "\ntags:") {
			d, err := parseDoc(path, text)
			mustNil(t, err, "parseDoc")
			tags, err := d.strMap("tags")
			mustNil(t, err, "tags")
			tm := map[string]any{}
			for k, v := range tags {
				tm[k] = []any{"str", v}
			}
			want["tags"] = pyField{"dict", tm}
		}
		return want
	}
}
