"""Read the tracked results back from MLflow into one tidy DataFrame (the tables are built from it, not from memory)."""

from __future__ import annotations

import pandas as pd

from uasbench.errors import DataError
from uasbench.tracking import experiment_name, search_runs, tracking_uri_for

METRICS = ("I-AUROC", "I-AP", "I-F1max", "P-AUROC", "P-AP", "P-F1max", "P-AUPRO")


def collect_runs(config: dict) -> pd.DataFrame:
    """One row per tracked (run, dataset, seed) of this config's tier; metric columns in [0, 1].

    Columns: run, dataset, seed, method, weight_source, metric_protocol, the seven metrics, ``cat.<c>.<metric>``,
    params_total, params_learnable, latency_ms_b<k>.
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
    })
    for col in df.columns:
        if col.startswith("metrics."):
            out[col.removeprefix("metrics.")] = df[col].astype(float)
    return out.sort_values(["dataset", "run", "seed"]).reset_index(drop=True)


def _experiment_names(uri: str) -> dict[str, str]:
    import mlflow

    return {e.experiment_id: e.name for e in mlflow.MlflowClient(uri).search_experiments()}


def categories_of(df: pd.DataFrame, dataset: str) -> list[str]:
    cols = [c for c in df.columns if c.startswith("cat.") and c.endswith(".I-AUROC")]
    sub = df[df["dataset"] == dataset]
    return sorted(c[len("cat."):-len(".I-AUROC")] for c in cols if sub[c].notna().any())


def collect_metric_files(config: dict) -> pd.DataFrame:
    """The same frame as :func:`collect_runs`, read from ``<results_dir>/metrics/`` instead of MLflow (``uasbench
    run`` builds its table without a tracking store)."""
    from uasbench.pipeline.track import metric_files, read_metrics, run_metrics

    rows = []
    for path in metric_files(config):
        result = read_metrics(path)
        meta = result.get("meta", {})
        run, dataset = path.parent.name, path.parent.parent.name
        rows.append({"run": run, "dataset": dataset, "seed": int(path.stem.removeprefix("seed")),
                     "method": config["runs"].get(run, {}).get("method", meta.get("method", run)),
                     "weight_source": meta.get("weight_source", "unknown"),
                     "metric_protocol": result.get("protocol", "?"), **run_metrics(result, {}, str(path))})
    if not rows:
        raise DataError(f"no metrics files under {config['results_dir']}/metrics")
    return pd.DataFrame(rows).sort_values(["dataset", "run", "seed"]).reset_index(drop=True)
