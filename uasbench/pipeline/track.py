"""``uasbench track``: log every metrics file of the workflow to MLflow, one run per (run, dataset, seed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from uasbench.errors import DataError
from uasbench.io import write_json
from uasbench.tracking import environment_tags, experiment_name, flatten, log_result, tracking_uri_for


def metric_files(config: dict) -> list[Path]:
    return sorted((Path(config["results_dir"]) / "metrics").glob("*/*/seed*.json"))


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: cannot read JSON ({err})") from err


def efficiency_for(config: dict, run: str) -> dict[str, Any]:
    path = Path(config["results_dir"]) / "efficiency" / f"{run}.json"
    return read_json(path) if path.exists() else {}


def run_metrics(result: dict[str, Any], efficiency: dict[str, Any]) -> dict[str, float]:
    metrics = {k: v for k, v in result["mean"].items()}
    for category, values in result["per_category"].items():
        metrics.update({f"cat.{category}.{k}": v for k, v in values.items()})
    params = efficiency.get("params") or result.get("meta", {}).get("params") or {}
    metrics.update({f"params_{k}": float(v) for k, v in params.items()})
    for batch, stats in (efficiency.get("latency_ms") or {}).items():
        metrics[f"latency_ms_b{batch}"] = float(stats["median"] if isinstance(stats, dict) else stats)
    return metrics


def track_all(config: dict, out: str | Path) -> list[dict[str, Any]]:
    uri = tracking_uri_for(config)
    env_tags = environment_tags()
    logged = []
    files = metric_files(config)
    if not files:
        raise DataError(f"no metrics files under {Path(config['results_dir']) / 'metrics'}")
    for path in tqdm(files, desc="log to MLflow"):
        result = read_json(path)
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
        run_id = log_result(uri, experiment_name(config, dataset), key, params, run_metrics(result, efficiency), tags,
                            artifacts=[path])
        logged.append({"key": key, "run_id": run_id, "experiment": experiment_name(config, dataset)})
    write_json(out, {"tracking_uri": uri, "runs": logged})
    return logged
