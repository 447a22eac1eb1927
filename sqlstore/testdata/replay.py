"""Replay a list of tracking operations with MLflow's own client on a SQLite store.

    python replay.py OPS.json sqlite:////abs/path/mlflow.db

The operations are the JSON list TestSameRowsAsMLflow (replay_test.go) also
runs through mlrun's sqlstore; the test then compares the two databases row
by row. Metric values are strings ("nan", "inf", "-0.0", "1e-05") so that
JSON can carry them. Prints {"runs": {label: run_id}, "errors": {index:
"ErrorCode: message"}} on stdout. Uses only mlflow and the standard library.
"""

import json
import sys
import warnings

warnings.simplefilter("ignore")

from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402


def main():
    ops = json.load(open(sys.argv[1]))
    client = MlflowClient(sys.argv[2])
    runs, exps, errors = {}, {}, {}
    for i, op in enumerate(ops):
        kind = op["op"]
        try:
            if kind == "create_experiment":
                exps[op["name"]] = client.create_experiment(
                    op["name"], artifact_location=op.get("location") or None, tags=op.get("tags") or None
                )
            elif kind == "create_run":
                tags = dict(op.get("tags") or {})
                tags["mlflow.user"] = op["user"]
                exp_id = exps.get(op.get("exp"), "0")
                run = client.create_run(
                    exp_id, start_time=op["start_time"], tags=tags, run_name=op.get("name") or None
                )
                runs[op["run"]] = run.info.run_id
            elif kind == "log_batch":
                client.log_batch(
                    runs[op["run"]],
                    metrics=[Metric(k, float(v), ts, step) for k, v, ts, step in op.get("metrics") or []],
                    params=[Param(k, v) for k, v in op.get("params") or []],
                    tags=[RunTag(k, v) for k, v in op.get("tags") or []],
                )
            elif kind == "log_metric":
                k, v, ts, step = op["metric"]
                client.log_metric(runs[op["run"]], k, float(v), timestamp=ts, step=step)
            elif kind == "set_tag":
                client.set_tag(runs[op["run"]], op["key"], op["value"])
            elif kind == "delete_tag":
                client.delete_tag(runs[op["run"]], op["key"])
            elif kind == "update_run":
                client.update_run(runs[op["run"]], status=op.get("status") or None, name=op.get("name") or None)
            elif kind == "set_terminated":
                client.set_terminated(runs[op["run"]], status=op["status"], end_time=op["end_time"])
            elif kind == "delete_run":
                client.delete_run(runs[op["run"]])
            elif kind == "restore_run":
                client.restore_run(runs[op["run"]])
            elif kind == "delete_experiment":
                client.delete_experiment(exps[op["exp"]])
            elif kind == "restore_experiment":
                client.restore_experiment(exps[op["exp"]])
            elif kind == "rename_experiment":
                client.rename_experiment(exps[op["exp"]], op["name"])
            elif kind == "set_experiment_tag":
                client.set_experiment_tag(exps[op["exp"]], op["key"], op["value"])
            elif kind == "log_inputs":
                client.log_inputs(
                    runs[op["run"]],
                    datasets=[
                        DatasetInput(
                            Dataset(d["name"], d["digest"], d["source_type"], d["source"], d.get("schema"), d.get("profile")),
                            tags=[InputTag(k, v) for k, v in d.get("tags") or []],
                        )
                        for d in op["datasets"]
                    ],
                )
            else:
                raise SystemExit(f"unknown op {kind!r}")
        except MlflowException as e:
            errors[str(i)] = f"{e.error_code}: {e.message}"
    json.dump({"runs": runs, "errors": errors}, sys.stdout)


if __name__ == "__main__":
    main()
