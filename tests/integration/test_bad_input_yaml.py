"""A user's YAML and names: a repeated key, an alias bomb, a name with a trailing newline, a huge value echoed in an
error. Each is refused with one short line naming the file, the key and the lines, never silently used."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_bad_input import assert_clean_error, assert_no_leftovers, run_cli
from uasbench.config import validate_config
from uasbench.errors import ConfigError
from uasbench.names import is_safe_name

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """\
tier: custom
results_dir: {results}
prompt_seeds: [1]
datasets:
  d:
    kind: folder
    root: {data}
    image_size: 32
runs:
  pd:
    method: random
    prompt: none
"""


def write_yaml(tmp_path: Path, extra: str = "", runs_extra: str = "", dataset_extra: str = "") -> Path:
    """CONFIG with lines added under ``datasets.d`` and ``runs``, and at the end."""
    text = CONFIG.format(results=tmp_path / "results", data=tmp_path / "data")
    text = text.replace("    image_size: 32\n", "    image_size: 32\n" + dataset_extra)
    text = text.replace("    prompt: none\n", "    prompt: none\n" + runs_extra, 1) + extra
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def predict(capsys, config: Path, tmp_path: Path, run: str = "pd"):
    out = tmp_path / "pred"
    return (*run_cli(capsys, "predict", run, "--config", config, "--dataset", "d", "--out", out, "--device", "cpu"),
            out)


@pytest.mark.parametrize("where,key,lines", [
    ({"runs_extra": "  pd:\n    method: prompt-diff\n    prompt: random\n"}, "'pd'", (13, 10)),
    ({"dataset_extra": "    image_size: 64\n"}, "'image_size'", (9, 8)),
], ids=["two-runs", "image-size-twice"])
def test_a_repeated_key_is_refused_with_both_lines(tmp_path, capsys, where, key, lines):
    config = write_yaml(tmp_path, **where)
    code, _, err, out = predict(capsys, config, tmp_path)
    assert_clean_error(code, err, config, f"duplicate key {key} at line {lines[0]} (first at line {lines[1]})")
    assert_no_leftovers(tmp_path, out)


def test_a_repeated_key_in_an_option_value_is_refused(tmp_path, capsys):
    code, _, err = run_cli(capsys, "run", "--root", tmp_path / "ds", "--method", "prompt-diff",
                           "--out", tmp_path / "out", "--options", "space={a: 1, a: 2}")
    assert_clean_error(code, err, "--options space", "duplicate key 'a'")
    assert not (tmp_path / "out").exists()


def test_the_workflow_refuses_a_repeated_key_in_its_configfile(tmp_path):
    config = write_yaml(tmp_path, dataset_extra="    image_size: 64\n")
    proc = subprocess.run([str(Path(sys.executable).parent / "snakemake"), "--dry-run", "--cores", "1", "--nolock",
                           "--configfile", str(config)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "UASBENCH_SKIP_ROOT_CHECK": "1"})
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert f"{config}: duplicate key 'image_size' at line 9 (first at line 8)" in output, output[-2000:]


def bomb(levels: int) -> str:
    """The "billion laughs": each level a list of nine aliases of the level below (9**levels strings in all)."""
    lines = ['l0: &l0 "lol"']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_in_one_short_line(tmp_path, capsys):
    config = write_yaml(tmp_path, runs_extra="    label: *l7\n")
    config.write_text("x-bomb:\n" + "".join(f"  {line}\n" for line in bomb(7).splitlines()) + config.read_text())
    code, _, err, out = predict(capsys, config, tmp_path)
    assert_clean_error(code, err, config, "aliases expand to", "values (more than 1,000,000)")
    assert len(err) < 500
    assert_no_leftovers(tmp_path, out)


def test_a_huge_value_echoed_in_an_error_is_clipped(tmp_path, capsys):
    name = "m" * 1_000_000
    code, _, err = run_cli(capsys, "run", "--root", tmp_path / "ds", "--method", name, "--out", tmp_path / "out")
    assert_clean_error(code, err, "unknown method 'mmm", "characters]...")  # the length of the cut line is stated
    assert len(err) < 5000
    assert not (tmp_path / "out").exists()


# --- names that become folders and MLflow keys ---------------------------------------------------------------------

def test_a_run_name_with_a_trailing_newline_is_refused(tmp_path, capsys):
    config = write_yaml(tmp_path)
    config.write_text(config.read_text().replace("  pd:\n", '  "pd\\n":\n'))
    code, _, err, out = predict(capsys, config, tmp_path, run="pd\n")
    assert_clean_error(code, err, config, r"invalid key 'pd\n' at runs")
    assert_no_leftovers(tmp_path, out)


@pytest.mark.parametrize("name", ["pd", "a+b.c-d_e", "X1", "pd\n", "pd\n\n", "\npd", ".pd", "_pd", "p d", "p/d", ""])
def test_the_schema_and_the_code_agree_on_safe_names(tmp_path, name):
    config = {"tier": "custom", "results_dir": str(tmp_path), "prompt_seeds": [1],
              "datasets": {"d": {"kind": "folder", "root": str(tmp_path)}},
              "runs": {name: {"method": "random", "prompt": "none"}}}
    try:
        validate_config(config)
        schema_accepts = True
    except ConfigError:
        schema_accepts = False
    assert schema_accepts == is_safe_name(name) == (name in ("pd", "a+b.c-d_e", "X1"))
