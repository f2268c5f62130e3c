"""Bad input must never cost the user data: ``predict --out`` replaces only its own earlier output, config keys
cannot leave ``results_dir``, and nonsense numbers on the command line are usage errors.

Training settings (typos, options, resume, whole-number floats) are in test_bad_input_training.py.
"""

from __future__ import annotations

import os

import pytest
import yaml

from tests.fixtures.layouts import make_mvtec
from tests.integration.test_bad_input import assert_clean_error, assert_no_leftovers, run_cli, write_config


@pytest.fixture
def config(tmp_path):
    make_mvtec(tmp_path / "mvtec")
    return write_config(tmp_path / "c.yaml", tmp_path / "results",
                        datasets={"d": {"kind": "mvtec", "root": str(tmp_path / "mvtec"), "image_size": 32}})


def predict(capsys, config, out, *extra):
    return run_cli(capsys, "predict", "random", "--config", config, "--dataset", "d", "--out", out, *extra)


def snapshot(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def no_computing(monkeypatch):
    """Fail the test if predict starts computing: its output checks must come first."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("predict computed before refusing its --out")
    monkeypatch.setattr("uasbench.pipeline.predict.build_run_method", refuse)


# --- predict --out: nothing the user had is lost ---------------------------------------------------------------

@pytest.mark.parametrize("content, named", [
    ({"notes.txt": b"my notes\n"}, "notes.txt"),                                   # an unrelated folder
    ({"models/m/model.pt": b"weights", "config.resolved.yaml": b"tier: ci\n"}, "config.resolved.yaml, models"),
    ({"meta.json": b'{"title": "my paper"}', "a.npz": b"x"}, "a.npz, meta.json"),  # a foreign meta.json
], ids=["unrelated-folder", "results-folder", "foreign-meta-json"])
def test_predict_refuses_to_replace_a_folder_that_is_not_a_prediction(config, tmp_path, capsys, no_computing,
                                                                      content, named):
    out = tmp_path / "mine"
    for name, data in content.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    before = snapshot(out)
    code, _, err = predict(capsys, config, out)
    assert_clean_error(code, err, out, named, "--force")
    assert snapshot(out) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".mine.")]


def test_predict_force_replaces_a_foreign_folder(config, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("scratch\n")
    code, _, err = predict(capsys, config, out, "--force")
    assert code == 0, err
    assert (out / "meta.json").is_file() and not (out / "notes.txt").exists()
    assert_no_leftovers(tmp_path)


@pytest.mark.parametrize("where", [".", "..", "~"])
def test_predict_never_replaces_the_current_directory_a_parent_or_home(config, tmp_path, capsys, monkeypatch,
                                                                       no_computing, where):
    work = tmp_path / "work" / "sub"
    work.mkdir(parents=True)
    (work / "keep.txt").write_text("kept\n")
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(work))
    code, _, err = predict(capsys, config, os.path.expanduser(where), "--force")
    assert_clean_error(code, err, "current directory", "refusing")
    assert (work / "keep.txt").read_text() == "kept\n"
    assert sorted(p.name for p in work.iterdir()) == ["keep.txt"]


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "force"])
def test_predict_refuses_a_symlinked_out_before_computing(config, tmp_path, capsys, no_computing, force):
    real = tmp_path / "elsewhere"
    real.mkdir()
    (real / "precious.txt").write_text("do not delete\n")
    link = tmp_path / "seed0"
    link.symlink_to(real, target_is_directory=True)
    code, _, err = predict(capsys, config, link, *force)
    assert_clean_error(code, err, link, "symbolic link", real)
    assert link.is_symlink() and (real / "precious.txt").read_text() == "do not delete\n"


def test_predict_replaces_its_own_output_and_clears_what_a_kill_left(config, tmp_path, capsys):
    out = tmp_path / "results" / "predictions" / "d" / "random" / "seed0"
    code, _, err = predict(capsys, config, out)
    assert code == 0, err
    # what a killed run leaves beside the target: a staging folder, and one of an older release (no mark)
    killed = out.parent / ".seed0.uasbench-tmp.k1ll3d"
    killed.mkdir()
    (killed / "bottle.npz").write_bytes((out / "bottle.npz").read_bytes())
    legacy = out.parent / ".seed0.abc12_yz"
    legacy.mkdir()
    (legacy / "cable.npz").write_bytes((out / "cable.npz").read_bytes())
    unrelated = out.parent / ".seed0.notes"
    unrelated.write_text("a user's hidden file\n")
    (out / "stale_category.npz").write_bytes((out / "bottle.npz").read_bytes())  # an older run's category

    code, _, err = predict(capsys, config, out)
    assert code == 0, err
    assert not killed.exists() and not legacy.exists()
    assert unrelated.read_text() == "a user's hidden file\n"
    assert not (out / "stale_category.npz").exists()
    assert sorted(p.name for p in out.parent.iterdir()) == [".seed0.notes", "seed0"]


# --- config keys cannot leave results_dir ---------------------------------------------------------------------

@pytest.mark.parametrize("section, entry", [
    ("training", {"method": "metauas", "data": "change_pairs"}),
    ("runs", {"method": "random", "prompt": "none"}),
    ("datasets", {"kind": "synthetic-ad"}),
])
@pytest.mark.parametrize("key", ["../../x", "a/b", ".hidden"])
def test_config_keys_used_in_paths_must_be_plain_names(tmp_path, capsys, section, entry, key):
    config = write_config(tmp_path / "c.yaml", tmp_path / "results")
    data = yaml.safe_load(config.read_text())
    data.setdefault(section, {})[key] = entry
    config.write_text(yaml.safe_dump(data))
    out = tmp_path / "results" / "predictions" / "d" / "random" / "seed0"
    code, _, err = predict(capsys, config, out)
    assert_clean_error(code, err, config, f"invalid key {key!r} at {section}", "letters, digits")
    assert_no_leftovers(tmp_path, out)


def test_model_and_dataset_folders_stay_inside_results(tmp_path):
    from uasbench.config import dataset_root
    from uasbench.errors import ConfigError
    from uasbench.layout import model_dir

    config = {"results_dir": str(tmp_path / "results"), "datasets": {"../../x": {"kind": "synthetic-ad"}}}
    with pytest.raises(ConfigError, match="outside"):
        model_dir(config, "../../x")
    with pytest.raises(ConfigError, match="outside"):
        dataset_root(config, "../../x")


# --- command-line numbers -------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, problem", [
    (["--batch-size", "0"], "argument --batch-size: 0 is not allowed"),
    (["--batch-size", "-3"], "argument --batch-size: -3 is not allowed"),
    (["--seed", "-1"], "argument --seed: -1 is not allowed"),
    (["--threads", "0"], "argument --threads: 0 is not allowed"),
])
def test_non_positive_counts_and_negative_seeds_are_usage_errors(config, tmp_path, capsys, argv, problem):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        predict(capsys, config, out, *argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert problem in err and "Traceback" not in err
    assert_no_leftovers(tmp_path, out)


@pytest.mark.parametrize("argv", [
    ["data", "make-synthetic-ad", "--out", "x", "--seed", "-1"],
    ["data", "make-change-pairs", "--out", "x", "--n-pairs", "0"],
    ["bench", "latency", "r", "--batch-sizes", "1", "0"],
    ["train", "m", "--threads", "-2"],
])
def test_every_command_refuses_non_positive_numbers(tmp_path, capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        run_cli(capsys, *argv)
    assert exit_info.value.code == 2
    assert "is not allowed: must be a whole number >=" in capsys.readouterr().err
