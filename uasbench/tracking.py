"""MLflow logging and reading back. The DAG is the source of truth; MLflow is a view of it.

Store: sqlite under ``results/`` (the file store errors in MLflow >= 3.13). One experiment per dataset (and one
for trained models), one run per (run name, dataset, seed), identified by the tag ``uasbench.key``: logging the same
key again replaces the old run, so re-running the workflow never duplicates runs. Every process serialises its writes
with a file lock, so parallel jobs neither lose nor duplicate runs (SQLite itself races on schema creation).

Artifacts of a sqlite store live in a folder beside it (``mlflow.artifact_location``, relative to ``results_dir``;
default ``mlflow-artifacts``) and runs record them as *proxied* URIs (``mlflow-artifacts:/<experiment>/<run>/...``),
which name no absolute path: ``mlflow server --artifacts-destination <that folder>`` serves them wherever the
results folder has been moved or copied to. uasbench writes the files there itself (what the server's proxy would do).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
from pathlib import Path
from typing import Any, Iterator

from filelock import FileLock

from uasbench import layout
from uasbench.errors import ConfigError, TrackingError, UasbenchError
from uasbench.io import file_in_the_way, os_error_in, output_error
from uasbench.provenance import NOT_INSTALLED, git_commit, git_dirty, package_versions

EXPERIMENT_PREFIX = "uasbench"
KEY_TAG = "uasbench.key"
PROXIED = "mlflow-artifacts:/"
DEFAULT_ARTIFACT_DIR = "mlflow-artifacts"
# MLflow 3 opens an experiment of unknown kind on its GenAI pages; this kind opens on the runs table.
EXPERIMENT_TAGS = {"mlflow.experimentKind": "custom_model_development"}
#: MLflow's HTTP settings where the user set none: its defaults retry a dead server for 255 s before failing
MLFLOW_HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}
SERVER_PROBE_TIMEOUT_S = 5.0
SQLITE_HEADER = b"SQLite format 3\0"


def tracking_uri_for(config: dict) -> str:
    """The MLflow store: the config's ``mlflow.tracking_uri``, else the sqlite file in the results tree."""
    uri = (config.get("mlflow") or {}).get("tracking_uri")
    if uri:
        return uri
    return f"sqlite:///{layout.mlflow_db(config).resolve()}"


def experiment_name(config: dict, dataset: str) -> str:
    """``<prefix>/<tier>/<dataset>``: one MLflow experiment per dataset and tier, so tiers never mix."""
    prefix = (config.get("mlflow") or {}).get("experiment_prefix", EXPERIMENT_PREFIX)
    return f"{prefix}/{config['tier']}/{dataset}"


def artifact_root(config: dict) -> Path | None:
    """The folder holding a sqlite store's artifacts (None for a tracking server, which stores its own)."""
    if _db_path(tracking_uri_for(config)) is None:
        return None
    location = (config.get("mlflow") or {}).get("artifact_location") or DEFAULT_ARTIFACT_DIR
    return layout.in_results(config, location)  # an absolute location stays absolute


def ui_command(config: dict, port: int = 5000) -> str:
    """The command that opens this config's store in the MLflow UI (serving its artifacts from their folder)."""
    root = artifact_root(config)
    serve = f" --artifacts-destination {root}" if root is not None else ""
    return f"mlflow server --backend-store-uri {tracking_uri_for(config)}{serve} --host 127.0.0.1 --port {port}"


def metric_alias(name: str) -> str:
    """``P-AP`` -> ``P_AP``: MLflow's search grammar needs back-quotes around a name with a hyphen, not this one."""
    return name.replace("-", "_")


def with_aliases(metrics: dict[str, Any]) -> dict[str, Any]:
    """Every metric under its own name and, where it has a hyphen, under its alias too (``metrics.P_AP > 0.2``)."""
    return {**metrics, **{metric_alias(k): v for k, v in metrics.items()}}


def _db_path(uri: str) -> Path | None:
    return Path(uri[len("sqlite:///"):]) if uri.startswith("sqlite:///") else None


@contextlib.contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """An exclusive lock file beside the sqlite db (no-op for server URIs, which serialise themselves).

    filelock, not fcntl: the same lock on Linux, macOS and Windows."""
    db = _db_path(uri)
    if db is None:
        yield
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(db.with_suffix(".lock")):
        yield


def _client(uri: str):
    import mlflow

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name, value in MLFLOW_HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    mlflow.set_tracking_uri(uri)
    return mlflow.MlflowClient(tracking_uri=uri)


