"""The official MetaUAS prompt files (oneprompt_seed*.json, test-train-top10pair-*.json) drive the prompts when set."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.fixtures.layouts import make_mvtec
from uasbench.config import validate_config
from uasbench.errors import ConfigError
from uasbench.pipeline.prompts import PromptFile, prompt_file_for, random_prompt_indices

SPEC = {"bottle": (3, 2, {"broken_large": 1})}
TWIN = "bottle/train/good/002.png"  # a copy of bottle/test/good/000.png: a zero difference map proves it was used


def _dataset(tmp_path: Path) -> Path:
    root = tmp_path / "mvtec"
    make_mvtec(root, SPEC)
    shutil.copy(root / "bottle/test/good/000.png", root / TWIN)
    return root


def _oneprompt(path: Path, filename: str = TWIN) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"bottle": {"filename": filename, "label": 0, "label_name": "good",
                                           "clsname": "bottle"}}, indent=4))
    return path


def _top10(path: Path) -> Path:
    tests = ["bottle/test/good/000.png", "bottle/test/good/001.png", "bottle/test/broken_large/000.png"]
    firsts = [TWIN, "bottle/train/good/000.png", "bottle/train/good/001.png"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({t: [f, "bottle/train/good/001.png"]}) + "\n" for t, f in zip(tests, firsts)))
    return path


def _config(tmp_path: Path, root: Path, **dataset) -> dict:
    return validate_config({
            "tier": "embedded", "results_dir": str(tmp_path / "results"), "prompts_root": str(tmp_path / "prompts"),
            "datasets": {"m": {"kind": "mvtec", "root": str(root), "image_size": 32, **dataset}},
            "runs": {"diff": {"method": "prompt-diff", "prompt": "random", "options": {"space": "pixel"}},
                     "diff-best": {"method": "prompt-diff", "prompt": "best-match", "options": {"space": "pixel"}}}})


def _samples(root: Path):
    from uasbench.datasets import load_dataset

    samples = load_dataset("mvtec", root)
    return ([s for s in samples if s.split == "train"], [s for s in samples if s.split == "test"])


def test_both_official_formats_give_indices_into_the_normal_images(tmp_path):
    root = _dataset(tmp_path)
    normals, tests = _samples(root)
    names = [s.image_path.name for s in normals]
    assert PromptFile(_oneprompt(tmp_path / "p/one.json")).indices("random", "bottle", normals, tests, root) \
        == [names.index("002.png")]
    top10 = PromptFile(_top10(tmp_path / "p/top10.json"))
    assert top10.kind == "per-query"
    picked = top10.indices("best-match", "bottle", normals, tests, root)
    expected = {"good/000.png": "002.png", "good/001.png": "000.png", "broken_large/000.png": "001.png"}
    assert [normals[i].image_path.name for i in picked] == \
        [expected[f"{s.image_path.parent.name}/{s.image_path.name}"] for s in tests]


def test_prompt_file_errors_name_the_file_and_the_entry(tmp_path):
    root = _dataset(tmp_path)
    normals, tests = _samples(root)
    one = PromptFile(_oneprompt(tmp_path / "p/one.json"))
    with pytest.raises(ConfigError, match=r"one.json has no entry for category 'cable'"):
        one.indices("random", "cable", normals, tests, root)
    with pytest.raises(ConfigError, match="fits prompt mode 'random', not 'best-match'"):
        one.indices("best-match", "bottle", normals, tests, root)
    gone = PromptFile(_oneprompt(tmp_path / "p/gone.json", "bottle/train/good/999.png"))
    with pytest.raises(ConfigError, match=r"gone.json, entry 'bottle': 'bottle/train/good/999.png' is not a normal"):
        gone.indices("random", "bottle", normals, tests, root)
    short = tmp_path / "p/short.json"
    short.write_text(_top10(tmp_path / "p/top10.json").read_text().splitlines()[0] + "\n")
    missing = next(s for s in tests if s.image_path.parent.name != "good")
    with pytest.raises(ConfigError, match="short.json has no entry for test image 'bottle/test/broken_large/000.png'"):
        PromptFile(short).indices("best-match", "bottle", normals, [missing], root)
    (tmp_path / "p/bad.json").write_text("[1, 2]\n")
    with pytest.raises(ConfigError, match="bad.json: expected JSON objects"):
        PromptFile(tmp_path / "p/bad.json")


def test_config_points_at_the_files_per_dataset_and_per_run(tmp_path):
    root = _dataset(tmp_path)
    config = _config(tmp_path, root,
                     prompt_file={"random": "M/oneprompt_seed{seed}.json", "best-match": "M/top10.json"})
    validate_config(config)
    with pytest.raises(ConfigError, match="prompts_root = .* does not exist"):
        prompt_file_for(config, "diff", "m", 3, "random")
    _oneprompt(tmp_path / "prompts/M/oneprompt_seed3.json")
    assert prompt_file_for(config, "diff", "m", 3, "random").path.name == "oneprompt_seed3.json"
    with pytest.raises(ConfigError,
                       match=r"datasets.m.prompt_file.random: prompt file .*oneprompt_seed5.json not found"):
        prompt_file_for(config, "diff", "m", 5, "random")
    assert prompt_file_for(config, "diff", "m", 3, "random-per-image") is None
    config["runs"]["diff"]["prompt_file"] = None  # a run may opt out
    assert prompt_file_for(config, "diff", "m", 3, "random") is None
    del config["prompts_root"]
    with pytest.raises(ConfigError, match="is relative, but prompts_root is not set"):
        prompt_file_for(config, "diff-best", "m", 3, "best-match")


def _predict(tmp_path, config, run, seed, name):
    from uasbench.pipeline.predict import run_predict
    from uasbench.predictions import load_category_predictions

    run_predict(config, run, "m", seed, tmp_path / name, torch.device("cpu"))
    pred = load_category_predictions(tmp_path / name, "bottle")
    return {Path(p).parent.name + "/" + Path(p).name: m for p, m in zip(pred.paths, pred.maps)}


def test_run_predict_uses_the_seed_file_prompt_and_the_top1_match(tmp_path):
    root = _dataset(tmp_path)
    seed = next(s for s in range(1, 50) if random_prompt_indices(3, s, "bottle") != [2])  # the draw avoids the twin
    config = _config(tmp_path, root,
                     prompt_file={"random": "M/oneprompt_seed{seed}.json", "best-match": "M/top10.json"})
    _oneprompt(tmp_path / f"prompts/M/oneprompt_seed{seed}.json")
    _top10(tmp_path / "prompts/M/top10.json")
    from_file = _predict(tmp_path, config, "diff", seed, "a")
    assert np.abs(from_file["good/000.png"]).max() == 0 < np.abs(from_file["good/001.png"]).max()
    best = _predict(tmp_path, config, "diff-best", 0, "b")
    assert np.abs(best["good/000.png"]).max() == 0 < np.abs(best["broken_large/000.png"]).max()
    del config["datasets"]["m"]["prompt_file"]
    drawn = _predict(tmp_path, config, "diff", seed, "c")
    assert np.abs(drawn["good/000.png"]).max() > 0  # the seeded draw stays the default
