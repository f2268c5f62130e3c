"""``uasbench track``: log every metrics file of the workflow to MLflow, one run per (run, dataset, seed)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from uasbench.errors import DataError
from uasbench.io import write_json
from uasbench.regression import check_metrics_result
from uasbench.tracking import environment_tags, experiment_name, flatten, log_result, tracking_uri_for


_SEED_FILE = re.compile(r"^seed(\d+)\.json$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")  # dataset and run folder names (they become MLflow keys)


def metric_files(config: dict) -> list[Path]:
    """``metrics/<dataset>/<run>/seed<N>.json``; a look-alike (``seed0 (copy).json``, odd folder names) is an error
    rather than a guess, since every file found becomes a logged run."""
    root = Path(config["results_dir"]) / "metrics"
    files = sorted(root.glob("*/*/seed*.json"))
    for path in files:
        if not _SEED_FILE.match(path.name) or not all(_NAME.match(p.name) for p in (path.parent, path.parent.parent)):
            raise DataError(f"{path}: not a metrics file name: expected {root}/<dataset>/<run>/seed<N>.json with "
                            "plain names (letters, digits, _ . + -); move the stray file out of the metrics folder")
    return files


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: cannot read JSON ({err})") from err
    if not isinstance(data, dict):
        raise DataError(f"{path}: must hold a JSON object, got {type(data).__name__}")
    return data


def read_metrics(path: Path) -> dict[str, Any]:
    """A metrics file checked for what tracking reads: ``mean`` and ``per_category`` rows of numbers, ``meta``."""
    result = read_json(path)
    check_metrics_result(result, path)
    if not isinstance(result.get("meta", {}), dict):
        raise DataError(f"{path}: 'meta' must be an object, got {type(result['meta']).__name__}")
    return result


def efficiency_path(config: dict, run: str) -> Path:
    return Path(config["results_dir"]) / "efficiency" / f"{run}.json"


def efficiency_for(config: dict, run: str) -> dict[str, Any]:
    path = efficiency_path(config, run)
    return read_json(path) if path.exists() else {}


def run_metrics(result: dict[str, Any], efficiency: dict[str, Any], source: str = "efficiency file"
                ) -> dict[str, float]:
    """``source`` names the efficiency file (or the metrics file's meta) in the error for a malformed entry."""
    metrics = {k: v for k, v in result["mean"].items()}
    for category, values in result["per_category"].items():
        metrics.update({f"cat.{category}.{k}": v for k, v in values.items()})
    try:
        params = efficiency.get("params") or result.get("meta", {}).get("params") or {}
        metrics.update({f"params_{k}": float(v) for k, v in params.items()})
        for batch, stats in (efficiency.get("latency_ms") or {}).items():
            metrics[f"latency_ms_b{batch}"] = float(stats["median"] if isinstance(stats, dict) else stats)
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        raise DataError(f"{source}: malformed 'params' or 'latency_ms' entry ({type(err).__name__}: {err})") from err
    return metrics


def protocol_metrics(config: dict, dataset: str, run: str, seed: int) -> dict[str, float]:
    """Means of the same prediction under the papers' protocols (``metrics_<protocol>/``), keyed
    ``protocol.<p>.<metric>``."""
    from uasbench.reports.paper_protocol import COLUMN_PREFIX

    metrics: dict[str, float] = {}
    paths = sorted(Path(config["results_dir"]).glob(f"metrics_*/{dataset}/{run}/seed{seed}.json"))
    for path in paths:
        protocol = path.parents[2].name.removeprefix("metrics_")
        result = read_metrics(path)
        if result.get("protocol") != protocol:
            raise DataError(f"{path}: holds protocol {result.get('protocol')!r}, its folder says {protocol!r}")
        metrics.update({f"{COLUMN_PREFIX}{protocol}.{k}": v for k, v in result["mean"].items()})
    return metrics


def track_all(config: dict, out: str | Path) -> list[dict[str, Any]]:
    uri = tracking_uri_for(config)
    env_tags = environment_tags()
    logged = []
    files = metric_files(config)
    if not files:
        raise DataError(f"no metrics files under {Path(config['results_dir']) / 'metrics'}")
    for path in tqdm(files, desc="log to MLflow"):
        result = read_metrics(path)
        meta = result.get("meta", {})
        dataset, run, seed = path.parent.parent.name, path.parent.name, int(path.stem.removeprefix("seed"))
        run_cfg = config["runs"].get(run, {})
        efficiency = efficiency_for(config, run)
        key = f"{run}|{dataset}|seed{seed}"
        params = {**flatten("run", run_cfg), **flatten("dataset", config["datasets"].get(dataset, {})),
                  "seed": seed, "prompt": meta.get("prompt"), "image_size": meta.get("image_size")}
        if "model" in run_cfg:
            params.update(flatten("training", config["training"][run_cfg["model"]]))
        tags = {**env_tags, "method": run_cfg.get("method", meta.get("method", run)), "run": run, "dataset": dataset,
                "seed": str(seed), "device": meta.get("device", "unknown"),
                "weight_source": meta.get("weight_source", "unknown"), "metric_protocol": result.get("protocol", "?"),
                "tier": config["tier"]}
        source = f"{efficiency_path(config, run)} (or 'meta.params' of {path})"
        metrics = {**run_metrics(result, efficiency, source), **protocol_metrics(config, dataset, run, seed)}
        run_id = log_result(uri, experiment_name(config, dataset), key, params, metrics, tags, artifacts=[path])
        logged.append({"key": key, "run_id": run_id, "experiment": experiment_name(config, dataset)})
    write_json(out, {"tracking_uri": uri, "runs": logged})
    return logged
