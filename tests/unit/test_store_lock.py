"""The MLflow store lock works without POSIX fcntl (as on Windows) and excludes a second holder (another job)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

EXCLUDES = """
from filelock import FileLock, Timeout
from uasbench.tracking import store_lock
with store_lock("sqlite:///{db}"):
    try:
        FileLock("{lock}", timeout=0.1, thread_local=False, is_singleton=False).acquire()
    except Timeout:
        print("excluded")
"""


def test_store_lock_works_and_excludes_without_fcntl(tmp_path):
    """Linux with fcntl is covered by tests/integration/test_tracking.py (eight parallel logging jobs)."""
    block = """
import sys
class _NoFcntl:  # what Windows looks like to an import
    def find_spec(self, name, path=None, target=None):
        if name == "fcntl":
            raise ImportError("no fcntl here")
sys.modules.pop("fcntl", None)
sys.meta_path.insert(0, _NoFcntl())
"""
    code = block + EXCLUDES.format(db=tmp_path / "mlflow.db", lock=tmp_path / "mlflow.lock")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "excluded" in proc.stdout, proc.stderr[-2000:]
