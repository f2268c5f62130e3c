"""`make`'s venv bootstrap installs through requirements.lock, with the DAG's extra, and takes a CPU torch index."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def bootstrap_commands(tmp_path: Path, *variables: str) -> str:
    """The venv recipe as `make -n` would run it for a fresh venv (nothing is installed)."""
    proc = subprocess.run(["make", "-n", "-B", f"VENV={tmp_path / 'venv'}", *variables, "venv"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return re.sub(r"\\\n\s*", " ", proc.stdout)


def test_bootstrap_installs_the_workflow_extra_constrained_by_the_lock(tmp_path):
    install = next(line for line in bootstrap_commands(tmp_path).splitlines() if " -e " in line)
    assert "-c requirements.lock" in install and "'.[test,workflow]'" in install, install
    assert "--extra-index-url" not in install, "the default route must not need any index but the configured ones"


def test_cpu_torch_index_is_passed_to_pip(tmp_path):
    url = "https://example.invalid/whl/cpu"
    install = next(line for line in bootstrap_commands(tmp_path, f"TORCH_INDEX={url}").splitlines() if " -e " in line)
    assert f"--extra-index-url {url}" in install, install
