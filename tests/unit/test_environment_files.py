"""pyproject.toml bounds, requirements.lock pins, and the conda env files must agree, or the routes drift apart.

pyproject.toml states lower bounds (what uasbench needs); requirements.lock the exact versions it is tested with;
environment.yml installs through the lock; the Snakemake rule env (copied alone, so pinned inline) repeats the lock.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


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


def test_environment_yml_installs_through_the_lock():
    pip_section = _pip_section(ROOT / "environment.yml")
    assert pip_section == ["-c requirements.lock", "-e .[test,workflow]"]
    # the conda env is the laptop/workstation route; `cluster` (the SLURM executor plugin) is installed on purpose
    assert set(_project()["optional-dependencies"]) == {"test", "workflow", "cluster"}
    assert SpecifierSet(_project()["requires-python"]).contains(_conda_python(ROOT / "environment.yml"))


def test_rule_env_pins_the_locked_runtime_and_workflow_dependencies():
    project = _project()
    path = ROOT / "workflow" / "envs" / "uasbench.yaml"
    env = _requirements(_pip_section(path))
    needed = _requirements(project["dependencies"] + project["optional-dependencies"]["workflow"])
    assert set(env) == set(needed)
    lock = _lock()
    assert {n: str(r.specifier) for n, r in env.items()} == {n: f"=={lock[n]}" for n in env}
    assert SpecifierSet(project["requires-python"]).contains(_conda_python(path))
