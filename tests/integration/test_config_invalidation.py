"""A config edit reruns exactly the jobs whose settings it changes, planned by Snakemake itself.

A tiny DAG (one 64 px synthetic dataset, a prompt-diff, a random and a trained UniAD run) runs once for real, so
Snakemake records every job's params; then each kind of edit is planned with `snakemake -n` and the planned jobs
are compared with the jobs the edit must rerun (uasbench.pipeline.config_slices says which keys each job reads).
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
DATASET = "synthetic"

BASE: dict[str, Any] = {
    "tier": "ci",
    "results_dir": "results",
    "device": "cpu",
    "prompt_seeds": [1],
    "datasets": {DATASET: {"kind": "synthetic-ad", "seed": 0, "image_size": 64, "n_train": 3, "n_test_good": 1,
                           "n_test_defect": 2, "categories": ["brick"]}},
    "training": {"uniad": {"method": "uniad", "data": DATASET, "backbone": "tf_efficientnet_lite0", "image_size": 64,
                           "epochs": 1, "batch_size": 2, "lr": 0.001, "seed": 0,
                           "options": {"hidden_dim": 16, "ffn_dim": 32, "encoder_layers": 1, "decoder_layers": 1}}},
    "runs": {"prompt-diff": {"method": "prompt-diff", "prompt": "random", "options": {"space": "pixel"}},
             "random": {"method": "random", "prompt": "none"},
             "uniad": {"method": "uniad", "model": "uniad", "prompt": "none"}},
    "tables": {"main": {"title": "Main", "runs": ["prompt-diff", "random", "uniad"]}},
    "efficiency": {"batch_sizes": [1], "warmup": 0, "repeats": 1},
}

pytestmark = pytest.mark.slow


def predict(run: str, seed: int) -> str:
    return f"predict dataset={DATASET}, run={run}, seed={seed}"


def evaluate(run: str, seed: int) -> str:
    return f"evaluate dataset={DATASET}, run={run}, seed={seed}"


def latency(run: str) -> str:
    return f"latency run={run}"


SEEDS = {"prompt-diff": 1, "random": 0, "uniad": 0}  # one-prompt runs take the prompt seeds, the others seed 0
TRAIN, DATA, TABLES = "train model=uniad", f"synthetic_dataset dataset={DATASET}", {"track", "report"}


def prediction_chain(run: str) -> set[str]:
    """A run's jobs downstream of its predictions' settings, up to the tables."""
    return {predict(run, SEEDS[run]), evaluate(run, SEEDS[run]), latency(run)} | TABLES


def snakemake(workdir: Path, config: dict[str, Any], *extra: str) -> str:
    """Run the workflow on ``config`` in ``workdir`` (the package of this checkout); its output."""
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    env = {**os.environ, "PATH": f"{SNAKEMAKE.parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    cmd = [str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "--configfile", str(path), *extra]
    done = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=1800)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    return out


def jobs_of(output: str) -> set[str]:
    """``<rule> <name=value, ...>`` (sorted by name) of every job a Snakemake run or dry run lists (the target
    rule `all` left out)."""
    jobs = set()
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", output):
        head = re.match(r"(?:local)?rule (\w+):", block)
        if head and head.group(1) != "all":
            wildcards = re.search(r"^\s*wildcards: (.*)$", block, re.M)
            names = ", ".join(sorted(part.strip() for part in wildcards.group(1).split(","))) if wildcards else ""
            jobs.add(f"{head.group(1)} {names}".strip())
    return jobs


def planned(workdir: Path, config: dict[str, Any]) -> set[str]:
    return jobs_of(snakemake(workdir, config, "-n", "--nolock"))


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A folder where the whole DAG of BASE has run, and nothing is left to do."""
    workdir = tmp_path_factory.mktemp("invalidation")
    ran = jobs_of(snakemake(workdir, BASE, "--cores", "2"))
    assert {TRAIN, DATA, "track", "report"} <= ran and len(ran) == 13, sorted(ran)
    assert planned(workdir, BASE) == set()
    return workdir


def edited(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    config = copy.deepcopy(BASE)
    change(config)
    return config


def set_key(*path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(config: dict[str, Any]) -> None:
        node = config
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


def reformatted(config: dict[str, Any]) -> None:
    """An edit no job reads: a key nothing uses, a prompt root no prompt file needs, entries' keys reordered."""
    config["threads"] = 2
    config["prompts_root"] = "."
    for section in ("runs", "datasets", "training"):
        config[section] = {name: dict(reversed(entry.items())) for name, entry in config[section].items()}


def runs_reordered(config: dict[str, Any]) -> None:
    config["runs"] = dict(reversed(config["runs"].items()))


EDITS = {
    "run options": (set_key("runs", "prompt-diff", "options", "space", value="feature"),
                    prediction_chain("prompt-diff")),
    "training entry": (set_key("training", "uniad", "lr", value=0.002), {TRAIN} | prediction_chain("uniad")),
    "training execution field (logged only)": (set_key("training", "uniad", "workers", value=0), TABLES),
    "dataset generator setting": (set_key("datasets", DATASET, "n_test_good", value=2),
                                  {DATA, TRAIN, latency("uniad")} | {j for run in SEEDS for j in prediction_chain(run)
                                                                     if not j.startswith("latency")}),
    "label": (set_key("runs", "random", "label", value="Random baseline"), TABLES),
    "table title (report only)": (set_key("tables", "main", "title", value="Main results"), {"report"}),
    "run order (table rows)": (runs_reordered, {"report"}),
    "unrelated": (reformatted, set()),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edit_plans_exactly_the_jobs_it_affects(finished, edit):
    change, expected = EDITS[edit]
    assert planned(finished, edited(change)) == expected


def test_make_run_after_an_edit_recomputes_what_changed_and_then_nothing(finished, tmp_path):
    workdir = tmp_path / "copy"
    shutil.copytree(finished, workdir)  # the recorded params and file times travel with the folder
    results = workdir / BASE["results_dir"]
    untouched = {path: path.stat().st_mtime_ns for path in results.glob("metrics/*/*/seed*.json")
                 if "prompt-diff" not in path.parts}
    config = edited(EDITS["run options"][0])
    assert jobs_of(snakemake(workdir, config, "--cores", "2")) == prediction_chain("prompt-diff")
    assert planned(workdir, config) == set()
    assert untouched and all(path.stat().st_mtime_ns == mtime for path, mtime in untouched.items())
