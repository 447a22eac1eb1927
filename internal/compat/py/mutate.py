"""Write into an existing store with MlflowClient, as a user mixing tools would.

    python mutate.py --tracking-uri URI --experiment-id EID --run-id RID

Appends to run RID (metric history, a param, a tag), creates and finishes a
new run in experiment EID, sets an experiment tag, renames the experiment
(its name gets the suffix " (renamed by MLflow)"), and creates and deletes a
second new run. Used to check that mlrun reads stores MLflow wrote
into after mlrun did.
"""

import argparse

T0 = 1_700_000_100_000


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracking-uri", required=True)
    ap.add_argument("--experiment-id", required=True)
    ap.add_argument("--run-id", required=True)
    args = ap.parse_args(argv)

    from mlflow import MlflowClient

    c = MlflowClient(tracking_uri=args.tracking_uri)
    rid, eid = args.run_id, args.experiment_id

    c.log_metric(rid, "loss", 0.001, timestamp=T0, step=100)
    c.log_metric(rid, "python_nan", float("nan"), timestamp=T0, step=-1)
    c.log_param(rid, "added_by_python", "ünï ✓")
    c.set_tag(rid, "python/tag", "yes")

    new = c.create_run(eid, start_time=T0, run_name="written by MLflow: ✓", tags={"mlflow.user": "~"})
    nid = new.info.run_id
    c.log_metric(nid, "m", -0.0, timestamp=T0, step=0)
    c.log_param(nid, "p", "null")
    c.log_text(nid, "from python\n", "py/out.txt")
    c.set_terminated(nid, "FAILED", end_time=T0 + 1)
    gone = c.create_run(eid, start_time=T0 + 2, run_name="deleted by MLflow")
    c.set_terminated(gone.info.run_id, "FINISHED", end_time=T0 + 3)
    c.delete_run(gone.info.run_id)

    exp = c.get_experiment(eid)
    c.set_experiment_tag(eid, "python", "1:20")
    c.rename_experiment(eid, exp.name + " (renamed by MLflow)")


if __name__ == "__main__":
    main()
