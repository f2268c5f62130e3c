"""Which config keys each workflow job reads: the slice of the config a job's result depends on.

Snakemake reruns a job whose params differ from those it recorded when the job last ran (its default rerun trigger
``params``), and then every job downstream of it. Each rule of the workflow therefore passes
:func:`settings_digest` of its step as a param: editing a config key reruns the steps the tables below list for
it, and their dependants, and nothing else. A step reads a key when the key changes what the step writes (numbers,
or the names and notes in a file); a key a step reads only through an input file (a trained model, a generated
dataset) is not in its slice, since the input's own job reruns and the new file reruns the step.

The tables name every key of the config schema (a test checks it), so a new key gets a decision here:

- ``seeds`` and ``datasets`` of a run and ``prompt_seeds`` decide which prediction jobs exist, not what one
  computes: a new seed is a new job, and a removed one leaves the tables through the track and report inputs.
- ``results_dir`` is in every output path: a new folder holds none of the outputs, so everything runs.
- a training entry's execution fields (``workers``, ``gpus``, ``compile``; :data:`uasbench.training.EXECUTION_FIELDS`)
  change how fast a model trains, not the model, as for a resume; ``threads`` is read by no command.
- ``uasbench track`` logs every key of the runs, datasets and training entries as MLflow params, so its slice holds
  those sections whole (its copy of the config as an artifact is the config of the last tracking run).
- ``uasbench report`` reads the names the tables print, in the config's order (row and section order).
- ``uasbench evaluate`` reads the metric protocol alone (the paper-protocol copies: their protocol is in the path).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Mapping

from uasbench.pipeline.jobs import run_datasets
from uasbench.training import EXECUTION_FIELDS

Config = Mapping[str, Any]  # validated (uasbench.config.validate_config): the schema's defaults are set

PREDICT, LATENCY, TRAIN, REPORT, CONVERT = "predict", "latency", "train", "report", "convert_checkpoint"
SYNTHETIC_DATASET, CHANGE_PAIRS, EVALUATE, TRACK = "synthetic_dataset", "change_pairs", "evaluate", "track"

#: runs.<name>.<key> -> the steps that read it (besides track, which logs every key)
RUN_KEYS: dict[str, tuple[str, ...]] = {
    "method": (PREDICT, LATENCY),  # the model that predicts and is timed
    "model": (PREDICT, LATENCY),  # which trained model (its file is their input too)
    "options": (PREDICT, LATENCY),  # constructor options
    "precision": (PREDICT, LATENCY),  # numerics of the forward passes, and the tables' precision notes
    "channels_last": (PREDICT, LATENCY),
    "compile": (PREDICT, LATENCY),
    "prompt": (PREDICT, REPORT),  # which normal images are the prompts; the tables' Prompt column
    "clip_prior": (PREDICT, LATENCY),  # fused into the maps after prediction; latency times and counts it too
    "resample": (PREDICT,),  # how the run's images are resized
    "allow_random_weights": (),  # whether a job may run at all, not what it computes
    "prompt_file": (PREDICT,),
    "label": (REPORT,),  # the tables' row name
    "paper_row": (REPORT,),  # which paper number a row is compared with (and the paper-protocol jobs)
    "seeds": (),  # which jobs exist
    "datasets": (),  # which jobs exist; latency reads the first one's image_size (see latency_slice)
}

#: datasets.<name>.<key> -> the steps that read it (besides track, which logs every key)
DATASET_KEYS: dict[str, tuple[str, ...]] = {
    "kind": (PREDICT, TRAIN, REPORT),  # the loader; the paper dataset a kind stands for in paper-vs-reproduced
    "root": (PREDICT, TRAIN),
    "categories": (SYNTHETIC_DATASET, PREDICT, TRAIN),  # generated, then the filter of the loaded samples
    "image_size": (SYNTHETIC_DATASET, PREDICT, LATENCY, REPORT),  # generated and predicted size; Input column
    "seed": (SYNTHETIC_DATASET,),  # generator settings: the other steps read the generated files
    "n_train": (SYNTHETIC_DATASET,),
    "n_test_good": (SYNTHETIC_DATASET,),
    "n_test_defect": (SYNTHETIC_DATASET,),
    "paper_dataset": (REPORT,),
    "prompt_file": (PREDICT,),
}

#: top-level key -> the steps that read it; runs, datasets and training are read entry by entry (tables above)
TOP_KEYS: dict[str, tuple[str, ...]] = {
    "tier": (TRAIN, PREDICT, LATENCY, TRACK, REPORT),  # written into every result file, tag and table
    "results_dir": (),  # in every path
    "device": (TRAIN, PREDICT, LATENCY),
    "metric_protocol": (EVALUATE, REPORT),
    "prompt_seeds": (),  # which jobs exist
    "threads": (),  # read by no command
    "prompts_root": (PREDICT,),  # only where the run or dataset names a prompt file
    "datasets": (),
    "change_pairs": (CHANGE_PAIRS,),  # every key is an argument of data make-change-pairs
    "training": (),
    "runs": (),
    "tables": (REPORT,),
    "mlflow": (TRACK, REPORT),  # where runs are logged and read back
    "efficiency": (LATENCY,),  # batch sizes, warm-up and repeats of the timing
    "resample": (TRAIN, PREDICT),  # how images are resized (a run's or training entry's own value overrides it)
    "allow_random_weights": (),  # whether a job may run at all, not what it computes
    "checkpoints": (),  # read entry by entry (convert_slice)
    "report_dir": (),  # in the report's paths
    "data_root": (),  # where inputs are fetched; the roots the jobs read are in their dataset entries
    "fetch": (),  # whether the DAG downloads; the downloads are checksum-verified, so the same bytes
}


def _picked(entry: Mapping[str, Any], table: dict[str, tuple[str, ...]], step: str) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if step in table.get(key, ())}


def _top(config: Config, step: str) -> dict[str, Any]:
    return {key: config.get(key) for key, steps in TOP_KEYS.items() if step in steps and key in config}


def synthetic_dataset_slice(config: Config, dataset: str) -> dict[str, Any]:
    """The generator settings of a synthetic-ad dataset (the rule's shell command reads them from this dict)."""
    return _picked(config["datasets"][dataset], DATASET_KEYS, SYNTHETIC_DATASET)


def change_pairs_slice(config: Config) -> dict[str, Any]:
    """The ``change_pairs`` section: every key is an argument of ``data make-change-pairs``."""
    return dict(config["change_pairs"])


def train_slice(config: Config, model: str) -> dict[str, Any]:
    """The training entry but its execution fields, and how its datasets load (their files are inputs)."""
    entry = config["training"][model]
    data = entry.get("data", CHANGE_PAIRS)
    keys = [data] if isinstance(data, str) else list(data)
    datasets = {key: _picked(config["datasets"][key], DATASET_KEYS, TRAIN) for key in keys
                if key in config["datasets"]}
    return {"entry": {k: v for k, v in entry.items() if k not in EXECUTION_FIELDS}, "datasets": datasets,
            **_top(config, TRAIN)}


def predict_slice(config: Config, run: str, dataset: str) -> dict[str, Any]:
    """The run's prediction keys and how the dataset loads; the prompt-file root when a prompt file is named."""
    found = {"run": _picked(config["runs"][run], RUN_KEYS, PREDICT),
             "dataset": _picked(config["datasets"][dataset], DATASET_KEYS, PREDICT), **_top(config, PREDICT)}
    if not (found["run"].get("prompt_file") or found["dataset"].get("prompt_file")):
        found.pop("prompts_root", None)
    return found


def convert_slice(config: Config, model: str) -> dict[str, Any]:
    """The checkpoints entry: which file, which converter, the converted model's options."""
    return dict(config["checkpoints"][model])


def evaluate_slice(config: Config) -> dict[str, Any]:
    """The metric protocol; evaluate reads the predictions folder and nothing else of the config."""
    return _top(config, EVALUATE)


def latency_slice(config: Config, run: str) -> dict[str, Any]:
    """The run's model and numerics, the efficiency settings and the size it is timed at (its first dataset's)."""
    first = run_datasets(config, run)[0]
    return {"run": _picked(config["runs"][run], RUN_KEYS, LATENCY),
            "image_size": _picked(config["datasets"][first], DATASET_KEYS, LATENCY)["image_size"],
            **_top(config, LATENCY)}


def track_slice(config: Config) -> dict[str, Any]:
    """What ``uasbench track`` logs as params and tags: every run, dataset and training entry, whole."""
    sections = {key: config.get(key) for key in ("runs", "datasets", "training") if key in config}
    return {**sections, **_top(config, TRACK)}


def _ordered(section: Mapping[str, Any], table: dict[str, tuple[str, ...]] | None = None) -> list[list[Any]]:
    """``[[name, entry], ...]`` in the config's order, which the tables keep (a digest sorts mapping keys)."""
    return [[name, entry if table is None else _picked(entry, table, REPORT)] for name, entry in section.items()]


def report_slice(config: Config) -> dict[str, Any]:
    """The names the tables print, in the config's order; the numbers come from the tracked results."""
    return {"runs": _ordered(config["runs"], RUN_KEYS), "datasets": _ordered(config["datasets"], DATASET_KEYS),
            "tables": _ordered(config.get("tables") or {}), **_top(config, REPORT)}


SLICES: dict[str, Callable[..., dict[str, Any]]] = {
    SYNTHETIC_DATASET: synthetic_dataset_slice, CHANGE_PAIRS: change_pairs_slice, TRAIN: train_slice,
    PREDICT: predict_slice, EVALUATE: evaluate_slice, LATENCY: latency_slice, TRACK: track_slice,
    REPORT: report_slice, CONVERT: convert_slice,
}


def _canonical(found: dict[str, Any]) -> str:
    return json.dumps(found, sort_keys=True, separators=(",", ":"), default=str)


def job_settings(config: Config, step: str, **keys: str) -> dict[str, Any]:
    """The config slice a job of ``step`` (a rule name) reads; ``keys`` name the job (run, dataset, model).
    Mapping keys come sorted, so the slice's ``repr`` (what Snakemake records of a dict param) ignores key order."""
    return json.loads(_canonical(SLICES[step](config, **keys)))


def settings_digest(config: Config, step: str, **keys: str) -> str:
    """``sha256:<hex>`` of the job's slice as canonical JSON (sorted keys): the same settings, the same string,
    whatever the key order or comments of the YAML file."""
    return "sha256:" + hashlib.sha256(_canonical(SLICES[step](config, **keys)).encode()).hexdigest()
