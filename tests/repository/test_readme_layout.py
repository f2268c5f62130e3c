"""README's Layout section matches the tree: every path it names exists, and every package of uasbench/ is named."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATED = {"reports/<tier>/"}  # written by the DAG, absent from a fresh clone


def _layout_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```", 2)[1]


def _named_paths(block: str) -> set[str]:
    """Files (``*.py``, ``*.smk``, ``*.yaml``, ``*.md``, ``Snakefile``) and folders (``name/``) the block names."""
    tokens = re.findall(r"[\w.<>-]+(?:/[\w.<>-]+)*/|[\w./<>-]+\.(?:py|smk|yaml|md)\b|Snakefile", block)
    return {token for token in tokens if "*" not in token}


def _tree() -> set[str]:
    """Every tracked file and folder, as relative paths with folders ending in '/'."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    tree = set(files)
    for name in files:
        parts = name.split("/")[:-1]
        tree |= {"/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)}
    return tree


def test_every_path_the_layout_names_exists():
    tree = _tree()
    missing = [name for name in sorted(_named_paths(_layout_block()) - GENERATED)
               if not any(path == name or path.endswith("/" + name) for path in tree)]
    assert not missing, f"README Layout names paths that are not in the tree: {missing}"


def test_every_package_of_uasbench_is_in_the_layout():
    block = _layout_block()
    packages = sorted(p.parent.relative_to(ROOT / "uasbench").as_posix() for p in (ROOT / "uasbench").rglob(
        "__init__.py") if p.parent != ROOT / "uasbench" and "__pycache__" not in p.parts)
    unnamed = [pkg for pkg in packages if f"{pkg.rsplit('/', 1)[-1]}/" not in block]
    assert not unnamed, f"packages missing from README's Layout section: {unnamed}"
