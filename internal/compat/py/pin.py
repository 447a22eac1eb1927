"""Pin MLflow's ids and clock while a generator script writes a store.

Shared by the corpus generators (testdata/search/make_corpus.py,
store/search/testdata/loggedmodels/make_corpus.py) so that two stores
written by real MLflow (its FileStore and its SqlAlchemyStore) hold
identical run ids, experiment ids and timestamps. Nothing else is patched.

    import pin
    pin.pin()                     # after importing mlflow
    pin.CLOCK.now = 1_700_000_000_000
    pin.UUID.forced = uuid.UUID(hex=...)
"""

import sys
import uuid as _uuid_mod


class _Clock:
    """Stands in for get_current_time_millis (and the time module)."""

    now = 1_700_000_000_000

    def __call__(self):
        return self.now

    def time(self):
        return (self.now + 0.25) / 1000.0

    def __getattr__(self, name):
        import time

        return getattr(time, name)


CLOCK = _Clock()


class _UUIDShim:
    """Stands in for the uuid module inside MLflow's store modules."""

    def __init__(self):
        self.forced = None

    def uuid4(self):
        if self.forced is not None:
            v, self.forced = self.forced, None
            return v
        return _uuid_mod.uuid4()

    def __getattr__(self, name):
        return getattr(_uuid_mod, name)


UUID = _UUIDShim()
NEXT_EXP_ID = [1]


def _next_experiment_id():
    v = NEXT_EXP_ID[0]
    NEXT_EXP_ID[0] += 1
    return v


def pin(file_store_time=False):
    """Patches the imported mlflow modules; file_store_time also pins the
    file store's time module (its time.time() calls)."""
    from mlflow.store.tracking import file_store as _file_store
    from mlflow.store.tracking import sqlalchemy_store as _sql_store

    for mod in list(sys.modules.values()):
        name = getattr(mod, "__name__", "") or ""
        if not name.startswith("mlflow"):
            continue
        if getattr(mod, "get_current_time_millis", None) is not None and name != "mlflow.utils.time":
            try:
                mod.get_current_time_millis = CLOCK
            except Exception:
                pass
    _file_store.uuid = UUID
    _sql_store.uuid = UUID
    if file_store_time:
        _file_store.time = CLOCK
    _file_store._generate_unique_integer_id = _next_experiment_id
