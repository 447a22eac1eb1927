package compat

import (
	"math"
	"regexp"
	"strings"

	"github.com/mlrun-go/mlrun/internal/pyfloat"
)

// Artifact layouts below a store's root: a logged model's, a run's, an
// experiment's.
var (
	modelLocationRe = regexp.MustCompile(`/[^/]+/models/m-[0-9a-f]+/artifacts(/.*)?$`)
	runLocationRe   = regexp.MustCompile(`/[^/]+/[0-9a-f]{32}/artifacts(/.*)?$`)
)

// NormalizeLocation replaces the root of an artifact location (a local
// path or file: URI) with <LOC>, keeping the experiment id and the layout
// below it (<LOC>/<experiment id>[/<run id>/artifacts[/…]]), so that the
// same entities in stores at different places (an mlruns directory, a
// SQLite store's artifact root) compare. Anything else is returned as it
// is.
func NormalizeLocation(s string) string {
	if !strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "file:") {
		return s
	}
	p := strings.TrimPrefix(strings.TrimPrefix(s, "file://"), "file:")
	for _, re := range []*regexp.Regexp{modelLocationRe, runLocationRe} {
		if loc := re.FindStringIndex(p); loc != nil {
			return "<LOC>" + p[loc[0]:]
		}
	}
	return "<LOC>/" + p[strings.LastIndex(p, "/")+1:]
}

// NormalizeLocations applies NormalizeLocation to the experiments' and
// runs' artifact locations.
func (s *Snapshot) NormalizeLocations() {
	for i := range s.Experiments {
		s.Experiments[i].ArtifactLocation = NormalizeLocation(s.Experiments[i].ArtifactLocation)
	}
	for i := range s.Runs {
		s.Runs[i].ArtifactURI = NormalizeLocation(s.Runs[i].ArtifactURI)
	}
}

// SQLValue maps a metric value (a Python float repr) to the value an
// MLflow SQL store reads back: ±inf is stored as ±1.7976931348623157e308
// and -0.0 as 0.0.
func SQLValue(v string) string {
	switch v {
	case "inf":
		return pyfloat.Repr(math.MaxFloat64)
	case "-inf":
		return pyfloat.Repr(-math.MaxFloat64)
	case "-0.0":
		return "0.0"
	}
	return v
}

// SQLMetrics maps the snapshot's metric values with SQLValue (and sorts
// the histories again).
func (s *Snapshot) SQLMetrics() {
	for i := range s.Runs {
		r := &s.Runs[i]
		for k, v := range r.LatestMetrics {
			r.LatestMetrics[k] = SQLValue(v)
		}
		for k, h := range r.Metrics {
			for j := range h {
				h[j].Value = SQLValue(h[j].Value)
			}
			SortHistory(h)
			r.Metrics[k] = h
		}
	}
}

// NormalizeTree applies NormalizeLocation to every string of a decoded
// JSON value, and drops the fields named in drop.
func NormalizeTree(x any, drop ...string) any {
	switch v := x.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			if !slicesContains(drop, k) {
				out[k] = NormalizeTree(e, drop...)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = NormalizeTree(e, drop...)
		}
		return out
	case string:
		return NormalizeLocation(v)
	}
	return x
}

func slicesContains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
