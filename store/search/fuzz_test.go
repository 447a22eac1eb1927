package search

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mlrun-go/mlrun/store/search/internal/pysql"
)

var filterSeeds = []string{
	"",
	"metrics.acc >= 0.94",
	"metric.acc>=100",
	`params."m"!="tf"`,
	"metrics.`spacey name` > 5",
	"params.a.b = 'c'",
	"run.status = 'RUNNING' and tags.`ünï tag` LIKE '%é_'",
	"run_id IN ('abc', 'a1') AND datasets.context NOT IN ('train')",
	"params.lr IS NULL AND tags.x IS NOT NULL",
	"metrics.x != -1.5e-3 AND attributes.start_time > 1000",
	"metrics.A > 0.1 OR params.B = 'LR'",
	"params.acc = 'LR",
	"1=1",
	"metric.acc >= 0.94; metrics.rmse < 1",
	"params.m = \"L'Hosp\" and params.x = 'it''s'",
	"metrics.acc > 0.9 /* c */ AND $$x$$ = 'y'",
	"attributes.`Run name` ILIKE 'a%' AND created < 5",
	"run_id IN ('a' 'b', r'c\\x41')",
	"CASE WHEN x THEN y END",
}

// FuzzParseRunFilter checks that the parser never panics, and that a filter
// it accepts prints (String) to a filter that parses to the same clauses.
func FuzzParseRunFilter(f *testing.F) {
	for _, s := range filterSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		flt, err := ParseRunFilter(s)
		if err != nil {
			if errKind(err) == "other" {
				t.Fatalf("ParseRunFilter(%q): error of no known kind: %v", s, err)
			}
			return
		}
		again, err := ParseRunFilter(flt.String())
		if err != nil {
			t.Fatalf("ParseRunFilter(%q) printed as %q, which fails: %v", s, flt.String(), err)
		}
		if !sameClauses(flt.Clauses, again.Clauses) {
			t.Fatalf("round trip of %q through %q:\n got %+v\nwant %+v", s, flt.String(), again.Clauses, flt.Clauses)
		}
		for _, k := range []Kind{Experiments, RegisteredModels, ModelVersions} {
			_, _ = parseSyntax(k, s)
		}
		_, _ = ParseExperimentFilter(s)
	})
}

func sameClauses(a, b []Clause) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		x.Value.Raw, y.Value.Raw = "", ""
		if !reflect.DeepEqual(x, y) && !(x.Value.Num != x.Value.Num && y.Value.Num != y.Value.Num) {
			return false
		}
	}
	return true
}

// FuzzParseOrderBy checks that order_by parsing never panics and that an
// accepted clause prints to a clause that parses to the same key.
func FuzzParseOrderBy(f *testing.F) {
	for _, s := range []string{
		"metrics.acc", "metrics.acc DESC", "params.`p with space` asc", "attribute.start_time",
		"created DESC", "tags.\"a b\" DESC", "metrics.acc DESC NULLS LAST", "timestamp DESC",
		"attribute.run_id ACS", "`metrics.A`", "metrics.a\\ b", "metrics.'x y' DESC", "",
	} {
		f.Add(s, "start_time")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if !utf8.ValidString(a) || !utf8.ValidString(b) {
			return
		}
		o, err := ParseRunOrderBy([]string{a, b})
		_, _ = ParseExperimentOrderBy([]string{a})
		if err != nil {
			if errKind(err) == "other" {
				t.Fatalf("ParseRunOrderBy(%q, %q): error of no known kind: %v", a, b, err)
			}
			return
		}
		printed := make([]string, len(o.Keys))
		for i, k := range o.Keys {
			if !printable(k) {
				return
			}
			printed[i] = k.String()
		}
		again, err := ParseRunOrderBy(printed)
		if err != nil {
			t.Fatalf("order_by %q printed as %q, which fails: %v", []string{a, b}, printed, err)
		}
		if !reflect.DeepEqual(o.Keys, again.Keys) {
			t.Fatalf("round trip of %q through %q:\n got %+v\nwant %+v", []string{a, b}, printed, again.Keys, o.Keys)
		}
	})
}

// printable reports whether MLflow's syntax can express the key at all.
func printable(k OrderKey) bool {
	if k.Ascending {
		return !strings.ContainsAny(k.Key, "`\"\\") || !(strings.Contains(k.Key, "'") || strings.HasSuffix(k.Key, `\`))
	}
	return !strings.Contains(k.Key, "`") && strings.TrimRightFunc(k.Key, pysql.IsSpace) == k.Key
}

// FuzzPageToken checks that page tokens never panic the parser and that
// every offset round-trips.
func FuzzPageToken(f *testing.F) {
	f.Add("eyJvZmZzZXQiOiAyfQ==", 5)
	f.Add("not base64", 1)
	f.Fuzz(func(t *testing.T, tok string, off int) {
		_, _ = ParsePageToken(tok)
		if off > 0 {
			got, err := ParsePageToken(NewPageToken(off))
			if err != nil || got != off {
				t.Fatalf("offset %d round trip: %d, %v", off, got, err)
			}
		}
	})
}
