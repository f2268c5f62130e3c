"""Every path of the results tree, built from a config: the one place that knows the shape of ``results/``.

The workflow's rules (``workflow/rules/*.smk``) and the Python code both ask this module, so a rule's output and
the command that reads it can never disagree. ``config`` is the workflow config, or any mapping holding
``results_dir`` (and ``tier`` for :func:`report_dir`). Arguments may be Snakemake wildcards: ``prediction_dir(config,
"{run}", "{dataset}", "{seed}")`` is the rule's output pattern ``<results>/predictions/{dataset}/{run}/seed{seed}``.

    <results_dir>/
      config.resolved.yaml                   the config every CLI call of the workflow reads
      config.yaml                            the config ``uasbench run`` ran
      .uasbench-run.lock                     held by a ``uasbench run`` writing into the folder
      data/<dataset>/dataset.json            generated datasets; data/change_pairs/manifest.json
      models/<model>/model.pt                trained models (+ checkpoint.pt, train_summary.json)
      converted/<model>/model.pt             official checkpoints converted (the config's ``checkpoints``)
      predictions/<dataset>/<run>/seed<S>/   maps, one <category>.npz each + meta.json
      metrics/<dataset>/<run>/seed<S>.json   the seven metrics under the configured protocol
      metrics_<protocol>/...                 the same predictions under a paper's protocol
      efficiency/<run>.json                  parameter counts and latency
      tables/                                the tables ``uasbench run`` wrote
      logs/<step>/...log, benchmarks/<step>/...tsv
      tracking/logged.json, mlflow.db        what ``uasbench track`` logged, and the MLflow store
    reports/<tier>/                          tables and figures (beside results/, in the working directory)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping, NamedTuple

from uasbench.errors import DataError, echo
from uasbench.names import is_safe_name
from uasbench.outdir import inside
from uasbench.predictions import META_FILE as PREDICTIONS_META

Config = Mapping[str, Any]

MODEL_FILE = "model.pt"
TRAIN_SUMMARY = "train_summary.json"
CHECKPOINT_FILE = "checkpoint.pt"  # written by uasbench.training after every epoch (resume)
METRICS = "metrics"
PREDICTIONS = "predictions"
TABLES = "tables"  # uasbench run's tables, in its output folder
RUN_OUTPUTS = (PREDICTIONS, METRICS, TABLES)  # what uasbench run writes (and metrics_<protocol>/)
PROTOCOL_PREFIX = "metrics_"  # metrics_<protocol>/: a paper protocol's copy of metrics/
CHANGE_PAIRS = "change_pairs"

_SEED_FILE = re.compile(r"seed(\d+)\.json")  # whole names only (fullmatch)


def results_dir(config: Config) -> Path:
    """The results tree's root; every other path here hangs below it."""
    return Path(config["results_dir"])


def resolved_config(config: Config) -> Path:
    """The config the workflow's commands read (``--config`` overrides on the Snakemake command line included)."""
    return results_dir(config) / "config.resolved.yaml"


def run_config(config: Config) -> Path:
    """The config ``uasbench run`` built, so that ``uasbench track --config`` can log its results."""
    return results_dir(config) / "config.yaml"


def run_lock(config: Config) -> Path:
    """The lock file ``uasbench run`` holds while it writes into its output folder (one call at a time)."""
    return results_dir(config) / ".uasbench-run.lock"


def dataset_dir(config: Config, dataset: str) -> Path:
    """A generated dataset's folder, never outside ``data/`` (a dataset key is a plain folder name)."""
    return inside(results_dir(config) / "data", dataset)


def dataset_marker(config: Config, dataset: str) -> Path:
    """The file whose existence means a generated dataset is complete."""
    return dataset_dir(config, dataset) / "dataset.json"


def change_pairs_dir(config: Config) -> Path:
    """The change pairs MetaUAS trains on (``training.<model>.data: change_pairs``)."""
    return results_dir(config) / "data" / CHANGE_PAIRS


def change_pairs_manifest(config: Config) -> Path:
    """The manifest written last by ``data make-change-pairs``: its existence means the pairs are complete."""
    return change_pairs_dir(config) / "manifest.json"


def model_dir(config: Config, model: str) -> Path:
    """``models/<model>`` (a training entry) or ``converted/<model>`` (a ``checkpoints`` entry: a folder of its own,
    so the train and convert rules never claim one file), refused when the name would leave it (see
    :func:`uasbench.outdir.inside`)."""
    if model in config.get("checkpoints", {}):
        return converted_dir(config, model)
    return inside(results_dir(config) / "models", model)


def converted_dir(config: Config, model: str) -> Path:
    """``converted/<model>``: where ``uasbench convert checkpoint`` writes a ``checkpoints`` entry's model file."""
    return inside(results_dir(config) / "converted", model)


def model_file(config: Config, model: str) -> Path:
    """A model's weights (``<model dir>/model.pt``), written by ``uasbench train`` or ``uasbench convert
    checkpoint``."""
    return model_dir(config, model) / MODEL_FILE


def train_summary(config: Config, model: str) -> Path:
    """A trained model's ``train_summary.json``, which ``uasbench track`` logs with the model's runs."""
    return model_dir(config, model) / TRAIN_SUMMARY


def job_key(run: str, dataset: str, seed: int | str) -> tuple[str, str, str]:
    """The path parts naming one prediction job: ``<dataset>/<run>/seed<S>`` (predictions, metrics, logs)."""
    return str(dataset), str(run), f"seed{seed}"


