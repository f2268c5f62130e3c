"""uasbench.outdir: whole-folder replacement that never deletes what is not its own, and paths kept under a root."""

from __future__ import annotations

import numpy as np
import pytest

from uasbench.errors import ConfigError, UasbenchError
from uasbench.outdir import check_replaceable_dir, inside, remove_stale_staging, replaced_dir
from uasbench.predictions import not_predictions_because, save_category_predictions, write_run_meta


def only_ok_txt(folder):
    """A toy recogniser: a folder is 'ours' when it holds only ok.txt."""
    names = sorted(p.name for p in folder.iterdir())
    return None if names == ["ok.txt"] else f"holds {', '.join(names)}"


def test_inside_keeps_paths_under_the_root(tmp_path):
    assert inside(tmp_path, "models", "m") == tmp_path / "models" / "m"
    for bad in ("../x", "/etc", "a/../../b"):
        with pytest.raises(ConfigError, match="outside"):
            inside(tmp_path / "models", bad)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "escape").symlink_to(tmp_path.parent, target_is_directory=True)
    with pytest.raises(ConfigError, match="outside"):
        inside(tmp_path / "models", "escape")


def test_absent_empty_and_own_folders_are_replaceable(tmp_path):
    assert check_replaceable_dir(tmp_path / "new", only_ok_txt) == tmp_path / "new"
    (tmp_path / "empty").mkdir()
    check_replaceable_dir(tmp_path / "empty", only_ok_txt)
    (tmp_path / "own").mkdir()
    (tmp_path / "own" / "ok.txt").write_text("")
    check_replaceable_dir(tmp_path / "own", only_ok_txt)


def test_foreign_folder_needs_force(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("")
    with pytest.raises(UasbenchError, match="thesis.tex.*--force"):
        check_replaceable_dir(tmp_path / "mine", only_ok_txt)
    check_replaceable_dir(tmp_path / "mine", only_ok_txt, force=True)


def test_symlink_file_cwd_and_parents_are_never_replaceable(tmp_path, monkeypatch):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "file").write_text("")
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    for path, words in [(tmp_path / "link", "symbolic link"), (tmp_path / "dangling", "symbolic link"),
                        (tmp_path / "file", "not a folder"), (".", "current directory"),
                        (tmp_path, "current directory"), ("/", "root")]:
        with pytest.raises(UasbenchError, match=words):
            check_replaceable_dir(path, only_ok_txt, force=True)


def test_replaced_dir_swaps_on_success_and_keeps_the_old_on_error(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "ok.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with replaced_dir(target, only_ok_txt) as staging:
            (staging / "ok.txt").write_text("half")
            raise RuntimeError("killed")
    assert (target / "ok.txt").read_text() == "old"
    with replaced_dir(target, only_ok_txt) as staging:
        (staging / "ok.txt").write_text("new")
    assert (target / "ok.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_replaced_dir_checks_again_before_the_swap(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(UasbenchError, match="notes"):
        with replaced_dir(target, only_ok_txt) as staging:
            (staging / "ok.txt").write_text("new")
            target.mkdir()                                  # the user put something there meanwhile
            (target / "notes").write_text("keep")
    assert (target / "notes").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_remove_stale_staging_removes_only_leftovers(tmp_path):
    target = tmp_path / "seed0"
    ours = tmp_path / ".seed0.uasbench-tmp.abc"
    legacy_own = tmp_path / ".seed0.abcdefgh"
    legacy_foreign = tmp_path / ".seed0.zyxwvuts"
    for folder in (ours, legacy_own, legacy_foreign):
        folder.mkdir()
    (legacy_own / "ok.txt").write_text("")
    (legacy_foreign / "diary.txt").write_text("")
    (tmp_path / ".seed0.notes").write_text("")
    assert sorted(remove_stale_staging(target, only_ok_txt)) == sorted([ours, legacy_own])
    assert legacy_foreign.is_dir() and (tmp_path / ".seed0.notes").is_file()


def test_a_predictions_folder_is_recognised(tmp_path):
    rng = np.random.default_rng(0)
    save_category_predictions(tmp_path, "bottle", rng.random((2, 4, 4)), rng.random(2), np.zeros((2, 4, 4), bool),
                              ["a.png", "b.png"])
    assert not_predictions_because(tmp_path) is None  # without meta.json: Snakemake deletes it before a rerun
    write_run_meta(tmp_path, {"run": "r", "method": "random", "dataset": "d", "seed": 0})
    assert not_predictions_because(tmp_path) is None
    (tmp_path / "meta.json").write_text('{"title": "not a run meta"}')
    assert "meta.json" in not_predictions_because(tmp_path)
    write_run_meta(tmp_path, {"run": "r", "method": "random", "dataset": "d", "seed": 0})
    np.savez(tmp_path / "other.npz", x=np.zeros(1))
    assert "other.npz" in not_predictions_because(tmp_path)
