"""Read the results back into one tidy DataFrame (the tables are built from it, not from memory): from MLflow, or
straight from the metrics and efficiency files (which ``uasbench track`` logs with the same readers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from uasbench import layout
from uasbench.errors import DataError
from uasbench.io import read_json_object
from uasbench.regression import check_metrics_result
from uasbench.reports.paper_protocol import COLUMN_PREFIX
from uasbench.tracking import experiment_name, search_runs, tracking_uri_for

METRICS = ("I-AUROC", "I-AP", "I-F1max", "P-AUROC", "P-AP", "P-F1max", "P-AUPRO")


def collect_runs(config: dict) -> pd.DataFrame:
    """One row per tracked (run, dataset, seed) of this config's tier; metric columns in [0, 1].

    Columns: run, dataset, seed, method, weight_source, precision, metric_protocol, the seven metrics, ``cat.<c>.<metric>``,
    params_total, params_learnable, latency_ms_b<k>, image_score and, per paper protocol,
    ``protocol.<p>.<metric>`` and ``protocol.<p>.image_score``.
    """
    uri = tracking_uri_for(config)
    experiments = [experiment_name(config, d) for d in config["datasets"]]
    df = search_runs(uri, experiments=None)
    if df.empty:
        raise DataError(f"the MLflow store {uri} holds no runs; run 'uasbench track' first")
    df = df[df["experiment_id"].notna()]
    names = _experiment_names(uri)
    df = df[df["experiment_id"].map(names).isin(experiments)]
    if df.empty:
        raise DataError(f"no tracked runs for tier {config['tier']!r} in {uri}")
    out = pd.DataFrame({
        "run": df["tags.run"], "dataset": df["tags.dataset"], "seed": df["tags.seed"].astype(int),
        "method": df["tags.method"], "weight_source": df["tags.weight_source"],
        "metric_protocol": df["tags.metric_protocol"],
        # runs tracked before the precision tag existed were fp32
        "precision": df["tags.precision"].fillna("fp32") if "tags.precision" in df else "fp32",
    })
    for col in df.columns:
        if col.startswith("metrics."):
            out[col.removeprefix("metrics.")] = df[col].astype(float)
        elif col == "tags.image_score" or col.startswith(f"tags.{COLUMN_PREFIX}"):  # which image score was used
            out[col.removeprefix("tags.")] = df[col]
    return out.sort_values(["dataset", "run", "seed"]).reset_index(drop=True)


def _experiment_names(uri: str) -> dict[str, str]:
    import mlflow

    return {e.experiment_id: e.name for e in mlflow.MlflowClient(uri).search_experiments()}


def categories_of(df: pd.DataFrame, dataset: str) -> list[str]:
    cols = [c for c in df.columns if c.startswith("cat.") and c.endswith(".I-AUROC")]
    sub = df[df["dataset"] == dataset]
    return sorted(c[len("cat."):-len(".I-AUROC")] for c in cols if sub[c].notna().any())


def read_metrics(path: Path) -> dict[str, Any]:
    """A metrics file checked for what tracking reads: ``mean`` and ``per_category`` rows of numbers, ``meta``."""
    result = read_json_object(path)
    check_metrics_result(result, path)
    if not isinstance(result.get("meta", {}), dict):
        raise DataError(f"{path}: 'meta' must be an object, got {type(result['meta']).__name__}")
    return result


def efficiency_for(config: dict, run: str) -> dict[str, Any]:
    """The run's parameter counts and latency (``uasbench bench latency``), or {} when it was not measured."""
    path = layout.efficiency_file(config, run)
    return read_json_object(path) if path.exists() else {}


def run_metrics(result: dict[str, Any], efficiency: dict[str, Any], source: str = "efficiency file"
                ) -> dict[str, float]:
    """One flat row of a run: mean and ``cat.<c>.<metric>`` values, ``params_*`` and ``latency_ms_b<k>``.

    ``source`` names the efficiency file (or the metrics file's meta) in the error for a malformed entry."""
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


def collect_metric_files(config: dict, files: list[Path] | None = None) -> pd.DataFrame:
    """The same frame as :func:`collect_runs`, read from ``files`` (default: every file under
    ``<results_dir>/metrics/``) instead of MLflow (``uasbench run`` tabulates the files it wrote, without a
    tracking store)."""
    rows = []
    for path in layout.find_metrics_files(config) if files is None else files:
        key = layout.parse_metrics_file(path, config)
        result = read_metrics(path)
        meta = result.get("meta", {})
        rows.append({"run": key.run, "dataset": key.dataset, "seed": key.seed,
                     "method": config["runs"][key.run].get("method", meta.get("method", key.run)),
                     "weight_source": meta.get("weight_source", "unknown"),
                     "precision": meta.get("precision", "fp32"),
                     "metric_protocol": result.get("protocol", "?"),
                     "image_score": (meta.get("evaluation") or {}).get("image_score", "unknown"),
                     **run_metrics(result, {}, str(path))})
    if not rows:
        raise DataError(f"no metrics files under {layout.metrics_dir(config)}")
    return pd.DataFrame(rows).sort_values(["dataset", "run", "seed"]).reset_index(drop=True)
