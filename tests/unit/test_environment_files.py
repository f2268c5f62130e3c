"""pyproject.toml and environment.yml must pin the same packages, or the conda route drifts from pip."""

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def _normalise(spec: str) -> tuple[str, str]:
    req = Requirement(spec)
    return req.name.lower().replace("_", "-"), str(req.specifier)


def test_environment_yml_agrees_with_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    from_pyproject = {_normalise(s) for s in project["dependencies"] + project["optional-dependencies"]["test"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    from_env = {_normalise(s) for s in pip_section if not s.startswith("-")}
    assert from_env == from_pyproject, (f"only in environment.yml: {sorted(from_env - from_pyproject)}; "
                                        f"only in pyproject.toml: {sorted(from_pyproject - from_env)}")
    assert any(s.startswith("python=3.11") for s in env["dependencies"] if isinstance(s, str))
    assert "-e .[test]" in pip_section


def test_rule_env_pins_the_runtime_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "workflow" / "envs" / "uasbench.yaml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert {_normalise(s) for s in pip_section} == {_normalise(s) for s in project["dependencies"]}
