"""Load a run's artifacts with MLflow's own loaders and report what they return.

    python load_check.py --tracking-uri URI --run-id ID --out FILE \
        --table tables/t.json --dict config/p.json --text notes/r.md --image images/i.png

The canonical dump only hashes artifacts; this checks that MLflow can *use*
them: MlflowClient.load_table (which finds the run through the
mlflow.loggedArtifacts tag, as the UI does), mlflow.artifacts.load_dict,
load_text and load_image. The output is JSON:
{"table": {"columns": [...], "data": [[...]], "run_ids": [...]}, "dict": ...,
"text": ..., "image": {"size": [w, h], "mode": ..., "pixels": {"x,y": [...]}},
"warnings": [...], "errors": [...]}.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import canon  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracking-uri", required=True)
    ap.add_argument("--run-id", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--table")
    ap.add_argument("--dict")
    ap.add_argument("--text")
    ap.add_argument("--image")
    args = ap.parse_args(argv)

    out = {"errors": []}
    with canon.WarningRecorder() as rec:
        rec.phase = "import"
        import mlflow
        import mlflow.artifacts
        from mlflow import MlflowClient

        rec.phase = None
        rec.attach()
        mlflow.set_tracking_uri(args.tracking_uri)
        client = MlflowClient(tracking_uri=args.tracking_uri)
        run = client.get_run(args.run_id)
        base = run.info.artifact_uri.rstrip("/")

        def attempt(name, fn):
            try:
                out[name] = fn()
            except Exception as e:
                out["errors"].append(f"{name}: {type(e).__name__}: {e}")

        if args.table:

            def table():
                df = client.load_table(
                    run.info.experiment_id, args.table, extra_columns=["run_id"]
                )
                run_ids = sorted(set(df.pop("run_id")))
                return {
                    "columns": list(df.columns),
                    "data": json.loads(df.to_json(orient="values")),
                    "run_ids": run_ids,
                }

            attempt("table", table)
        if args.dict:
            attempt("dict", lambda: mlflow.artifacts.load_dict(f"{base}/{args.dict}"))
        if args.text:
            attempt("text", lambda: mlflow.artifacts.load_text(f"{base}/{args.text}"))
        if args.image:

            def image():
                img = mlflow.artifacts.load_image(f"{base}/{args.image}").convert("RGBA")
                w, h = img.size
                pixels = {f"{x},{y}": list(img.getpixel((x, y))) for x in range(w) for y in range(h)}
                return {"size": [w, h], "pixels": pixels}

            attempt("image", image)
    out["warnings"] = rec.entries
    canon.write_json(out, args.out)


if __name__ == "__main__":
    main()
