"""Dependencies point one way: every ``uasbench`` module imports only from its own layer or the layers below it.

Layers, low to high: core (errors, io, outdir, devices, layout, provenance, predictions, tracking, efficiency,
precision, training) < backbones, metrics < datasets < methods < config, regression, reports < pipeline < cli. A lower
layer never imports a higher one, so e.g. the metrics can be used without the workflow and a report never runs a
pipeline step. Every import counts: top-level and function-local, ``import x`` and ``from x import y``.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "uasbench"

#: first name under ``uasbench`` -> layer (higher number = higher layer); "" is ``uasbench/__init__.py``
LAYERS: dict[str, int] = {
    "": 0, "errors": 0, "io": 0, "outdir": 0, "devices": 0, "layout": 0, "provenance": 0, "predictions": 0,
    "tracking": 0, "efficiency": 0, "training": 0, "precision": 0, "yamlfile": 0, "names": 0,
    "backbones": 1, "metrics": 1,
    "datasets": 2,
    "methods": 3,
    "config": 4, "inputs": 4, "regression": 4, "reports": 4,
    "pipeline": 5,
    "cli": 6, "__main__": 6,
}

#: violations another change removes (methods reaching up into pipeline); empty this set as they go.
#: Entries are "importing module -> imported module".
KNOWN: set[str] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts}


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The ``uasbench`` modules ``path`` imports anywhere in its body; ``from pkg import module`` names the module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against this module's package
                anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in modules else base)
    return {m for m in found if m == "uasbench" or m.startswith("uasbench.")}


def layer_of(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    assert top in LAYERS, f"{module}: not in the layer table of {__file__}; add its package to LAYERS"
    return LAYERS[top]


def violations() -> set[str]:
    modules = all_modules()
    found = set()
    for name, path in modules.items():
        for target in imported_modules(name, path, modules):
            if layer_of(target) > layer_of(name):
                found.add(f"{name} -> {target}")
    return found


def test_every_module_has_a_layer():
    for name in all_modules():
        layer_of(name)


def test_no_module_imports_a_higher_layer():
    new = sorted(violations() - KNOWN)
    assert not new, "imports from a lower layer into a higher one (move the code down, or the caller up):\n  " + \
        "\n  ".join(new)


def test_known_violations_still_exist():
    """A fixed violation leaves KNOWN, so the set only shrinks (to empty)."""
    gone = sorted(KNOWN - violations())
    assert not gone, "no longer violated, remove from KNOWN:\n  " + "\n  ".join(gone)


def test_the_checker_sees_function_local_and_from_imports(tmp_path):
    """The walk finds what the tests above rely on: a local import inside a function, and a module named in
    ``from package import module``."""
    modules = all_modules()
    source = ("def f():\n    from uasbench.pipeline import track\n    import uasbench.cli.common\n"
              "from uasbench.errors import DataError\n")
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert imported_modules("uasbench.probe", path, modules) == {"uasbench.pipeline.track", "uasbench.cli.common",
                                                                 "uasbench.errors"}
