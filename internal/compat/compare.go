package compat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Compare returns the differences between two snapshots, one readable line
// per differing field, e.g.
//
//	runs[3f2a… "rich"].params["long"]: want "0123…" (6000 chars), got missing
//
// An empty result means the stores are identical in every compared field.
// The diagnostics (Warnings, Errors, MLflowVersion) are not compared.
func Compare(want, got *Snapshot) []string {
	w, g := *want, *got
	w.Warnings, w.Errors, w.MLflowVersion = nil, nil, ""
	g.Warnings, g.Errors, g.MLflowVersion = nil, nil, ""
	return diffJSON(&w, &g)
}

// diffJSON compares two values by their JSON trees.
func diffJSON(want, got any) []string {
	var out []string
	diffValue(&out, "", tree(want), tree(got))
	return out
}

func tree(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("compat: marshal %T: %v", v, err))
	}
	var t any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // keep int64 timestamps exact and readable
	if err := dec.Decode(&t); err != nil {
		panic(fmt.Sprintf("compat: unmarshal %T: %v", v, err))
	}
	return t
}

// listKeys names the field that identifies the elements of a list, by the
// list's field name, so that lists compare element by element whatever
// their order, and a missing element is reported as one line.
var listKeys = map[string]func(map[string]any) (key, label string){
	"experiments": func(m map[string]any) (string, string) {
		return str(m["experiment_id"]), str(m["experiment_id"]) + " " + shortQuote(str(m["name"]))
	},
	"runs": func(m map[string]any) (string, string) {
		return str(m["run_id"]), str(m["run_id"]) + " " + shortQuote(str(m["run_name"]))
	},
	"inputs": func(m map[string]any) (string, string) {
		k := str(m["name"]) + "@" + str(m["digest"])
		return k, strconv.Quote(k)
	},
}

func str(v any) string { s, _ := v.(string); return s }

// shortQuote quotes a name for a diff path, cut to 40 characters.
func shortQuote(s string) string {
	if r := []rune(s); len(r) > 40 {
		return strconv.Quote(string(r[:40])) + "…"
	}
	return strconv.Quote(s)
}

func diffValue(out *[]string, path string, want, got any) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			break
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		for _, k := range sortedKeys(keys) {
			p := joinPath(path, k)
			wv, wok := w[k]
			gv, gok := g[k]
			switch {
			case !gok:
				*out = append(*out, fmt.Sprintf("%s: want %s, got missing", p, show(wv)))
			case !wok:
				*out = append(*out, fmt.Sprintf("%s: want missing, got %s", p, show(gv)))
			default:
				diffValue(out, p, wv, gv)
			}
		}
		return
	case []any:
		g, ok := got.([]any)
		if !ok {
			break
		}
		if keyOf := listKeys[lastField(path)]; keyOf != nil && allObjects(w) && allObjects(g) {
			diffKeyed(out, path, w, g, keyOf)
			return
		}
		if strings.Contains(path, ".metrics[") {
			diffMultiset(out, path, w, g)
			return
		}
		n := max(len(w), len(g))
		for i := range n {
			p := fmt.Sprintf("%s[%d]", path, i)
			switch {
			case i >= len(g):
				*out = append(*out, fmt.Sprintf("%s: want %s, got missing", p, show(w[i])))
			case i >= len(w):
				*out = append(*out, fmt.Sprintf("%s: want missing, got %s", p, show(g[i])))
			default:
				diffValue(out, p, w[i], g[i])
			}
		}
		return
	}
	if !equalLeaf(want, got) {
		*out = append(*out, fmt.Sprintf("%s: want %s, got %s%s", path, show(want), show(got), firstDiff(want, got)))
	}
}

