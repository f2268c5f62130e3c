"""scripts/check_pythons.sh, CI's check that every advertised Python resolves the lock, reads the advertised versions
from pyproject.toml and fails on a lock with a pin that has no wheel for one of them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_pythons.sh"


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HOST_PYTHON": sys.executable, **env})


def test_ci_runs_the_check():
    assert re.search(r"^bash scripts/check_pythons\.sh$", (ROOT / ".ci" / "run").read_text(), re.M)


def test_every_advertised_python_is_checked():
    classifiers = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["classifiers"]
    pattern = r"Programming Language :: Python :: 3\.\d+"
    advertised = [c.rsplit(" ", 1)[1] for c in classifiers if re.fullmatch(pattern, c)]
    listed = _run("--list")
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()] == advertised == ["3.11", "3.12", "3.13"]


def test_a_pin_without_a_wheel_for_an_advertised_python_fails(tmp_path):
    """numpy 1.26.4 has wheels up to CPython 3.12 and none for 3.13 (metadata only: nothing is downloaded but the
    index pages)."""
    lock = tmp_path / "requirements.lock"
    lock.write_text("numpy==1.26.4\n")
    done = _run(LOCK=str(lock), PYTHONS="3.12 3.13", FIND_INTERPRETERS="0")
    assert done.returncode != 0
    assert "FAILED 3.13: the lock does not resolve" in done.stderr and "3.12:" not in done.stderr, done.stderr
    lock.write_text("numpy==2.4.6\n")
    done = _run(LOCK=str(lock), PYTHONS="3.12 3.13", FIND_INTERPRETERS="0")
    assert done.returncode == 0, done.stdout + done.stderr
