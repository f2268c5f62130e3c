"""``uasbench track``: log every metrics file of the workflow to MLflow, one run per (run, dataset, seed).

The files come from the workflow (the track rule's inputs), or, when none are given, from the results folder;
each one must belong to a run and dataset of the config. The same predictions' metrics under a paper's protocol
(``metrics_<protocol>/``) join their run as ``protocol.<p>.<metric>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from tqdm.auto import tqdm

from uasbench import layout
from uasbench.config import model_entries
from uasbench.errors import DataError
from uasbench.io import read_json_object, write_json
from uasbench.reports.collect import efficiency_for, read_metrics, run_metrics
from uasbench.tracking import (
    artifact_root,
    check_store,
    environment_tags,
    experiment_name,
    flatten,
    log_result,
    tracking_uri_for,
    with_aliases,
)

TRAINING_EXPERIMENT = "_training"  # no dataset key starts with "_", so it never names a dataset's experiment

Job = tuple[str, str, int]  # (dataset, run, seed)


def sort_metric_files(config: dict, files: Sequence[str | Path] | None = None
                      ) -> tuple[dict[Job, Path], dict[Job, dict[str, Path]]]:
    """The metrics file of each job and its paper-protocol copies (protocol -> file), from ``files`` or, without
    them, everything under ``metrics/`` and ``metrics_<protocol>/``. A look-alike name, a run or dataset the config
    does not define, a second file of one job and a protocol copy without its job's metrics are errors."""
    if files is None:
        files = layout.find_metrics_files(config) + layout.find_metrics_files(config, protocols=True)
    main: dict[Job, Path] = {}
    copies: dict[Job, dict[str, Path]] = {}
    for path in map(Path, files):
        key = layout.parse_metrics_file(path, config)
        job = (key.dataset, key.run, key.seed)
        slot = main if key.protocol is None else copies.setdefault(job, {})
        name = job if key.protocol is None else key.protocol
        if name in slot:
            raise DataError(f"{path}: a second metrics file of {key.run} on {key.dataset}, seed {key.seed} "
                            f"(the other: {slot[name]})")
        slot[name] = path
    for job, by_protocol in copies.items():
        if job not in main:
            path = next(iter(by_protocol.values()))
            raise DataError(f"{path}: no metrics file of {job[1]} on {job[0]}, seed {job[2]} under the configured "
                            f"protocol ({layout.metrics_file(config, job[1], job[0], job[2])}) to add it to")
    return main, copies


def protocol_metrics(by_protocol: dict[str, Path]) -> dict[str, float]:
    """Means of the same prediction under the papers' protocols, keyed ``protocol.<p>.<metric>``."""
    from uasbench.reports.paper_protocol import COLUMN_PREFIX

    metrics: dict[str, float] = {}
    for protocol, path in sorted(by_protocol.items()):
        result = read_metrics(path)
        if result.get("protocol") != protocol:
            raise DataError(f"{path}: holds protocol {result.get('protocol')!r}, its folder says {protocol!r}")
        metrics.update({f"{COLUMN_PREFIX}{protocol}.{k}": v for k, v in result["mean"].items()})
    return metrics


def image_score_tags(result: dict[str, Any], by_protocol: dict[str, Path]) -> dict[str, str]:
    """Which image score each evaluation used (``image_score``, ``protocol.<p>.image_score``), from the metrics files'
    ``meta.evaluation``, so a table can say per row how its images were scored."""
    from uasbench.reports.paper_protocol import COLUMN_PREFIX

    def used(res: dict[str, Any]) -> str:
        return str((res.get("meta", {}).get("evaluation") or {}).get("image_score", "unknown"))

    tags = {"image_score": used(result)}
    tags.update({f"{COLUMN_PREFIX}{protocol}.image_score": used(read_metrics(path))
                 for protocol, path in sorted(by_protocol.items())})
    return tags


