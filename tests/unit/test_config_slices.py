"""Every config key has a decision about which jobs read it, and every rule passes its own step's digest.

The Snakemake behaviour (which jobs an edit reruns) is tested through the workflow in
tests/integration/test_config_invalidation.py; these checks are the cheap part: a key added to the schema without
a line in uasbench.pipeline.config_slices fails here, and so does a rule that forgets its settings param.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

from uasbench.config import load_config, load_schema
from uasbench.pipeline import config_slices
from uasbench.pipeline.config_slices import DATASET_KEYS, RUN_KEYS, SLICES, TOP_KEYS, job_settings, settings_digest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "config" / "ci.yaml")


def entry_properties(schema: dict, section: str) -> set[str]:
    return set(schema["properties"][section]["additionalProperties"]["properties"])


def test_every_schema_key_is_classified():
    schema = load_schema()
    assert set(TOP_KEYS) == set(schema["properties"])
    assert set(RUN_KEYS) == entry_properties(schema, "runs")
    assert set(DATASET_KEYS) == entry_properties(schema, "datasets")
    steps = set(SLICES)
    assert {step for table in (TOP_KEYS, RUN_KEYS, DATASET_KEYS) for names in table.values() for step in names} <= steps


def test_every_rule_passes_the_digest_of_its_own_step():
    rules = {}
    for path in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=[ ]*rule \w+:)", path.read_text()):  # rules inside an `if` are indented
            head = re.match(r"[ ]*rule (\w+):", block)
            if head:
                rules[head.group(1)] = block
    # the paper-protocol copies read no config key: their protocol is a wildcard, in their output path; a download
    # reads the source table (its name is the wildcard) and checks the bytes by their hash
    assert set(rules) - {"evaluate_paper_protocol", "fetch_input"} == set(SLICES)
    for name in SLICES:
        assert re.search(rf'settings=(lambda wc: )?settings_digest\(config, "{name}"', rules[name]), name


def test_digest_ignores_key_order_and_follows_the_keys_a_job_reads():
    reordered = copy.deepcopy(CONFIG)
    reordered["runs"] = {name: dict(reversed(run.items())) for name, run in CONFIG["runs"].items()}
    relabelled = copy.deepcopy(CONFIG)
    relabelled["runs"]["patchcore"]["label"] = "PatchCore (k=1)"
    optioned = copy.deepcopy(CONFIG)
    optioned["runs"]["patchcore"]["options"]["backbone"] = "resnet18"
    digest = settings_digest
    predict = {"run": "patchcore", "dataset": "synthetic"}
    assert digest(reordered, "predict", **predict) == digest(CONFIG, "predict", **predict)
    reordered["datasets"] = {name: dict(reversed(spec.items())) for name, spec in CONFIG["datasets"].items()}
    generator = {"dataset": "synthetic"}  # a dict param of the rule: Snakemake records its repr
    assert repr(job_settings(reordered, "synthetic_dataset", **generator)) == \
        repr(job_settings(CONFIG, "synthetic_dataset", **generator))
    assert digest(relabelled, "predict", **predict) == digest(CONFIG, "predict", **predict)
    assert digest(relabelled, "report") != digest(CONFIG, "report")
    assert digest(optioned, "predict", **predict) != digest(CONFIG, "predict", **predict)
    assert digest(optioned, "latency", run="patchcore") != digest(CONFIG, "latency", run="patchcore")
    assert digest(optioned, "report") == digest(CONFIG, "report")
    assert digest(optioned, "predict", run="metauas", dataset="synthetic") == \
        digest(CONFIG, "predict", run="metauas", dataset="synthetic")


def test_training_execution_fields_do_not_retrain_but_are_logged():
    faster = copy.deepcopy(CONFIG)
    faster["training"]["metauas"].update(workers=0, gpus=2, compile=True)
    assert settings_digest(faster, "train", model="metauas") == settings_digest(CONFIG, "train", model="metauas")
    assert settings_digest(faster, "track") != settings_digest(CONFIG, "track")


def test_prompts_root_matters_only_to_a_run_with_a_prompt_file():
    moved = {**CONFIG, "prompts_root": "elsewhere"}
    job = {"run": "metauas", "dataset": "synthetic"}
    assert settings_digest(moved, "predict", **job) == settings_digest(CONFIG, "predict", **job)
    with_file = copy.deepcopy(moved)
    with_file["runs"]["metauas"]["prompt_file"] = "MVTec-AD/oneprompt_seed{seed}.json"
    assert config_slices.predict_slice(with_file, **job)["prompts_root"] == "elsewhere"
