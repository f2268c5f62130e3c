"""`make`'s venv bootstrap installs through requirements.lock, with the DAG's extra, takes a CPU torch index, records
the Python and index it was built with, and stops when a later `make` asks for others."""

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


FAKE_PYTHON = """#!/usr/bin/env bash
# Stands in for an interpreter: `-m venv DIR` makes DIR/bin/python (this script), version queries answer VERSION,
# anything else (pip) succeeds without doing anything.
if [[ $1 == -m && $2 == venv ]]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && exit 0; fi
if [[ $1 == -c ]]; then
    case $2 in *python_version*) echo VERSION.1 ;; *version_info*) echo VERSION ;; esac
fi
exit 0
"""


def fake_python(folder: Path, version: str) -> Path:
    path = folder / f"python{version}"
    path.write_text(FAKE_PYTHON.replace("VERSION", version))
    path.chmod(0o755)
    return path


def make_venv(venv: Path, *variables: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", f"VENV={venv}", *variables, "venv"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def test_venv_records_the_python_and_torch_index_it_was_built_with(tmp_path):
    venv, url = tmp_path / "venv", "https://example.invalid/whl/cpu"
    made = make_venv(venv, f"PYTHON={fake_python(tmp_path, '3.97')}", f"TORCH_INDEX={url}")
    assert made.returncode == 0, made.stderr
    assert (venv / ".uasbench-build").read_text().splitlines() == ["python=3.97.1", f"torch_index={url}"]


@pytest.mark.parametrize("asked", ["PYTHON", "TORCH_INDEX"])
def test_make_stops_when_asked_for_another_python_or_torch_index_than_the_venv_has(tmp_path, asked):
    venv = tmp_path / "venv"
    assert make_venv(venv, f"PYTHON={fake_python(tmp_path, '3.97')}").returncode == 0
    other = {"PYTHON": fake_python(tmp_path, "3.98"), "TORCH_INDEX": "https://example.invalid/whl/cpu"}[asked]
    proc = make_venv(venv, f"{asked}={other}")
    assert proc.returncode != 0
    assert f"{asked}={other}" in proc.stderr and "make clean-venv && make" in proc.stderr, proc.stderr


def test_make_goes_on_when_the_venv_matches_or_nothing_is_asked(tmp_path):
    venv, python = tmp_path / "venv", fake_python(tmp_path, "3.97")
    assert make_venv(venv, f"PYTHON={python}").returncode == 0
    for variables in ([], [f"PYTHON={python}"], ["TORCH_INDEX="]):
        proc = make_venv(venv, *variables)
        assert proc.returncode == 0, (variables, proc.stderr)
