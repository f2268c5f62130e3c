"""MLflow logging and reading back. The DAG is the source of truth; MLflow is a view of it.

Store: sqlite under ``results/`` (the file store errors in MLflow >= 3.13), artifacts beside it. One experiment per
dataset, one run per (run name, dataset, seed), identified by the tag ``uasbench.key``: logging the same key again
replaces the old run, so re-running the workflow never duplicates runs. Every process serialises its writes with a
file lock, so parallel jobs neither lose nor duplicate runs (SQLite itself races on schema creation).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

from filelock import FileLock

from uasbench.errors import ConfigError

EXPERIMENT_PREFIX = "uasbench"
KEY_TAG = "uasbench.key"


def tracking_uri_for(config: dict) -> str:
    uri = (config.get("mlflow") or {}).get("tracking_uri")
    if uri:
        return uri
    return f"sqlite:///{(Path(config['results_dir']) / 'mlflow.db').resolve()}"


def experiment_name(config: dict, dataset: str) -> str:
    prefix = (config.get("mlflow") or {}).get("experiment_prefix", EXPERIMENT_PREFIX)
    return f"{prefix}/{config['tier']}/{dataset}"


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
    mlflow.set_tracking_uri(uri)
    return mlflow.MlflowClient(tracking_uri=uri)


def _experiment_id(client, name: str, uri: str) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    db = _db_path(uri)
    location = (db.parent / "mlflow-artifacts").resolve().as_uri() if db else None
    return client.create_experiment(name, artifact_location=location)


def environment_tags() -> dict[str, str]:
    tags = {}
    for pkg in ("torch", "timm", "open_clip_torch", "faiss-cpu", "mlflow", "snakemake", "numpy"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            tags[f"version.{pkg}"] = metadata.version(pkg)
    with contextlib.suppress(Exception):
        sha = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True)
        tags["git_sha"] = sha.stdout.strip()
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
               tags: dict[str, str], artifacts: list[Path] = ()) -> str:
    """Create (or replace) the run identified by ``key``; returns its run id."""
    import math

    with store_lock(uri):
        client = _client(uri)
        exp_id = _experiment_id(client, experiment, uri)
        for old in runs_with_key(client, exp_id, key):
            client.delete_run(old.info.run_id)
        run = client.create_run(exp_id, run_name=key, tags={**tags, KEY_TAG: key})
        from mlflow.entities import Metric, Param, RunTag

        client.log_batch(run.info.run_id,
                         metrics=[Metric(k, float(v), 0, 0) for k, v in metrics.items() if v is not None
                                  and not (isinstance(v, float) and math.isnan(v))],
                         params=[Param(k, str(v)[:6000]) for k, v in params.items()],
                         tags=[RunTag(k, str(v)) for k, v in tags.items()])
        for path in artifacts:
            client.log_artifact(run.info.run_id, str(path))
        client.set_terminated(run.info.run_id)
        return run.info.run_id


def search_runs(uri: str, experiments: list[str] | None = None):
    """All live runs as a DataFrame (``params.*``, ``metrics.*``, ``tags.*`` columns)."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    if experiments is None:
        experiments = [e.name for e in mlflow.MlflowClient(uri).search_experiments()]
    if not experiments:
        raise ConfigError(f"no experiments in the MLflow store {uri}")
    return mlflow.search_runs(experiment_names=experiments, run_view_type=1)  # ACTIVE_ONLY


def flatten(prefix: str, obj: Any) -> dict[str, Any]:
    """Nested dict → dotted keys (for params)."""
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(flatten(f"{prefix}.{k}" if prefix else str(k), v))
        return out
    return {prefix: obj}
