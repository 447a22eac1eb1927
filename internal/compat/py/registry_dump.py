"""Dump an MLflow model registry in a canonical JSON form, through MlflowClient.

    python registry_dump.py --uri URI --out dump.json [--queries q.json] [--normalize-root ROOT]

URI is a file:///…, sqlite:///… or http://… tracking URI (also used as the
registry URI). The dump holds every registered model (search_registered_models,
paged), every model version (search_model_versions, paged, plus
get_model_version and get_model_version_download_uri for each), the latest
versions per stage (get_latest_versions with no stages and with each stage), and
every alias resolved with get_model_version_by_alias. --queries names a JSON file
{"rm": [filter, ...], "mv": [filter, ...], "missing": [[name, version], ...],
"mlmodel": [path, ...]}: the result of each registered-model / model-version
search (names, or [name, version] pairs, in MLflow's order), the error code of
get_model_version for each missing version, and mlflow.models.Model.load of each
MLmodel path. Errors are recorded, not raised.
"""

import argparse
import json
import logging
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import canon  # noqa: E402


def _err(e):
    code = getattr(e, "error_code", None)
    return {"error": code or type(e).__name__, "message": str(e)[:300]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uri", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--queries")
    ap.add_argument("--normalize-root")
    a = ap.parse_args()

    import mlflow
    from mlflow import MlflowClient

    caught = []
    warnings.simplefilter("always")
    warnings.showwarning = lambda m, c, f, l, *_: caught.append(f"{c.__name__}: {m}")

    class H(logging.Handler):
        def emit(self, rec):
            caught.append(f"{rec.levelname} {rec.name}: {rec.getMessage()}")

    logging.getLogger().addHandler(H(level=logging.WARNING))


    mlflow.set_tracking_uri(a.uri)
    mlflow.set_registry_uri(a.uri)
    c = MlflowClient(tracking_uri=a.uri, registry_uri=a.uri)
    root = a.normalize_root

    def norm(s):
        if root and isinstance(s, str):
            return s.replace(root, "<ROOT>")
        return s

    def mv_dict(mv):
        return {
            "name": mv.name,
            "version": str(mv.version),
            "creation_timestamp": mv.creation_timestamp,
            "last_updated_timestamp": mv.last_updated_timestamp,
            "current_stage": mv.current_stage,
            "description": mv.description,
            "user_id": mv.user_id,
            "source": norm(mv.source),
            "run_id": mv.run_id,
            "run_link": mv.run_link,
            "status": mv.status,
            "status_message": mv.status_message,
            "tags": dict(sorted((mv.tags or {}).items())),
            "aliases": sorted(mv.aliases or []),
            "model_id": getattr(mv, "model_id", None),
        }

    out = {"mlflow_version": mlflow.__version__, "models": [], "versions": [], "latest": {},
           "by_alias": {}, "searches": {"rm": {}, "mv": {}}, "missing": {}, "mlmodel": {},
           "errors": [], "warnings": caught}

    try:
        rms = list(canon.paged(lambda t: c.search_registered_models(max_results=2, page_token=t)))
    except Exception as e:  # noqa: BLE001
        out["errors"].append(["search_registered_models", _err(e)])
        rms = []
    for rm in rms:
        try:
            g = c.get_registered_model(rm.name)
        except Exception as e:  # noqa: BLE001
            out["errors"].append(["get_registered_model", rm.name, _err(e)])
            continue
        out["models"].append({
            "name": g.name,
            "creation_timestamp": g.creation_timestamp,
            "last_updated_timestamp": g.last_updated_timestamp,
            "description": g.description,
            "tags": dict(sorted((g.tags or {}).items())),
            "aliases": {k: str(v) for k, v in sorted((g.aliases or {}).items())},
            "latest_versions": sorted(
                [[lv.current_stage, str(lv.version)] for lv in (g.latest_versions or [])]),
            "search_equal": rm.name == g.name and rm.description == g.description
            and dict(rm.tags or {}) == dict(g.tags or {}),
        })
        lat = {}
        try:
            lat["all"] = sorted([[m.current_stage, str(m.version)] for m in c.get_latest_versions(g.name)])
            for st in ["None", "Staging", "Production", "Archived"]:
                lat[st] = [str(m.version) for m in c.get_latest_versions(g.name, stages=[st])]
        except Exception as e:  # noqa: BLE001
            lat["error"] = _err(e)
        out["latest"][g.name] = lat
        ba = {}
        for alias in sorted((g.aliases or {}).keys()):
            try:
                ba[alias] = str(c.get_model_version_by_alias(g.name, alias).version)
            except Exception as e:  # noqa: BLE001
                ba[alias] = _err(e)
        out["by_alias"][g.name] = ba

    try:
        mvs = list(canon.paged(lambda t: c.search_model_versions(max_results=3, page_token=t)))
    except Exception as e:  # noqa: BLE001
        out["errors"].append(["search_model_versions", _err(e)])
        mvs = []
    for mv in sorted(mvs, key=lambda m: (m.name, int(m.version))):
        d = mv_dict(mv)
        try:
            g = mv_dict(c.get_model_version(mv.name, mv.version))
            d["get_equal"] = g == d
            if not d["get_equal"]:
                d["get"] = g
            d["download_uri"] = norm(c.get_model_version_download_uri(mv.name, mv.version))
        except Exception as e:  # noqa: BLE001
            d["get_error"] = _err(e)
        out["versions"].append(d)

    q = {}
    if a.queries:
        with open(a.queries) as f:
            q = json.load(f)
    for flt in (q.get("rm") or []):
        try:
            res = list(canon.paged(lambda t: c.search_registered_models(filter_string=flt, max_results=100, page_token=t)))
            out["searches"]["rm"][flt] = [m.name for m in res]
        except Exception as e:  # noqa: BLE001
            out["searches"]["rm"][flt] = _err(e)
    for flt in (q.get("mv") or []):
        try:
            res = list(canon.paged(lambda t: c.search_model_versions(filter_string=flt, max_results=100, page_token=t)))
            out["searches"]["mv"][flt] = [[m.name, str(m.version)] for m in res]
        except Exception as e:  # noqa: BLE001
            out["searches"]["mv"][flt] = _err(e)
    for name, ver in (q.get("missing") or []):
        key = f"{name}/{ver}"
        try:
            mv = c.get_model_version(name, ver)
            out["missing"][key] = {"found": str(mv.version)}
        except Exception as e:  # noqa: BLE001
            out["missing"][key] = _err(e)["error"]
    for path in (q.get("mlmodel") or []):
        try:
            from mlflow.models import Model

            m = Model.load(path)
            out["mlmodel"][path] = {
                "flavors": sorted(m.flavors.keys()),
                "run_id": m.run_id,
                "model_uuid": m.model_uuid,
                "artifact_path": m.artifact_path,
                "utc_time_created": str(m.utc_time_created),
                "model_id": getattr(m, "model_id", None),
            }
        except Exception as e:  # noqa: BLE001
            out["mlmodel"][path] = _err(e)
    for uri in (q.get("download") or []):
        try:
            import mlflow.artifacts

            p = mlflow.artifacts.download_artifacts(artifact_uri=uri, tracking_uri=a.uri)
            out.setdefault("download", {})[uri] = sorted(os.listdir(p)) if os.path.isdir(p) else [os.path.basename(p)]
        except Exception as e:  # noqa: BLE001
            out.setdefault("download", {})[uri] = _err(e)

    with open(a.out, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True, default=str)


if __name__ == "__main__":
    sys.exit(main())
