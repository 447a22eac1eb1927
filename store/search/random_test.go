package search

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"

	"github.com/mlrun-go/mlrun/internal/pyfloat"
	"github.com/mlrun-go/mlrun/store/search/internal/pysql"
)

// TestRandomFilterParity compares mlrun's parser with MLflow's on random
// filter strings written by testdata/search/random_filters.py; it runs only
// when MLRUN_RANDOM_FILTERS names that script's output.
func TestRandomFilterParity(t *testing.T) {
	path := os.Getenv("MLRUN_RANDOM_FILTERS")
	if path == "" {
		t.Skip("MLRUN_RANDOM_FILTERS is not set")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Kind   string `json:"kind"`
		Filter string `json:"filter"`
		Result struct {
			OK []struct {
				Type, Key, Comparator, Value string
			} `json:"ok"`
			Error *corpusError `json:"error"`
		} `json:"result"`
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	fail := 0
	for _, c := range cases {
		raw, err := parseSyntax(kindByName[c.Kind], c.Filter)
		ok := true
		if c.Result.Error != nil {
			if err == nil {
				ok = false
			} else {
				g, w := errOutcome(err), outcome{kind: c.Result.Error.kind(), msg: normMessage(c.Result.Error.Message)}
				ok = g.kind == w.kind && (g.kind != "invalid" || g.msg == w.msg)
			}
		} else if err != nil || len(raw) != len(c.Result.OK) {
			ok = false
		} else {
			for i, rc := range raw {
				p := c.Result.OK[i]
				var v string
				switch rc.value.Kind {
				case NoValue:
					v = "None"
				case StringValue:
					v = pysql.Repr(rc.value.Str)
				case NumberValue:
					switch {
					case rc.value.IsInt:
						v = strconv.FormatInt(rc.value.Int, 10)
					case rc.entity == Metric:
						v = pysql.Repr(rc.value.Raw)
					default:
						v = pyfloat.Repr(rc.value.Num)
					}
				case ListValue:
					v = pysql.TupleRepr(rc.list)
				}
				if rc.entity.String() != p.Type || rc.key != p.Key || rc.op != p.Comparator || v != p.Value {
					ok = false
				}
			}
		}
		if !ok {
			fail++
			if fail < 40 {
				got := "ok"
				if err != nil {
					got = err.Error()
				}
				t.Errorf("%s %q\n got %s %+v\nwant %+v %+v", c.Kind, c.Filter, got, raw, c.Result.OK, c.Result.Error)
			}
		}
	}
	t.Logf("%d/%d filter strings parse differently", fail, len(cases))
}
