"""Records the SQLite schemas of real MLflow releases (driven by scripts/record-schemas.sh).

  python3 record.py heads WHEEL_DIR
      Reads the alembic migrations (mlflow/store/db_migrations/versions/*.py) of
      every mlflow_skinny-X-*.whl in WHEEL_DIR, without importing them, and prints
      one line per release, oldest first: "<release>\t<head revision>\t<number of
      revisions>". Fails if a release's migrations have no single head.

  python record.py create DB_PATH ARTIFACT_ROOT
      Run with the python of a virtualenv holding MLflow's dependencies and, on
      PYTHONPATH, the package of the release to record (an unpacked wheel). Starts
      that release's tracking and model registry SqlAlchemyStore on a new
      sqlite:///DB_PATH, exactly as a client does on first use (create_all, alembic
      upgrade, the Default experiment), and prints one line
      "RESULT {version, head, chain, import_s, create_s}". The Go side
      (go test ./sqlstore/schema -run TestRecordSchemas -record DIR) turns the
      database into the embedded schema and the golden fingerprint.
"""

import ast
import json
import re
import sys
import time
import zipfile
from pathlib import Path

VERSIONS_DIR = re.compile(r"mlflow/store/db_migrations/versions/[^/]+\.py$")
WHEEL = re.compile(r"mlflow_skinny-(\d+\.\d+\.\d+)-")


def version_key(v):
    return [int(x) for x in v.split(".")]


def revisions(wheel):
    """Maps each revision of the wheel's migrations to its down_revision."""
    out = {}
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            if not VERSIONS_DIR.match(name):
                continue
            values = {}
            for node in ast.parse(z.read(name)).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1:
                    target, value = node.targets[0], node.value
                elif isinstance(node, ast.AnnAssign) and node.value is not None:
                    target, value = node.target, node.value
                else:
                    continue
                if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                    values[target.id] = ast.literal_eval(value)
            if "revision" in values:
                out[values["revision"]] = values.get("down_revision")
    return out


def heads(wheel_dir):
    wheels = []
    for w in Path(wheel_dir).glob("mlflow_skinny-*.whl"):
        m = WHEEL.match(w.name)
        if m:
            wheels.append((version_key(m.group(1)), m.group(1), w))
    if not wheels:
        sys.exit("record.py: no mlflow_skinny-*.whl in " + wheel_dir)
    for _, version, wheel in sorted(wheels):
        revs = revisions(wheel)
        downs = set()
        for d in revs.values():
            downs.update(d if isinstance(d, (list, tuple)) else [d] if d else [])
        tips = sorted(r for r in revs if r not in downs)
        if len(tips) != 1:
            sys.exit("record.py: MLflow %s has %d alembic heads: %s" % (version, len(tips), tips))
        print("%s\t%s\t%d" % (version, tips[0], len(revs)))


def create(path, root):
    t0 = time.perf_counter()
    import mlflow
    from alembic.script import ScriptDirectory
    from mlflow.store.db.utils import _get_alembic_config, _get_latest_schema_revision
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    t1 = time.perf_counter()
    uri = "sqlite:///" + path
    SqlAlchemyStore(uri, root)
    RegistryStore(uri)
    t2 = time.perf_counter()
    script = ScriptDirectory.from_config(_get_alembic_config(db_url=""))
    chain = [r.revision for r in script.walk_revisions()][::-1]
    print("RESULT " + json.dumps({
        "version": mlflow.__version__,
        "head": _get_latest_schema_revision(),
        "chain": chain,
        "import_s": t1 - t0,
        "create_s": t2 - t1,
    }))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "heads":
        heads(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "create":
        create(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