def run_times(meta: dict[str, Any], pred_dir: Path, fallback: Path) -> tuple[int, int]:
    """(start, end) in ms of the prediction: it ended when its meta.json was written and took ``seconds``."""
    done = pred_dir / layout.PREDICTIONS_META
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
    if (pred_dir / layout.PREDICTIONS_META).is_file():
        artifacts.append(heatmap_figure(pred_dir, scratch / "heatmaps.png", max_categories=3))
    return artifacts


def track_all(config: dict, out: str | Path, files: Sequence[str | Path] | None = None) -> list[dict[str, Any]]:
    """Log ``files`` (metrics files, paper-protocol copies among them; default: all under the results folder) and
    every trained model's summary; writes the logged run ids to ``out``."""
    import tempfile

    import yaml

    uri = tracking_uri_for(config)
    env_tags = environment_tags()
    main, copies = sort_metric_files(config, files)
    if not main:
        raise DataError(f"no metrics files given, nor any under {layout.metrics_dir(config)}")
    check_store(uri)
    with tempfile.TemporaryDirectory(prefix="uasbench-track-") as scratch:
        config_file = Path(scratch) / "config.yaml"
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        logged = track_training(config, uri, env_tags)
        for job, path in tqdm(sorted(main.items(), key=lambda item: item[1]), desc="log to MLflow"):
            logged.append(track_prediction(config, uri, env_tags, job, path, copies.get(job, {}), config_file,
                                           Path(scratch)))
    write_json(out, {"tracking_uri": uri, "runs": logged})
    return logged


def track_prediction(config: dict, uri: str, env_tags: dict[str, str], job: Job, path: Path,
                     by_protocol: dict[str, Path], config_file: Path, scratch: Path) -> dict[str, Any]:
    """One metrics file as one MLflow run (params, metrics + hyphen-free aliases, tags, times, artifacts)."""
    result = read_metrics(path)
    meta = result.get("meta", {})
    dataset, run, seed = job
    run_cfg = config["runs"][run]
    efficiency = efficiency_for(config, run)
    key = f"{run}|{dataset}|seed{seed}"
    model = model_of(run_cfg)
    params = {**flatten("run", run_cfg), **flatten("dataset", config["datasets"][dataset]),
              "run.model": model, "seed": seed, "prompt": meta.get("prompt"), "image_size": meta.get("image_size")}
    if "model" in run_cfg:
        section = "training" if run_cfg["model"] in config.get("training", {}) else "checkpoint"
        params.update(flatten(section, model_entries(config)[run_cfg["model"]]))
    tags = {**env_tags, "method": run_cfg.get("method", meta.get("method", run)), "run": run, "dataset": dataset,
            "seed": str(seed), "device": meta.get("device", "unknown"), "model": model,
            "precision": meta.get("precision", "fp32"),
            "weight_source": meta.get("weight_source", "unknown"), "metric_protocol": result.get("protocol", "?"),
            "tier": config["tier"], "mlflow.source.name": f"uasbench predict {run}",
            **image_score_tags(result, by_protocol)}
    source = f"{layout.efficiency_file(config, run)} (or 'meta.params' of {path})"
    metrics = with_aliases({**run_metrics(result, efficiency, source), **protocol_metrics(by_protocol)})
    pred_dir = Path(meta.get("evaluation", {}).get("pred_dir") or layout.prediction_dir(config, run, dataset, seed))
    start, end = run_times(meta, pred_dir, path)
    experiment = experiment_name(config, dataset)
    run_id = log_result(uri, experiment, key, params, metrics, tags, start_ms=start, end_ms=end,
                        artifacts=run_artifacts(config_file, path, pred_dir, scratch),
                        artifact_dir=artifact_root(config))
    return {"key": key, "run_id": run_id, "experiment": experiment}


def track_training(config: dict, uri: str, env_tags: dict[str, str]) -> list[dict[str, Any]]:
    """One run per trained model (``models/<name>/train_summary.json``): its settings as params, the per-epoch
    history (loss, lr, throughput) as metrics with ``step = epoch``, started ``train seconds`` before the summary."""
    logged = []
    experiment = experiment_name(config, TRAINING_EXPERIMENT)
    for name, entry in config.get("training", {}).items():
        path = layout.train_summary(config, name)
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