func diffKeyed(out *[]string, path string, want, got []any, keyOf func(map[string]any) (string, string)) {
	index := func(list []any) (map[string]map[string]any, map[string]string) {
		m, labels := map[string]map[string]any{}, map[string]string{}
		for _, e := range list {
			o := e.(map[string]any)
			k, l := keyOf(o)
			m[k], labels[k] = o, l
		}
		return m, labels
	}
	wm, wl := index(want)
	gm, gl := index(got)
	keys := map[string]bool{}
	for k := range wm {
		keys[k] = true
	}
	for k := range gm {
		keys[k] = true
	}
	for _, k := range sortedKeys(keys) {
		w, wok := wm[k]
		g, gok := gm[k]
		switch {
		case !gok:
			*out = append(*out, fmt.Sprintf("%s[%s]: want present, got missing", path, wl[k]))
		case !wok:
			*out = append(*out, fmt.Sprintf("%s[%s]: want missing, got present", path, gl[k]))
		default:
			diffValue(out, fmt.Sprintf("%s[%s]", path, wl[k]), w, g)
		}
	}
}

// diffMultiset reports the elements (metric points) that only one side has,
// which reads better than an index-by-index diff of a shifted history.
func diffMultiset(out *[]string, path string, want, got []any) {
	count := map[string]int{}
	for _, e := range got {
		count[show(e)]++
	}
	for _, e := range want {
		k := show(e)
		if count[k] > 0 {
			count[k]--
			continue
		}
		*out = append(*out, fmt.Sprintf("%s: want %s, got missing", path, k))
	}
	for _, e := range got {
		k := show(e)
		if count[k] > 0 {
			count[k]--
			*out = append(*out, fmt.Sprintf("%s: want missing, got %s", path, k))
		}
	}
	if len(want) != len(got) {
		*out = append(*out, fmt.Sprintf("%s: want %d points, got %d", path, len(want), len(got)))
	}
}

func equalLeaf(a, b any) bool {
	switch a := a.(type) {
	case map[string]any, []any:
		return false
	default:
		return a == b
	}
}

func allObjects(list []any) bool {
	for _, e := range list {
		if _, ok := e.(map[string]any); !ok {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// joinPath appends a field: plain identifiers with a dot, anything else as
// a quoted map key.
func joinPath(path, key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			plain = false
			break
		}
	}
	if plain && isStructField(key) {
		if path == "" {
			return key
		}
		return path + "." + key
	}
	return fmt.Sprintf("%s[%s]", path, strconv.Quote(key))
}

// structFields are the field names of the format; other map keys are data
// (param keys, tag keys) and are shown quoted.
var structFields = map[string]bool{}

func init() {
	for _, f := range []string{
		"format_version", "experiments", "runs", "experiment_id", "name", "artifact_location",
		"lifecycle_stage", "tags", "run_id", "run_name", "status", "start_time", "end_time",
		"user_id", "artifact_uri", "params", "latest_metrics", "metrics", "artifacts", "inputs",
		"value", "step", "timestamp", "digest", "source_type", "source", "schema", "profile",
	} {
		structFields[f] = true
	}
}

func isStructField(k string) bool { return structFields[k] }

func lastField(path string) string {
	if i := strings.LastIndexAny(path, ".]"); i >= 0 {
		return path[i+1:]
	}
	return path
}

// show formats a value for a diff line, shortening long strings.
func show(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		n := utf8.RuneCountInString(v)
		if n <= 80 {
			return strconv.Quote(v)
		}
		r := []rune(v)
		return fmt.Sprintf("%s… (%d chars)", strconv.Quote(string(r[:60])), n)
	case json.Number:
		return v.String()
	default:
		b, _ := json.Marshal(v)
		if len(b) > 200 {
			return string(b[:200]) + "…"
		}
		return string(b)
	}
}

// firstDiff locates the first differing character of two long strings.
func firstDiff(a, b any) string {
	as, ok1 := a.(string)
	bs, ok2 := b.(string)
	if !ok1 || !ok2 || (len(as) <= 80 && len(bs) <= 80) {
		return ""
	}
	ar, br := []rune(as), []rune(bs)
	i := 0
	for i < len(ar) && i < len(br) && ar[i] == br[i] {
		i++
	}
	return fmt.Sprintf(" (first difference at char %d)", i)
}