def _experiment_id(client, name: str, proxied: bool) -> str:
    """The experiment ``name`` (created with a proxied artifact location for a local store), tagged to open on its
    runs table."""
    exp = client.get_experiment_by_name(name)
    if exp is None:
        location = f"{PROXIED}{_plain_path(name)}" if proxied else None
        return client.create_experiment(name, artifact_location=location, tags=EXPERIMENT_TAGS)
    for key, value in EXPERIMENT_TAGS.items():
        if exp.tags.get(key) != value:
            client.set_experiment_tag(exp.experiment_id, key, value)
    return exp.experiment_id


def _plain_path(name: str) -> str:
    return "/".join(re.sub(r"[^A-Za-z0-9_.+-]+", "_", part) or "_" for part in name.split("/"))


def environment_tags() -> dict[str, str]:
    """Package versions and MLflow's standard source tags: the commit, and whether tracked files differed from it."""
    tags = {"mlflow.source.type": "LOCAL"}
    tags.update({f"version.{name}": v for name, v in package_versions().items() if v != NOT_INSTALLED})
    commit = git_commit()
    if commit is not None:
        tags["git_sha"] = tags["mlflow.source.git.commit"] = commit
        dirty = git_dirty()
        if dirty is not None:
            tags["uasbench.git.dirty"] = str(dirty).lower()
    return tags


def runs_with_key(client, exp_id: str, key: str) -> list:
    """The runs tagged ``uasbench.key == key``. MLflow's filter grammar has no escape character, so the value is
    quoted with a quote character it does not contain; a key holding both kinds is matched here, page by page."""
    quote = next((q for q in ("'", '"') if q not in key), None)
    if quote is not None:
        return list(client.search_runs([exp_id], filter_string=f"tags.`{KEY_TAG}` = {quote}{key}{quote}"))
    found, token = [], None
    while True:
        page = client.search_runs([exp_id], max_results=1000, page_token=token)
        found += [run for run in page if run.data.tags.get(KEY_TAG) == key]
        token = page.token
        if not token:
            return found


def log_result(uri: str, experiment: str, key: str, params: dict[str, Any], metrics: dict[str, float],
               tags: dict[str, str], artifacts: list[Path] = (), *, history: dict[str, list[tuple[int, float]]] | None
               = None, start_ms: int | None = None, end_ms: int | None = None, artifact_dir: Path | None = None) -> str:
    """Create (or replace) the run identified by ``key``; returns its run id.

    ``history``: metric -> [(step, value)] (e.g. the loss per epoch); ``start_ms``/``end_ms``: when the work ran
    (milliseconds since the epoch; default now); ``artifact_dir``: a sqlite store's artifact folder (default: the
    ``mlflow-artifacts`` folder beside the database).
    """
    db = _db_path(uri)
    root = artifact_dir or (db.parent / DEFAULT_ARTIFACT_DIR if db else None)
    with store_lock(uri), store_errors(uri):
        client = _client(uri)
        exp_id = _experiment_id(client, experiment, proxied=root is not None)
        earlier = runs_with_key(client, exp_id, key)
        run = client.create_run(exp_id, run_name=key, tags={**tags, KEY_TAG: key}, start_time=start_ms)
        try:
            stamp = end_ms or start_ms or 0
            points = [(k, v, stamp, 0) for k, v in metrics.items()]
            points += [(k, v, (start_ms or 0), int(step)) for k, steps in (history or {}).items()
                       for step, v in steps]
            _log_batches(client, run.info.run_id, points, params, tags)
            for path in artifacts:
                _log_artifact(client, run, Path(path), root)
            client.set_terminated(run.info.run_id, end_time=end_ms)
        except BaseException:
            client.set_terminated(run.info.run_id, status="FAILED")
            _delete_run(client, run, root)  # the earlier run of this key stays, complete
            raise
        for old in earlier:  # replaced only now that the new run is complete
            _delete_run(client, old, root)
        return run.info.run_id


def _log_artifact(client, run, path: Path, root: Path | None) -> None:
    """Copy ``path`` into the run's artifact folder (a sqlite store's proxied layout), else log it through MLflow."""
    if root is None or not run.info.artifact_uri.startswith(PROXIED):
        client.log_artifact(run.info.run_id, str(path))
        return
    dest = root / run.info.artifact_uri[len(PROXIED):]
    try:
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest / path.name)
    except OSError as err:
        raise UasbenchError(f"cannot write the MLflow artifact {dest / path.name}: {err.strerror or err}; the "
                            f"artifact folder {root} must be a writable folder (mlflow.artifact_location)") from err


def _delete_run(client, run, root: Path | None) -> None:
    """Delete an MLflow run and, in a sqlite store's artifact folder, its files."""
    client.delete_run(run.info.run_id)
    if root is not None and run.info.artifact_uri.startswith(PROXIED):
        shutil.rmtree(root / run.info.artifact_uri[len(PROXIED):], ignore_errors=True)


