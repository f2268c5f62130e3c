"""pyproject.toml bounds, requirements.lock pins, and the conda env files must agree, or the routes drift apart.

pyproject.toml states lower bounds (what uasbench needs); requirements.lock the exact versions it is tested with;
environment.yml (the outer conda env: Snakemake, and what parsing the Snakefile imports) and the Snakemake rule env
workflow/envs/uasbench.yaml both install through the lock, so no version is written twice.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
RULE_ENV = ROOT / "workflow" / "envs" / "uasbench.yaml"


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _requirements(specs: list[str]) -> dict[str, Requirement]:
    return {canonicalize_name(Requirement(s).name): Requirement(s) for s in specs}


def _lock() -> dict[str, str]:
    """requirements.lock as {name: exact version}; every line must be a plain ``name==version`` pin."""
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        (spec,) = Requirement(line).specifier
        assert spec.operator == "==", f"requirements.lock: {line!r} is not an exact pin"
        pins[canonicalize_name(Requirement(line).name)] = spec.version
    return pins


def _pip_section(path: Path) -> list[str]:
    env = yaml.safe_load(path.read_text())
    return next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))


def _conda_python(path: Path) -> str:
    env = yaml.safe_load(path.read_text())
    return next(s for s in env["dependencies"] if isinstance(s, str) and s.startswith("python=")).split("=", 1)[1]


def test_requires_python_admits_311_to_313():
    allowed = SpecifierSet(_project()["requires-python"])
    assert all(allowed.contains(v) for v in ("3.11", "3.11.7", "3.12", "3.13.1")), allowed
    assert not allowed.contains("3.10")


def test_pyproject_states_lower_bounds_not_pins():
    project = _project()
    specs = project["dependencies"] + [s for extra in project["optional-dependencies"].values() for s in extra]
    pinned = [s for s in specs if any(sp.operator in ("==", "===", "<", "<=", "~=") for sp in Requirement(s).specifier)]
    assert not pinned, f"exact versions belong in requirements.lock, not pyproject.toml: {pinned}"


def test_lock_pins_every_dependency_within_its_bound():
    project = _project()
    lock = _lock()
    specs = project["dependencies"] + [s for extra in project["optional-dependencies"].values() for s in extra]
    for name, req in _requirements(specs).items():
        assert name in lock, f"{req} has no pin in requirements.lock (regenerate it: make lock)"
        assert req.specifier.contains(lock[name], prereleases=True), f"lock pins {name}=={lock[name]} outside {req}"
    assert "uasbench" not in lock


def _pip_options(path: Path) -> tuple[dict[str, Path], list[str]]:
    """The pip section's ``-c``/``-r``/``-e`` targets, resolved the way conda runs pip (from the env file's folder),
    and its package lines."""
    options, packages = {}, []
    for line in _pip_section(path):
        if line.startswith("-"):
            flag, target = line.split(maxsplit=1)
            options[flag] = (path.parent / target.split("[", 1)[0]).resolve()
        else:
            packages.append(line)
    return options, packages


def _extras(path: Path) -> set[str]:
    line = next(x for x in _pip_section(path) if x.startswith("-e "))
    return set(re.findall(r"\[(.*)\]", line)[0].split(",")) if "[" in line else set()


def _locked_python() -> str:
    """The Python version the lock's header says it was made with."""
    return re.search(r"Python (3\.\d+)", (ROOT / "requirements.lock").read_text()).group(1)


@pytest.mark.parametrize("path", [ROOT / "environment.yml", RULE_ENV], ids=["outer", "rules"])
def test_conda_envs_install_through_the_lock_and_pin_nothing_else(path):
    options, packages = _pip_options(path)
    assert options["-c"] == ROOT / "requirements.lock", options
    assert options["-e"] == ROOT, "the package itself is installed from this checkout"
    lock = _lock()
    for line in packages:  # any package an env names carries the lock's version or none (-c applies it)
        req = Requirement(line)
        assert canonicalize_name(req.name) in lock, f"{path.name}: {req.name} is not in requirements.lock"
        assert str(req.specifier) in ("", f"=={lock[canonicalize_name(req.name)]}"), f"{path.name}: {line}"
    assert _conda_python(path) == _locked_python()
    assert SpecifierSet(_project()["requires-python"]).contains(_conda_python(path))


def test_rule_env_installs_what_the_rules_run():
    """Every rule runs a uasbench command (runtime dependencies) and `track` logs to MLflow (the workflow extra)."""
    assert _extras(RULE_ENV) == {"workflow"}
    assert set(_project()["optional-dependencies"]) >= {"workflow"}


def test_rule_env_records_the_lock_checksum():
    """Snakemake keys a conda env on the env file's text: the lock's checksum in it makes a new lock a new env."""
    recorded = re.search(r"^# requirements.lock sha256: (\w+)$", RULE_ENV.read_text(), re.M)
    actual = hashlib.sha256((ROOT / "requirements.lock").read_bytes()).hexdigest()
    assert recorded and recorded.group(1) == actual, (
        "requirements.lock changed: run `make lock`, or put its sha256sum in workflow/envs/uasbench.yaml")


def _closure(names: list[str]) -> set[str]:
    """The named distributions and everything they require (installed metadata, markers of this platform)."""
    seen, todo = set(), [canonicalize_name(n) for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for spec in requires:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(req.name))
    return seen


def _imported_by_uasbench(importtime: str) -> set[str]:
    """Top-level modules a uasbench module imports itself (their own imports are their metadata's business), from
    ``python -X importtime`` output (printed children first, so read backwards with a stack of (indent, module))."""
    found, stack = set(), []
    lines = [m for m in re.finditer(r"^import time:\s+\d+ \|\s+\d+ \|( *)(\S+)$", importtime, re.M)]
    for match in reversed(lines):
        indent, module = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if stack and stack[-1][1].startswith("uasbench"):
            found.add(module.split(".")[0])
        stack.append((indent, module))
    return {m for m in found if m not in sys.stdlib_module_names and not m.startswith("_") and m != "uasbench"}


def test_outer_env_holds_everything_parsing_the_snakefile_imports():
    """`snakemake -n` (the parse: config validation, job lists) imports nothing the outer conda env lacks."""
    snakemake = Path(sys.executable).parent / "snakemake"
    if not snakemake.exists():
        pytest.skip("needs the workflow extra (snakemake)")
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "snakemake", "-n", "--nolock", "--forceall",
                           "--configfile", "config/ci.yaml"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    providers = metadata.packages_distributions()
    needed = {canonicalize_name(d) for m in _imported_by_uasbench(done.stderr) for d in providers.get(m, [])}
    assert needed, "the parse imported nothing through uasbench: the importtime reading is broken"
    _, packages = _pip_options(ROOT / "environment.yml")
    names = [Requirement(p).name for p in packages]
    if "-e" in _pip_options(ROOT / "environment.yml")[0]:
        names.append("uasbench")
    missing = sorted(needed - _closure(names))
    assert not missing, f"parsing the Snakefile imports {missing}, which environment.yml does not install"
