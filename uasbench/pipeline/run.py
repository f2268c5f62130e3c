"""``uasbench run``: one method on a user's own MVTec-layout folder, end to end (check, predict, evaluate, table).

It builds a ``custom``-tier config in memory and calls the same functions as the workflow's rules, so a user's
number is computed exactly like a benchmark number; the config is written to ``<out>/config.yaml`` so that
``uasbench track --config <out>/config.yaml`` can log the run to MLflow afterwards.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Sequence

import torch
import yaml

from uasbench.errors import ConfigError

_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]+")


def plain_name(text: str, fallback: str) -> str:
    """A config key (it becomes a folder name) made from a folder or method name."""
    name = _UNSAFE.sub("-", text).lstrip("._+-")
    return name or fallback


def parse_options(items: Sequence[str] | None) -> dict[str, Any]:
    """``--options '{"k": 1}'`` or ``--options k=1 b=true``: values are YAML scalars, so numbers and booleans keep
    their type."""
    if not items:
        return {}
    if len(items) == 1 and items[0].lstrip().startswith("{"):
        try:
            options = json.loads(items[0])
        except json.JSONDecodeError as err:
            raise ConfigError(f"--options: not a JSON object: {err}") from err
        if not isinstance(options, dict):
            raise ConfigError("--options: expected a JSON object")
        return options
    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--options: {item!r} is not key=value (or pass one JSON object)")
        options[key.strip()] = yaml.safe_load(value) if value else ""
    return options


def default_prompt(method: str) -> str:
    """Zero-shot and full-shot methods take no prompt; one-prompt methods get the MetaUAS protocol's random prompt."""
    from uasbench.methods.registry import method_class

    return "random" if getattr(method_class(method), "shots", 1) else "none"


def custom_config(root: str | Path, method: str, out: str | Path, checkpoint: str | None = None,
                  prompt: str | None = None, options: dict[str, Any] | None = None, seeds: Sequence[int] = (1,),
                  image_size: int | None = None, kind: str = "folder") -> dict[str, Any]:
    """The validated config of one run: ``datasets: {<folder name>: {kind, root}}``, ``runs: {<method>: ...}``."""
    from uasbench.config import validate_config

    root = Path(root)
    options = dict(options or {})
    if checkpoint is not None:
        if not Path(checkpoint).is_file():
            raise ConfigError(f"--checkpoint {checkpoint}: no such file")
        options["checkpoint"] = str(Path(checkpoint).resolve())
    dataset = {"kind": kind, "root": str(root.resolve())}
    if image_size is not None:
        dataset["image_size"] = image_size
    run: dict[str, Any] = {"method": method, "prompt": prompt or default_prompt(method), "seeds": list(seeds)}
    if options:
        run["options"] = options
    config = {"tier": "custom", "results_dir": str(Path(out).resolve()), "prompt_seeds": list(seeds),
              "datasets": {plain_name(root.resolve().name, "data"): dataset},
              "runs": {plain_name(method, "method"): run}}
    return validate_config(config, source="uasbench run")


def check_data(config: dict, dataset: str) -> str:
    """The data check of ``uasbench data check`` (every image and mask read): a bad folder fails before any model."""
    from uasbench.datasets.benchmarks.counts import compare_with_official, count_samples, format_count_table
    from uasbench.datasets.benchmarks.registry import load_dataset
    from uasbench.datasets.benchmarks.validation import validate_samples

    spec = config["datasets"][dataset]
    samples = load_dataset(spec["kind"], spec["root"], validate=False)
    validate_samples(samples, f"{spec['kind']} root {spec['root']}", deep=True)
    return format_count_table(compare_with_official(spec["kind"], count_samples(samples)))


def run_custom(config: dict, device: torch.device, batch_size: int = 16, protocol: str = "official"
               ) -> dict[str, Any]:
    """Predict and evaluate every (run, dataset, seed) of ``config``, then write its tables; returns what it wrote."""
    from uasbench import layout
    from uasbench.io import write_text
    from uasbench.pipeline.evaluate import evaluate_predictions
    from uasbench.pipeline.jobs import prediction_jobs
    from uasbench.pipeline.predict import run_predict
    from uasbench.reports.build import DEFAULT_COLUMNS, metrics_table, per_category_table, write_table
    from uasbench.reports.collect import collect_metric_files

    out = layout.results_dir(config)
    counts = {ds: check_data(config, ds) for ds in config["datasets"]}  # a bad folder fails before anything is written
    write_text(layout.run_config(config), yaml.safe_dump(config, sort_keys=False))
    for run_name, dataset, seed in prediction_jobs(config):  # the workflow's jobs of this config
        pred = layout.prediction_dir(config, run_name, dataset, seed)
        run_predict(config, run_name, dataset, seed, pred, device, batch_size=batch_size)
        evaluate_predictions(pred, layout.metrics_file(config, run_name, dataset, seed), protocol=protocol,
                             progress=False)
    df = collect_metric_files(config)
    meta = {"tier": config["tier"], "metric_protocol": protocol}
    runs = list(config["runs"])
    tables = []
    for dataset in config["datasets"]:
        main = metrics_table(config, df, {"runs": runs, "columns": DEFAULT_COLUMNS}, [dataset],
                             f"{', '.join(runs)} on {dataset}")
        tables.append(write_table(out, f"main_{dataset}", main, meta)[0])
        for metric in ("I-AUROC", "P-AP"):
            per_cat = per_category_table(config, df, {"runs": runs, "title": "Per category"}, dataset, metric)
            write_table(out, f"per_category_{dataset}_{metric}", per_cat, meta)
    return {"tables": tables, "counts": counts, "frame": df}