def prediction_dir(config: Config, run: str, dataset: str, seed: int | str) -> Path:
    """``predictions/<dataset>/<run>/seed<S>``: one prediction job's folder."""
    return results_dir(config).joinpath(PREDICTIONS, *job_key(run, dataset, seed))


def prediction_meta(config: Config, run: str, dataset: str, seed: int | str) -> Path:
    """The file written last into a predictions folder: the job's output as the workflow sees it."""
    return prediction_dir(config, run, dataset, seed) / PREDICTIONS_META


def find_predictions(config: Config, run: str, dataset: str) -> list[Path]:
    """The run's finished predictions folders on ``dataset`` (those holding their meta.json), sorted by name."""
    pattern = prediction_meta(config, run, dataset, "*")
    return sorted(meta.parent for meta in pattern.parents[1].glob(f"{pattern.parent.name}/{pattern.name}"))


def metrics_dir(config: Config, protocol: str | None = None) -> Path:
    """``metrics/``, or ``metrics_<protocol>/`` for the metrics under a paper's protocol."""
    return results_dir(config) / (METRICS if protocol is None else f"{PROTOCOL_PREFIX}{protocol}")


def metrics_file(config: Config, run: str, dataset: str, seed: int | str, protocol: str | None = None) -> Path:
    """``<metrics dir>/<dataset>/<run>/seed<S>.json``: one job's metrics, under ``metrics/`` or a protocol's copy."""
    dataset_part, run_part, seed_part = job_key(run, dataset, seed)
    return metrics_dir(config, protocol) / dataset_part / run_part / f"{seed_part}.json"


def efficiency_file(config: Config, run: str) -> Path:
    """``efficiency/<run>.json``: a run's parameter counts and latency from ``uasbench bench latency``."""
    return results_dir(config) / "efficiency" / f"{run}.json"


def log_file(config: Config, step: str, *key: str) -> Path:
    """``logs/<step>/<key...>.log`` (``logs/<step>.log`` without a key), e.g. ``log_file(c, "predict",
    *job_key(run, dataset, seed))``."""
    return _per_step(config, "logs", step, key, ".log")


def benchmark_file(config: Config, step: str, *key: str) -> Path:
    """Snakemake's ``benchmark:`` file of a job: ``benchmarks/<step>/<key...>.tsv``."""
    return _per_step(config, "benchmarks", step, key, ".tsv")


def _per_step(config: Config, folder: str, step: str, key: tuple[str, ...], suffix: str) -> Path:
    parts = (step, *key)
    return results_dir(config).joinpath(folder, *parts[:-1], parts[-1] + suffix)


def tracking_done(config: Config) -> Path:
    """What ``uasbench track`` writes last (the logged run ids): the report's input."""
    return results_dir(config) / "tracking" / "logged.json"


def mlflow_db(config: Config) -> Path:
    """The default MLflow store (a sqlite file), used unless ``mlflow.tracking_uri`` names another."""
    return results_dir(config) / "mlflow.db"


def in_results(config: Config, location: str | Path) -> Path:
    """A config-given location relative to the results folder (an absolute one stays absolute)."""
    return results_dir(config) / location


def report_dir(config: Config) -> Path:
    """Tables and figures of a tier: ``reports/<tier>`` in the working directory, beside ``results/`` (or the
    config's ``report_dir``, so two configs of one tier keep their reports apart)."""
    return Path(config.get("report_dir") or Path("reports") / str(config["tier"]))


class MetricsKey(NamedTuple):
    """What a metrics file's path says: which job, and under which protocol (None = the configured one)."""

    dataset: str
    run: str
    seed: int
    protocol: str | None = None


def parse_metrics_file(path: str | Path, config: Config | None = None) -> MetricsKey:
    """The job of ``metrics[_<protocol>]/<dataset>/<run>/seed<N>.json``; a look-alike (``seed0 (copy).json``, odd
    folder names) is a DataError rather than a guess, and so is, given ``config``, a run or dataset it does not
    define (a stale file of an earlier config would otherwise be counted as a result of this one)."""
    path = Path(path)
    match = _SEED_FILE.fullmatch(path.name)
    folder = path.parent.parent.parent.name if len(path.parts) >= 4 else ""
    names = (path.parent.name, path.parent.parent.name)
    if match is None or not all(is_safe_name(n) for n in names) or not (
            folder == METRICS or folder.startswith(PROTOCOL_PREFIX)):
        raise DataError(f"{path}: not a metrics file name: expected <results>/metrics/<dataset>/<run>/seed<N>.json "
                        "(or metrics_<protocol>/...) with plain names (letters, digits, _ . + -); move the stray "
                        "file out of the metrics folder")
    protocol = None if folder == METRICS else folder.removeprefix(PROTOCOL_PREFIX)
    key = MetricsKey(dataset=names[1], run=names[0], seed=int(match.group(1)), protocol=protocol)
    if config is not None:
        for section, name in (("runs", key.run), ("datasets", key.dataset)):
            if name not in config.get(section, {}):
                raise DataError(f"{path}: metrics of {section[:-1]} {echo(name)}, which the config does not define "
                                f"(its {section}: {', '.join(sorted(config.get(section, {}))) or 'none'}); "
                                "remove the stale file or add the entry back")
    return key


def find_metrics_files(config: Config, protocols: bool = False) -> list[Path]:
    """Every file under ``metrics/`` (``protocols``: under every ``metrics_<protocol>/``) that looks like a metrics
    file, sorted; each one's name is checked by :func:`parse_metrics_file` (without the config)."""
    folders = "metrics_*" if protocols else METRICS
    files = sorted(results_dir(config).glob(f"{folders}/*/*/seed*.json"))
    for path in files:
        parse_metrics_file(path)
    return files
