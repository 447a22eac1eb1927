package pyyaml

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// v3Doc is what the project reads back with gopkg.in/yaml.v3.
type v3Doc struct {
	K string   `yaml:"k"`
	L []string `yaml:"l"`
	N struct {
		M string `yaml:"m"`
	} `yaml:"n"`
	O map[string]string `yaml:"o"`
}

// checkYAMLv3 marshals s as a value, as list items, as a nested value, as a
// mapping key and as a nested mapping key, and checks that yaml.v3 decodes
// each back to s. Every document has single-key mappings, so that the work
// done does not depend on map iteration order (which keeps fuzzing
// coverage deterministic).
//
// It returns false (without failing) when an output contains a raw U+0085
// (NEL): PyYAML writes NEL unescaped inside single quotes, and YAML 1.1
// readers, PyYAML's own included, turn it into a line break, so such strings
// do not round-trip through PyYAML's output either.
func checkYAMLv3(t *testing.T, s string) bool {
	t.Helper()
	docs := []struct {
		in any
		ok func(v3Doc) bool
	}{
		{map[string]any{"k": s}, func(d v3Doc) bool { return d.K == s }},
		{map[string]any{"l": []any{s, s}}, func(d v3Doc) bool { return len(d.L) == 2 && d.L[0] == s && d.L[1] == s }},
		{map[string]any{"n": map[string]any{"m": s}}, func(d v3Doc) bool { return d.N.M == s }},
		{map[string]any{"o": map[string]any{s: "v"}}, func(d v3Doc) bool { return len(d.O) == 1 && d.O[s] == "v" }},
	}
	roundTrips := true
	for _, doc := range docs {
		b, err := Marshal(doc.in)
		if err != nil {
			t.Fatalf("Marshal(%q): %v", s, err)
		}
		var got v3Doc
		err = yaml.Unmarshal(b, &got)
		if err == nil && doc.ok(got) {
			continue
		}
		if bytes.ContainsRune(b, '\u0085') {
			roundTrips = false
			continue
		}
		t.Errorf("yaml.v3 round trip of %q failed\n yaml: %q\n  got: %#v\n  err: %v", s, b, got, err)
	}

	// As a top-level key.
	b, err := Marshal(map[string]any{s: "v"})
	if err != nil {
		t.Fatalf("Marshal(%q): %v", s, err)
	}
	var m map[string]string
	err = yaml.Unmarshal(b, &m)
	if err != nil || len(m) != 1 || m[s] != "v" {
		if bytes.ContainsRune(b, '\u0085') {
			return false
		}
		t.Errorf("yaml.v3 round trip of key %q failed\n yaml: %q\n  got: %#v\n  err: %v", s, b, m, err)
	}
	return roundTrips
}

func TestYAMLv3RoundTrip(t *testing.T) {
	nel := 0
	ss := trickyStrings()
	r := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		ss = append(ss, randomString(r), randomScalarLike(r))
	}
	for _, s := range ss {
		if !checkYAMLv3(t, s) {
			nel++
		}
	}
	t.Logf("%d strings round-trip through yaml.v3; %d written with a raw U+0085 do not", len(ss)-nel, nel)
}

func FuzzMarshalString(f *testing.F) {
	for _, s := range trickyStrings() {
		if len(s) < 300 {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := Marshal(map[string]any{"k": s})
		if !utf8.ValidString(s) {
			if err == nil {
				t.Fatalf("Marshal accepted invalid UTF-8 %q", s)
			}
			return
		}
		if err != nil {
			t.Fatalf("Marshal(%q): %v", s, err)
		}
		if !utf8.ValidString(string(b)) {
			t.Fatalf("Marshal(%q) produced invalid UTF-8 %q", s, b)
		}
		checkYAMLv3(t, s)
	})
}
