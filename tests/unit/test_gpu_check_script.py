"""scripts/gpu_check.sh, the one prepared script a lent GPU machine runs, works: its CPU dry run (small sizes)
completes every step and writes the JSON reports a session reads back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_check_script_dry_run_on_cpu(tmp_path):
    env = {**os.environ, "GPU_CHECK_DEVICE": "cpu", "GPU_CHECK_SMALL": "1", "OUT": str(tmp_path / "out"),
           "GPU_CHECK_WORK": str(tmp_path / "work"), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh")], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    reports = tmp_path / "out" / "gpu_check"
    summary = (reports / "summary.txt").read_text().splitlines()
    assert [line.split(":")[0] for line in summary] == ["== env", "== pairs_1core", "== pairs_allcores",
                                                         "== precision", "== train_w1_fp32"]
    assert all(": rc 0," in line for line in summary), summary
    precision = json.loads((reports / "precision.json").read_text())
    assert [row["variant"] for row in precision["variants"]] == ["fp32", "tf32", "fp32+cl"]
    train = json.loads((reports / "train_w1_fp32.json").read_text())
    assert train["workers"] == 1 and train["train"]["samples_per_s"] > 0
