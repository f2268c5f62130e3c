"""The tiny CI workflow end to end: golden numbers, MLflow runs, and bit-for-bit recovery after a SIGKILL.

1. `snakemake --configfile config/ci.yaml` runs the whole DAG (data -> train -> predict -> evaluate -> track ->
   report); `uasbench regress` compares every metric with tests/regression/expected_ci.json.
2. A second run into another results folder is SIGKILLed after the first training checkpoint, recovered with
   `--rerun-incomplete` (training resumes from its checkpoint), and must end bit-for-bit where run 1 ended.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "ci.yaml"
GOLDEN = ROOT / "tests" / "regression" / "expected_ci.json"
RESULTS = ROOT / "results" / "ci"
RERUN = ROOT / "results" / "ci-rerun"

pytestmark = pytest.mark.slow


def snakemake(*extra: str, results: Path | None = None, wait: bool = True):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    cmd = [str(Path(sys.executable).parent / "snakemake"), "--cores", "2", "--configfile", str(CONFIG),
           "--nolock", *extra]
    if results is not None:
        cmd += ["--config", f"results_dir={results.relative_to(ROOT)}"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    if not wait:
        return proc
    out, _ = proc.communicate(timeout=1800)
    assert proc.returncode == 0, out[-4000:]
    return out


@pytest.fixture(scope="module")
def ci_results() -> Path:
    # --forceall: the numbers of this code, not what an earlier run left in results/ci or reports/ci
    snakemake("--forceall")
    return RESULTS


def test_ci_workflow_matches_the_golden_numbers(ci_results):
    from uasbench.cli import main

    assert (ROOT / "reports" / "ci" / "index.md").is_file()
    code = main(["regress", "--expected", str(GOLDEN), "--config", str(CONFIG)])
    assert code == 0, "reproduced numbers drifted from tests/regression/expected_ci.json (table above)"


def test_mlflow_holds_one_run_per_method_dataset_seed_and_one_per_trained_model(ci_results):
    from uasbench.config import load_config
    from uasbench.tracking import search_runs, tracking_uri_for

    config = load_config(CONFIG)
    everything = search_runs(tracking_uri_for(config))
    training = everything["tags.uasbench.key"].str.startswith("train|")
    assert sorted(everything.loc[training, "tags.uasbench.key"]) == sorted(f"train|{m}" for m in config["training"])
    runs = everything[~training]
    keys = sorted(runs["tags.uasbench.key"])
    expected = sorted(f"{p.parent.name}|{p.parent.parent.name}|{p.stem}"
                      for p in (ci_results / "metrics").glob("*/*/seed*.json"))
    assert keys == expected and len(keys) == len(set(keys))
    assert runs[[f"metrics.{m}" for m in ("I-AUROC", "I-AP", "I-F1max", "P-AUROC", "P-AP", "P-F1max",
                                          "P-AUPRO")]].notna().all().all()
    assert runs["tags.tier"].eq("ci").all() and runs["tags.metric_protocol"].eq("official").all()


def test_killed_workflow_recovers_bit_for_bit(ci_results):
    import shutil

    shutil.rmtree(RERUN, ignore_errors=True)
    proc = snakemake(results=RERUN, wait=False)
    checkpoint = RERUN / "models" / "metauas" / "checkpoint.pt"
    deadline = time.time() + 900
    while not checkpoint.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert checkpoint.exists(), "training never wrote its first checkpoint"
    time.sleep(0.5)  # mid-way through the next epoch
    killed_before_end = proc.poll() is None
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert killed_before_end, "the workflow finished before it could be killed; make the CI training longer"
    assert not (RERUN / "models" / "metauas" / "model.pt").exists()
    snakemake("--rerun-incomplete", results=RERUN)
    for path in sorted((ci_results / "metrics").glob("*/*/seed*.json")):
        other = RERUN / path.relative_to(ci_results)
        a, b = json.loads(path.read_text()), json.loads(other.read_text())
        assert a["mean"] == b["mean"] and a["per_category"] == b["per_category"], path
    for path in sorted((ci_results / "predictions").glob("*/*/seed*/*.npz")):
        with np.load(path) as a, np.load(RERUN / path.relative_to(ci_results)) as b:
            assert np.array_equal(a["maps"], b["maps"]) and np.array_equal(a["scores"], b["scores"]), path
