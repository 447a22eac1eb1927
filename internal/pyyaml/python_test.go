package pyyaml

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"os/exec"
	"reflect"
	"testing"
)

// pythonYAML returns the path of a python3 that can import yaml, or skips
// the test.
func pythonYAML(t testing.TB) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not on PATH")
	}
	if err := exec.Command(py, "-c", "import yaml").Run(); err != nil {
		t.Skip("python3 cannot import yaml (PyYAML)")
	}
	return py
}

// floatTag marks a JSON object that stands for a Python float given by its
// big-endian IEEE 754 bits, so that floats survive the trip through JSON
// exactly (including NaN, infinities, -0.0 and integral values).
const floatTag = "\x00float"

// toJSON converts a value accepted by Marshal into one that encoding/json
// encodes into the JSON whose Python decoding (with pyHelper's hook) is the
// Python equivalent of v.
func toJSON(v any) any {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return nil
	}
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil
		}
		return toJSON(rv.Elem().Interface())
	case reflect.Float32, reflect.Float64:
		var b [8]byte
		bits := math.Float64bits(rv.Float())
		for i := range b {
			b[i] = byte(bits >> (56 - 8*i))
		}
		return map[string]string{floatTag: hex.EncodeToString(b[:])}
	case reflect.Map:
		m := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			m[it.Key().String()] = toJSON(it.Value().Interface())
		}
		return m
	case reflect.Slice, reflect.Array:
		l := make([]any, rv.Len())
		for i := range l {
			l[i] = toJSON(rv.Index(i).Interface())
		}
		return l
	}
	return v
}

// pyHelper reads a JSON list of {"doc": value, "mine": text} from stdin and
// writes a JSON list of {"dump": safe_dump(value), "loads": bool, "loaded":
// repr} where loads tells whether safe_load(mine) gives back a value equal to
// doc with the same types all the way down.
const pyHelper = `
import json, struct, sys, yaml

def hook(d):
    if len(d) == 1 and '\x00float' in d:
        return struct.unpack('>d', bytes.fromhex(d['\x00float']))[0]
    return d

def same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return repr(a) == repr(b)
    return a == b

out = []
for item in json.load(sys.stdin, object_hook=hook):
    doc = item['doc']
    res = {'dump': yaml.safe_dump(doc, default_flow_style=False, allow_unicode=True, sort_keys=True)}
    try:
        loaded = yaml.safe_load(item['mine'])
        res['loads'] = same(loaded, doc)
        res['loaded'] = '' if res['loads'] else repr(loaded)[:500]
    except yaml.YAMLError as e:
        res['loads'] = False
        res['loaded'] = 'error: ' + str(e)
    out.append(res)
json.dump(out, sys.stdout)
`

type pyResult struct {
	Dump   string `json:"dump"`
	Loads  bool   `json:"loads"`
	Loaded string `json:"loaded"`
}

// runPython has Python dump every doc with yaml.safe_dump and load every
// mine[i] with yaml.safe_load, in a single python3 process.
func runPython(t testing.TB, py string, docs []any, mine [][]byte) []pyResult {
	t.Helper()
	type req struct {
		Doc  any    `json:"doc"`
		Mine string `json:"mine"`
	}
	reqs := make([]req, len(docs))
	for i, d := range docs {
		reqs[i] = req{toJSON(d), string(mine[i])}
	}
	in, err := json.Marshal(reqs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", pyHelper)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.String())
	}
	var res []pyResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != len(docs) {
		t.Fatalf("python3 returned %d results for %d documents", len(res), len(docs))
	}
	return res
}