def _log_batches(client, run_id: str, points: list[tuple[str, Any, int, int]], params: dict[str, Any],
                 tags: dict[str, str]) -> None:
    """MLflow takes at most 1000 metrics and 100 params or tags per batch; NaN and None are left out."""
    from mlflow.entities import Metric, Param, RunTag

    metrics = [Metric(k, float(v), ts, step) for k, v, ts, step in points
               if v is not None and not (isinstance(v, float) and math.isnan(v))]
    params_ = [Param(k, str(v)[:6000]) for k, v in params.items()]
    tags_ = [RunTag(k, str(v)) for k, v in tags.items()]
    for i in range(0, len(metrics), 1000):
        client.log_batch(run_id, metrics=metrics[i:i + 1000])
    for i in range(0, max(len(params_), len(tags_)), 100):
        client.log_batch(run_id, params=params_[i:i + 100], tags=tags_[i:i + 100])


def search_runs(uri: str, experiments: list[str] | None = None):
    """All live runs as a DataFrame (``params.*``, ``metrics.*``, ``tags.*`` columns)."""
    import mlflow

    with store_errors(uri):
        mlflow.set_tracking_uri(uri)
        if experiments is None:
            experiments = [e.name for e in mlflow.MlflowClient(uri).search_experiments()]
        if not experiments:
            raise ConfigError(f"no experiments in the MLflow store {uri}")
        return mlflow.search_runs(experiment_names=experiments, run_view_type=1)  # ACTIVE_ONLY


def check_store(uri: str) -> None:
    """Fail in seconds, naming the store, where MLflow would retry for minutes and end in a traceback: a sqlite
    database that is a folder, not a database or read-only, a folder that cannot hold one, an unreachable server."""
    db = _db_path(uri)
    if db is None:
        if uri.startswith(("http://", "https://")):
            _check_reachable(uri)
        return
    if db.is_dir():
        raise TrackingError(f"MLflow store {uri}: {db} is a folder, not a database file; move it aside or set "
                            "mlflow.tracking_uri")
    if not db.exists():
        if (blocker := file_in_the_way(db.parent)) is not None:
            raise TrackingError(f"MLflow store {uri}: cannot create {db}: {blocker} is a file, not a folder")
        folder = next(p for p in db.parents if p.is_dir())
        if not os.access(folder, os.W_OK):
            raise TrackingError(f"MLflow store {uri}: cannot create {db}: {folder} is read-only")
        return
    with db.open("rb") as file:
        header = file.read(len(SQLITE_HEADER))
    if header and header != SQLITE_HEADER:
        raise TrackingError(f"MLflow store {uri}: {db} is not an SQLite database (damaged, or another file); move "
                            "it aside to start a new store, or restore it from a copy")
    _check_writable(db, uri)


def _check_writable(db: Path, uri: str) -> None:
    """Take the write lock and rewrite one header value in a transaction rolled back at once: the one test that
    sees a read-only file, folder or file system, whoever runs it."""
    import sqlite3

    try:  # the lock file beside the database is written too
        with store_lock(uri), contextlib.closing(sqlite3.connect(str(db), isolation_level=None, timeout=30)) as con:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            con.execute("BEGIN IMMEDIATE")
            try:
                con.execute(f"PRAGMA user_version = {int(version)}")
            finally:
                con.rollback()
    except (sqlite3.Error, OSError) as err:
        raise TrackingError(f"MLflow store {uri}: {db} cannot be written ({err}); make it writable, or point "
                            "mlflow.tracking_uri at a store you can write") from err


def _check_reachable(uri: str) -> None:
    """A server that does not answer within seconds is an error now; any HTTP answer means it is there."""
    import requests

    try:
        requests.get(f"{uri.rstrip('/')}/health", timeout=SERVER_PROBE_TIMEOUT_S)
    except requests.exceptions.RequestException as err:
        raise TrackingError(f"MLflow tracking server {uri} is unreachable ({type(err).__name__}); start it "
                            f"('mlflow server ...') or fix mlflow.tracking_uri") from err


@contextlib.contextmanager
def store_errors(uri: str) -> Iterator[None]:
    """MLflow, database, network and file errors while using the store, as one TrackingError line naming it."""
    from mlflow.exceptions import MlflowException
    from requests.exceptions import RequestException
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except UasbenchError:
        raise
    except (MlflowException, SQLAlchemyError, RequestException) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise TrackingError(f"MLflow store {uri}: {first[:300]}") from err
    except Exception as err:
        cause = os_error_in(err)
        if cause is None:
            raise
        what = output_error(cause.filename, cause) if cause.filename else cause.strerror or cause
        raise TrackingError(f"MLflow store {uri}: {what}") from err


def flatten(prefix: str, obj: Any) -> dict[str, Any]:
    """Nested dict → dotted keys (for params)."""
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(flatten(f"{prefix}.{k}" if prefix else str(k), v))
        return out
    return {prefix: obj}
