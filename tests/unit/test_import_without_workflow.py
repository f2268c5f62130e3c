"""`import uasbench` and `uasbench --help` need neither MLflow nor Snakemake: those are the [workflow] extra."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW_ONLY = ("mlflow", "snakemake")

# Makes the workflow-only packages unimportable, as in an install without the [workflow] extra.
BLOCK = f"""
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {WORKFLOW_ONLY!r}:
            raise ImportError(f"{{name}} is blocked: not installed without uasbench[workflow]")
sys.meta_path.insert(0, _Block())
"""


def test_import_and_help_work_without_the_workflow_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {Requirement(s).name.lower() for s in project["dependencies"]}
    extra = {Requirement(s).name.lower() for s in project["optional-dependencies"]["workflow"]}
    assert not core & set(WORKFLOW_ONLY), core & set(WORKFLOW_ONLY)
    assert set(WORKFLOW_ONLY) <= extra
    code = BLOCK + """
import uasbench
from uasbench.cli import main
try:
    main(["--help"])
except SystemExit as exit:
    assert exit.code in (0, None), exit.code
print("loaded:", sorted(m for m in sys.modules if m.split(".")[0] in %r))
""" % (WORKFLOW_ONLY,)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"OMP_NUM_THREADS": "1", "PATH": ""})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "loaded: []" in proc.stdout and "report" in proc.stdout, proc.stdout[-2000:]
