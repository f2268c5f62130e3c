"""A fresh clone has work to do: no output of the DAG (final targets included) is tracked by git.

When `reports/embedded/` was committed, `make run` on a fresh clone printed "Nothing to be done" after one second.
Published reference numbers live where the DAG does not write (docs/results/, tests/regression/expected_*.json).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"


def dag_outputs(configfile: str) -> list[str]:
    """Every output file of the DAG for ``configfile`` (snakemake --summary: all jobs, whatever their state)."""
    proc = subprocess.run([str(SNAKEMAKE), "--summary", "--cores", "1", "--configfile", configfile, "--nolock"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line.split("\t") for line in proc.stdout.splitlines() if "\t" in line]
    assert rows and rows[0][0] == "output_file", proc.stdout[:2000]
    return [row[0] for row in rows[1:]]


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout")
@pytest.mark.parametrize("configfile", ["config/config.yaml", "config/ci.yaml"])
def test_no_dag_output_is_tracked_by_git(configfile):
    outputs = dag_outputs(configfile)
    assert any(path.endswith("index.md") for path in outputs), "the report's index.md should be a DAG target"
    tracked = set(subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                                 check=True).stdout.splitlines())
    committed = [path for path in outputs if path in tracked or any(t.startswith(path.rstrip("/") + "/")
                                                                    for t in tracked)]
    assert not committed, f"DAG outputs committed to git (a fresh clone would skip their jobs): {committed[:10]}"
