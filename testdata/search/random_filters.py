#!/usr/bin/env python3
"""Random filter strings parsed by MLflow, for an opt-in differential test.

    /path/to/venv/bin/python testdata/search/random_filters.py SEED COUNT OUT.json
    MLRUN_RANDOM_FILTERS=OUT.json go test ./store/search -run TestRandomFilterParity

Each string is parsed as a search_runs and as a search_experiments filter by
MLflow's own parser; the Go test checks mlrun's parser gives the same
clauses or the same error. The output is not committed (it is large).
"""
import json, random, sys, os
os.environ["MLFLOW_ALLOW_FILE_STORE"]="true"
from mlflow.utils.search_utils import SearchUtils, SearchExperimentsUtils
from mlflow.exceptions import MlflowException
rng = random.Random(int(sys.argv[1]))
alpha = ["'", '"', "`", "(", ")", " ", " ", " ", ".", ",", "a", "b", "IN", "in", "NOT", "AND", "and", "OR", "=", "!=", "<", ">=", "%", "_", "$", "$$", "/*", "*/", "--", "\n", "\t", "1", "0.5", "-", ":", "[", "]", "CASE", "END", "BEGIN", "IF", "FOR", "LOOP", "WHERE", "OVER", "AS", "metrics", "params", "tags", "attributes", "datasets", "run", "attr", "metric", "param", "tag", "dataset", "\\", "e", "E", "#", "# ", "@", "::", ";", "VALUES", "ORDER BY", "ASC", "DESC", "NULL", "IS", "x", "ü", "Ü", "0x1F", "1e3", "status", "run_id", "start_time", "created", "name", "context", "'v'", '"v"', "`k`", "LIKE", "ILIKE", "like", "NOT LIKE", "==", "<>", "~", "!", "*", "+", "SELECT", "FROM", "JOIN", "LEFT", "GROUP BY", "UNION ALL", "NULLS FIRST", "TIMESTAMP", "DATE", "'2020'", "DOUBLE PRECISION", "r'", "b'", "(", "'a',", "?", "%s", ":x", "@@", "{", "}", "ſ", "ı", "١", "\u00a0", "\u2028", "é", "Δ"]
out = []
for i in range(int(sys.argv[2])):
    k = rng.randint(1, 14)
    # bias towards structured clauses
    if rng.random() < 0.5:
        parts = []
        for j in range(rng.randint(1,3)):
            parts.append(rng.choice(["metrics.", "params.", "tags.", "attributes.", "datasets.", "", "run.", "`metrics`.", "metric."]) + rng.choice(["a", "`a b`", '"a b"', "status", "run_id", "start_time", "name", "context", "x.y", "created", "`Run name`"]) + rng.choice([" ", ""]) + rng.choice(["=", "!=", ">", "<=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL", "like", "==", "IS"]) + rng.choice([" ", ""]) + rng.choice(["1", "'v'", '"v"', "('a','b')", "('a')", "()", "-1.5", ".5", "1e3", "v", "`v`", "NULL", "", "('A', 'b',)", "(1)", "'it''s'", "'a\\'b'"]))
        s = rng.choice([" AND ", " and ", " AND  ", " OR ", "AND"]).join(parts)
        if rng.random() < 0.3:
            pos = rng.randint(0, len(s))
            s = s[:pos] + rng.choice(alpha) + s[pos:]
    else:
        s = "".join(rng.choice(alpha) for _ in range(k))
    for kind, U in (("run", SearchUtils), ("experiment", SearchExperimentsUtils)):
        try:
            r = U.parse_search_filter(s)
            res = {"ok": [{"type": p["type"], "key": p["key"], "comparator": p["comparator"], "value": repr(p["value"])} for p in r]}
        except MlflowException as e:
            res = {"error": {"class": "MlflowException", "code": e.error_code, "message": e.message}}
        except Exception as e:
            res = {"error": {"class": type(e).__name__, "message": str(e)}}
        out.append({"kind": kind, "filter": s, "result": res})
json.dump(out, open(sys.argv[3], "w"), ensure_ascii=False)
