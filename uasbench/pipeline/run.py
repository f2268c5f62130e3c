"""``uasbench run``: one method on a user's own MVTec-layout folder, end to end (check, predict, evaluate, table).

It builds a ``custom``-tier config in memory and calls the same functions as the workflow's rules, so a user's
number is computed exactly like a benchmark number; the config is written to ``<out>/config.yaml`` so that
``uasbench track --config <out>/config.yaml`` can log the run to MLflow afterwards.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
import yaml

from uasbench import layout
from uasbench.errors import ConfigError, UasbenchError, echo
from uasbench.yamlfile import parse_yaml

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
            raise ConfigError(f"--options: {echo(item)} is not key=value (or pass one JSON object)")
        options[key.strip()] = parse_yaml(value, f"--options {key.strip()}") if value else ""
    return options


def default_prompt(method: str) -> str:
    """Zero-shot and full-shot methods take no prompt; one-prompt methods get the MetaUAS protocol's random prompt."""
    from uasbench.methods.registry import method_class

    return "random" if getattr(method_class(method), "shots", 1) else "none"


def custom_config(root: str | Path, method: str, out: str | Path, checkpoint: str | None = None,
                  prompt: str | None = None, options: dict[str, Any] | None = None, seeds: Sequence[int] = (1,),
                  image_size: int | None = None, kind: str = "folder", allow_random_weights: bool = False
                  ) -> dict[str, Any]:
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
    if allow_random_weights:
        config["allow_random_weights"] = True
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


def changed_settings(earlier: Any, config: Any, prefix: str = "") -> list[str]:
    """Every setting (``results_dir`` aside) in which two run configs differ: ``key: old -> new``, or ``key:
    added`` / ``key: removed`` for a whole entry (a run or dataset of one config only)."""
    if not (isinstance(earlier, dict) and isinstance(config, dict)):
        return [] if earlier == config else [f"{prefix}: {earlier} -> {config}"]
    changes = []
    for key in sorted(earlier.keys() | config.keys(), key=str):
        where = f"{prefix}.{key}" if prefix else str(key)
        if where == "results_dir":
            continue
        if key not in config or key not in earlier:
            changes.append(f"{where}: {'removed' if key not in config else 'added'}")
        else:
            changes += changed_settings(earlier[key], config[key], where)
    return changes


def check_earlier_run(config: dict) -> None:
    """Refuse an output folder holding results this call would not replace: an earlier ``uasbench run`` with other
    settings (other seeds, size, method...), or results without the config.yaml of the run that wrote them. Its
    files would otherwise be tabulated and tracked with this run's; the same settings again replace the same files."""
    out = layout.results_dir(config)
    earlier_file = layout.run_config(config)
    advice = f"choose a new --out, or delete {out} first"
    if earlier_file.is_file():
        try:
            earlier = yaml.safe_load(earlier_file.read_text())
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            earlier = None
        if not isinstance(earlier, dict) or earlier.get("tier") != config["tier"]:
            raise UasbenchError(f"--out {out}: {earlier_file} is not the config of an earlier 'uasbench run'; "
                                f"refusing to replace it: {advice}")
        changed = changed_settings(earlier, config)
        if changed:
            shown = "; ".join(changed[:4]) + (f"; and {len(changed) - 4} more" if len(changed) > 4 else "")
            raise UasbenchError(f"--out {out} holds the results of an earlier 'uasbench run' with other settings "
                                f"({shown}); its tables would mix both runs: {advice}")
        return
    found = sorted(p.name for p in (out.iterdir() if out.is_dir() else ()) if p.name in layout.RUN_OUTPUTS
                   or p.name.startswith(layout.PROTOCOL_PREFIX))
    if found:
        raise UasbenchError(f"--out {out} holds {', '.join(found)} but no config.yaml of the run that wrote them; "
                            f"they would be mixed with this run's: {advice}")


@contextlib.contextmanager
def exclusive_out_folder(config: dict) -> Iterator[None]:
    """Hold the output folder's lock for the whole call; a second call on the same folder is refused at once (two
    calls interleaving would leave config.yaml naming one run and the tables showing the other)."""
    from filelock import FileLock, Timeout

    from uasbench.io import ensure_writable_dir

    path = layout.run_lock(config)
    ensure_writable_dir(path.parent)
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise UasbenchError(f"another 'uasbench run' is writing into {path.parent} (it holds {path}); wait for it to "
                            "finish or choose another --out") from None
    try:
        yield
    finally:
        lock.release()


def run_custom(config: dict, device: torch.device, batch_size: int = 16, protocol: str = "official"
               ) -> dict[str, Any]:
    """Predict and evaluate every (run, dataset, seed) of ``config``, then tabulate what this call computed (and
    nothing an earlier call left); returns what it wrote."""
    from uasbench.io import write_text
    from uasbench.pipeline.evaluate import evaluate_predictions
    from uasbench.pipeline.jobs import prediction_jobs
    from uasbench.pipeline.predict import run_predict
    from uasbench.pipeline.weights import check_needs, config_needs
    from uasbench.reports.build import DEFAULT_COLUMNS, metrics_table, per_category_table, write_table
    from uasbench.reports.collect import collect_metric_files

    # a missing pretrained weight fails before the data check and any model
    check_needs(config_needs(config, refusable_only=True))
    out = layout.results_dir(config)
    check_earlier_run(config)  # before reading any image: the folder's state is known now
    counts = {ds: check_data(config, ds) for ds in config["datasets"]}  # a bad folder fails before anything is written
    with exclusive_out_folder(config):
        check_earlier_run(config)  # again under the lock: a call that ended meanwhile may have written there
        write_text(layout.run_config(config), yaml.safe_dump(config, sort_keys=False))
        metrics_files = []
        for run_name, dataset, seed in prediction_jobs(config):  # the workflow's jobs of this config
            pred = layout.prediction_dir(config, run_name, dataset, seed)
            run_predict(config, run_name, dataset, seed, pred, device, batch_size=batch_size)
            metrics_files.append(layout.metrics_file(config, run_name, dataset, seed))
            evaluate_predictions(pred, metrics_files[-1], protocol=protocol, progress=False)
        df = collect_metric_files(config, metrics_files)
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
