"""Each list of the config has one source: the schema's enums equal the package's lists, and the workflow and
``uasbench run`` predict the same (run, dataset, seed) jobs."""

from __future__ import annotations

import copy
from pathlib import Path

from uasbench.config import load_config, load_schema, validate_config
from uasbench.datasets.change_pairs.sampling import DEFAULT_SAMPLING, SAMPLINGS
from uasbench.datasets.splits import DATASET_KINDS
from uasbench.metrics.protocols import DEFAULT_PROTOCOL, PROTOCOLS
from uasbench.pipeline.jobs import PROMPT_MODES, prediction_jobs, run_datasets, run_seeds

ROOT = Path(__file__).resolve().parents[2]


def entry_schema(section: str) -> dict:
    return load_schema()["properties"][section]["additionalProperties"]["properties"]


def test_schema_enums_are_the_package_lists():
    assert tuple(entry_schema("runs")["prompt"]["enum"]) == PROMPT_MODES
    assert tuple(entry_schema("datasets")["kind"]["enum"]) == DATASET_KINDS
    protocol = load_schema()["properties"]["metric_protocol"]
    assert protocol["default"] == DEFAULT_PROTOCOL and set(protocol["enum"]) == set(PROTOCOLS)
    sampling = load_schema()["properties"]["change_pairs"]["properties"]["sampling"]
    assert sampling["default"] == DEFAULT_SAMPLING and tuple(sampling["enum"]) == SAMPLINGS


def test_validation_sets_the_schema_defaults_once_for_every_reader():
    config = validate_config({"tier": "ci", "results_dir": "results", "datasets": {"d": {"kind": "synthetic-ad"}},
                              "runs": {"r": {"method": "random"}}})
    assert config["device"] == "auto" and config["metric_protocol"] == DEFAULT_PROTOCOL
    assert config["prompt_seeds"] == [0] and config["datasets"]["d"]["image_size"] == 256
    assert config["runs"]["r"] == {"method": "random", "prompt": "random", "precision": "fp32",
                                   "channels_last": False, "compile": False}
    assert config["efficiency"] == {"batch_sizes": [1, 32], "warmup": 2, "repeats": 5}
    assert config["change_pairs"]["inpainter"] == "telea" and "coco_images" not in config["change_pairs"]
    assert config["change_pairs"]["sampling"] == "paper"
    assert validate_config(copy.deepcopy(config)) == config  # a second pass changes nothing


def test_jobs_follow_seeds_datasets_and_prompt_modes():
    config = {"prompt_seeds": [1, 3], "datasets": {"a": {}, "b": {}},
              "runs": {"one-prompt": {"prompt": "random"}, "zero-shot": {"prompt": "none"},
                       "own-seeds": {"prompt": "random-per-image", "seeds": [5], "datasets": ["b"]},
                       "best": {"prompt": "best-match", "seeds": [7]}}}
    assert run_seeds(config, "one-prompt") == [1, 3] and run_seeds(config, "zero-shot") == [0]
    assert run_seeds(config, "best") == [0] and run_datasets(config, "own-seeds") == ["b"]
    assert prediction_jobs(config) == [("one-prompt", "a", 1), ("one-prompt", "a", 3), ("one-prompt", "b", 1),
                                       ("one-prompt", "b", 3), ("zero-shot", "a", 0), ("zero-shot", "b", 0),
                                       ("own-seeds", "b", 5), ("best", "a", 0), ("best", "b", 0)]


def test_ci_config_jobs():
    config = load_config(ROOT / "config" / "ci.yaml")
    seeds = {run: {seed for r, _, seed in prediction_jobs(config) if r == run} for run in config["runs"]}
    assert seeds["metauas"] == {1, 3} and seeds["onenip"] == {1, 3}
    assert seeds["random"] == seeds["uniad"] == seeds["metauas-best"] == {0}
