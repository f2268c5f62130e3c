"""``uasbench track``: log every metrics file of the workflow to MLflow, one run per (run, dataset, seed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from uasbench.errors import DataError
from uasbench.io import read_json_object, write_json
from uasbench.regression import check_metrics_result
from uasbench.tracking import (artifact_root, environment_tags, experiment_name, flatten, log_result, tracking_uri_for,
                               with_aliases)


TRAINING_EXPERIMENT = "_training"  # no dataset key starts with "_", so it never names a dataset's experiment
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


def read_metrics(path: Path) -> dict[str, Any]:
    """A metrics file checked for what tracking reads: ``mean`` and ``per_category`` rows of numbers, ``meta``."""
    result = read_json_object(path)
    check_metrics_result(result, path)
    if not isinstance(result.get("meta", {}), dict):
        raise DataError(f"{path}: 'meta' must be an object, got {type(result['meta']).__name__}")
    return result


def efficiency_path(config: dict, run: str) -> Path:
    return Path(config["results_dir"]) / "efficiency" / f"{run}.json"


def efficiency_for(config: dict, run: str) -> dict[str, Any]:
    path = efficiency_path(config, run)
    return read_json_object(path) if path.exists() else {}


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


def run_times(meta: dict[str, Any], pred_dir: Path, fallback: Path) -> tuple[int, int]:
    """(start, end) in ms of the prediction: it ended when its meta.json was written and took ``seconds``."""
    done = pred_dir / "meta.json"
    end = (done if done.is_file() else fallback).stat().st_mtime
    seconds = meta.get("seconds")
    start = end - float(seconds) if isinstance(seconds, (int, float)) and seconds >= 0 else end
    return int(start * 1000), int(end * 1000)


def model_of(run_cfg: dict[str, Any]) -> str:
    """What the run's weights come from: its training entry, a checkpoint file, or "none" (untrained methods)."""
    checkpoint = (run_cfg.get("options") or {}).get("checkpoint")
    return run_cfg.get("model") or (f"checkpoint:{Path(checkpoint).name}" if checkpoint else "none")


def run_artifacts(config_file: Path, metrics_path: Path, pred_dir: Path, scratch: Path) -> list[Path]:
    """The metrics file, the resolved config and a heat-map figure of the predictions (when they are still there)."""
    from uasbench.reports.figures import heatmap_figure

    artifacts = [metrics_path, config_file]
    if (pred_dir / "meta.json").is_file():
        artifacts.append(heatmap_figure(pred_dir, scratch / "heatmaps.png", max_categories=3))
    return artifacts


def track_all(config: dict, out: str | Path) -> list[dict[str, Any]]:
    import tempfile

    import yaml

    uri = tracking_uri_for(config)
    env_tags = environment_tags()
    files = metric_files(config)
    if not files:
        raise DataError(f"no metrics files under {Path(config['results_dir']) / 'metrics'}")
    with tempfile.TemporaryDirectory(prefix="uasbench-track-") as scratch:
        config_file = Path(scratch) / "config.yaml"
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        logged = track_training(config, uri, env_tags)
        for path in tqdm(files, desc="log to MLflow"):
            logged.append(track_prediction(config, uri, env_tags, path, config_file, Path(scratch)))
    write_json(out, {"tracking_uri": uri, "runs": logged})
    return logged


def track_prediction(config: dict, uri: str, env_tags: dict[str, str], path: Path, config_file: Path,
                     scratch: Path) -> dict[str, Any]:
    """One metrics file as one MLflow run (params, metrics + hyphen-free aliases, tags, times, artifacts)."""
    result = read_metrics(path)
    meta = result.get("meta", {})
    dataset, run, seed = path.parent.parent.name, path.parent.name, int(path.stem.removeprefix("seed"))
    run_cfg = config["runs"].get(run, {})
    efficiency = efficiency_for(config, run)
    key = f"{run}|{dataset}|seed{seed}"
    model = model_of(run_cfg)
    params = {**flatten("run", run_cfg), **flatten("dataset", config["datasets"].get(dataset, {})),
              "run.model": model, "seed": seed, "prompt": meta.get("prompt"), "image_size": meta.get("image_size")}
    if "model" in run_cfg:
        params.update(flatten("training", config["training"][run_cfg["model"]]))
    tags = {**env_tags, "method": run_cfg.get("method", meta.get("method", run)), "run": run, "dataset": dataset,
            "seed": str(seed), "device": meta.get("device", "unknown"), "model": model,
            "weight_source": meta.get("weight_source", "unknown"), "metric_protocol": result.get("protocol", "?"),
            "tier": config["tier"], "mlflow.source.name": f"uasbench predict {run}"}
    source = f"{efficiency_path(config, run)} (or 'meta.params' of {path})"
    metrics = with_aliases({**run_metrics(result, efficiency, source), **protocol_metrics(config, dataset, run, seed)})
    pred_dir = Path(meta.get("evaluation", {}).get("pred_dir")
                    or Path(config["results_dir"]) / "predictions" / dataset / run / f"seed{seed}")
    start, end = run_times(meta, pred_dir, path)
    experiment = experiment_name(config, dataset)
    run_id = log_result(uri, experiment, key, params, metrics, tags, start_ms=start, end_ms=end,
                        artifacts=run_artifacts(config_file, path, pred_dir, scratch),
                        artifact_dir=artifact_root(config))
    return {"key": key, "run_id": run_id, "experiment": experiment}


def track_training(config: dict, uri: str, env_tags: dict[str, str]) -> list[dict[str, Any]]:
    """One run per trained model (``models/<name>/train_summary.json``): its settings as params, the per-epoch
    history (loss, lr, throughput) as metrics with ``step = epoch``, started ``train seconds`` before the summary."""
    from uasbench.pipeline.methods import model_dir

    logged = []
    experiment = experiment_name(config, TRAINING_EXPERIMENT)
    for name, entry in config.get("training", {}).items():
        path = model_dir(config, name) / "train_summary.json"
        if not path.is_file():
            continue
        summary = read_json_object(path)
        history = summary.get("history") or []
        series: dict[str, list[tuple[int, float]]] = {}
        for row in history:
            for metric, value in row.items():
                if metric not in ("epoch", "of_epochs") and isinstance(value, (int, float)):
                    series.setdefault(metric, []).append((int(row["epoch"]), float(value)))
        end = path.stat().st_mtime
        start = end - sum(float(row.get("seconds", 0.0)) for row in history)
        final = {f"params_{k}": float(v) for k, v in (summary.get("params") or {}).items()}  # the rest: per epoch
        tags = {**env_tags, "method": entry["method"], "model": name, "run": f"train:{name}", "tier": config["tier"],
                "device": summary.get("device", "unknown"), "weight_source": summary.get("weight_source", "unknown"),
                "mlflow.source.name": f"uasbench train {name}"}
        params = {**flatten("training", entry), **flatten("spec", (summary.get("settings") or {}).get("spec", {})),
                  "run.model": name, "n_train_items": summary.get("n_train_items")}
        run_id = log_result(uri, experiment, f"train|{name}", params, final, tags, artifacts=[path],
                            history=series, start_ms=int(start * 1000), end_ms=int(end * 1000),
                            artifact_dir=artifact_root(config))
        logged.append({"key": f"train|{name}", "run_id": run_id, "experiment": experiment})
    return logged
