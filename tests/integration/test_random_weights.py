"""No silent random weights: a config that claims pretrained weights stops before computing, exit 2, naming the
weight, where it was looked for and the fetch command; ``allow_random_weights: true`` runs; ``env --config`` lists
every weight a config needs. All through the CLI (and the DAG), with empty weight caches."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.fixtures.layouts import make_mvtec
from tests.fixtures.weight_caches import empty_weight_caches
from uasbench.cli import main

ROOT = Path(__file__).resolve().parents[2]
B4_FILE = "efficientnet-b4-6ed6700e.pth"
DATASET = {"kind": "synthetic-ad", "seed": 0, "image_size": 64, "n_train": 1, "n_test_good": 1, "n_test_defect": 2,
           "categories": ["nut"]}


@pytest.fixture(autouse=True)
def empty_caches(tmp_path, monkeypatch):
    """No torch hub, Hugging Face or open_clip cache holds any weight file."""
    return empty_weight_caches(tmp_path, monkeypatch)


def write_config(tmp_path: Path, runs: dict, training: dict | None = None, **top) -> Path:
    config = {"tier": "paper", "results_dir": str(tmp_path / "results"), "device": "cpu", "prompt_seeds": [1],
              "datasets": {"d": DATASET}, "runs": runs, **top}
    if training:
        config["training"] = training
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def make_dataset(tmp_path: Path) -> None:
    assert main(["data", "make-synthetic-ad", "--out", str(tmp_path / "results" / "data" / "d"), "--seed", "0",
                 "--image-size", "64", "--n-train", "1", "--n-test-good", "1", "--n-test-defect", "2",
                 "--categories", "nut"]) == 0


def assert_refused(err: str, what: str, searched: str, fetch: str) -> None:
    assert "random weights refused" in err and what in err and searched in err, err
    assert f"uasbench fetch {fetch}" in err and "allow_random_weights: true" in err, err


FEATURE_DIFF_B4 = {"method": "prompt-diff", "prompt": "random", "options": {"space": "feature",
                                                                              "backbone": "efficientnet_b4"}}


@pytest.mark.parametrize("run,what,fetch", [
    (FEATURE_DIFF_B4, "backbone 'efficientnet_b4'", "efficientnet-b4"),
    ({"method": "patchcore", "prompt": "random", "options": {"backbone": "wide_resnet50_2"}},
     "backbone 'wide_resnet50_2'", "wide-resnet50-2"),
    ({"method": "winclip", "prompt": "none"}, "CLIP 'ViT-B-16-plus-240'", "clip-vit-b-16-plus-240"),
    ({"method": "prompt-diff", "prompt": "random", "clip_prior": {"clip_model": "ViT-B-16-plus-240", "weight": 0.5}},
     "CLIP 'ViT-B-16-plus-240'", "clip-vit-b-16-plus-240"),
])
def test_paper_tier_predict_and_latency_refuse_a_random_pretrained_model(tmp_path, capsys, empty_caches, run, what,
                                                                          fetch):
    config = write_config(tmp_path, {"r": run})  # no dataset on disk either: the weights are checked first
    out = tmp_path / "pred"
    assert main(["predict", "r", "--config", str(config), "--dataset", "d", "--seed", "1", "--out", str(out),
                 "--device", "cpu"]) == 2
    searched = str(empty_caches) if what.startswith("backbone") else str(tmp_path / "cache" / "huggingface" / "hub")
    assert_refused(capsys.readouterr().err, what, searched, fetch)
    assert not out.exists()
    assert main(["bench", "latency", "r", "--config", str(config), "--out", str(tmp_path / "e.json"),
                 "--device", "cpu"]) == 2
    assert_refused(capsys.readouterr().err, what, searched, fetch)
    assert not (tmp_path / "e.json").exists()


def test_training_on_a_random_encoder_is_refused_before_its_data_is_read(tmp_path, capsys, empty_caches):
    training = {"m": {"method": "metauas", "data": "change_pairs", "backbone": "efficientnet_b4", "epochs": 1}}
    config = write_config(tmp_path, {"r": {"method": "metauas", "model": "m"}}, training)
    out = tmp_path / "model"
    assert main(["train", "m", "--config", str(config), "--out", str(out), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert_refused(err, "backbone 'efficientnet_b4'", str(empty_caches / B4_FILE), "efficientnet-b4")
    assert "training.m" in err and "change_pairs" not in err  # refused before the missing pairs were looked for
    assert not (out / "model.pt").exists()
    assert main(["bench", "train", "m", "--config", str(config), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert_refused(err, "backbone 'efficientnet_b4'", str(empty_caches / B4_FILE), "efficientnet-b4")
    assert "change_pairs" not in err


@pytest.mark.parametrize("where", ["config", "run"])
def test_allow_random_weights_runs_on_random_weights(tmp_path, capsys, where):
    run = {**FEATURE_DIFF_B4, **({"allow_random_weights": True} if where == "run" else {})}
    config = write_config(tmp_path, {"r": run}, **({"allow_random_weights": True} if where == "config" else {}))
    make_dataset(tmp_path)
    out = tmp_path / "pred"
    assert main(["predict", "r", "--config", str(config), "--dataset", "d", "--seed", "1", "--out", str(out),
                 "--device", "cpu"]) == 0
    assert "[weights: random]" in capsys.readouterr().out and (out / "meta.json").is_file()


def test_explicit_pretrained_false_is_a_request_not_a_silent_fallback(tmp_path):
    run = {"method": "prompt-diff", "prompt": "random",
           "options": {"space": "feature", "backbone": "efficientnet_b4", "pretrained": False}}
    config = write_config(tmp_path, {"r": run})
    make_dataset(tmp_path)
    assert main(["predict", "r", "--config", str(config), "--dataset", "d", "--seed", "1",
                 "--out", str(tmp_path / "pred"), "--device", "cpu"]) == 0


def test_custom_run_naming_a_pretrained_backbone_is_refused_unless_allowed(tmp_path, capsys, empty_caches):
    root = tmp_path / "parts"
    make_mvtec(root)
    argv = ["run", "--root", str(root), "--method", "prompt-diff", "--options", "space=feature",
            "backbone=efficientnet_b4", "--image-size", "64", "--device", "cpu"]
    assert main([*argv, "--out", str(tmp_path / "refused")]) == 2
    assert_refused(capsys.readouterr().err, "backbone 'efficientnet_b4'", str(empty_caches / B4_FILE),
                   "efficientnet-b4")
    assert not (tmp_path / "refused").exists()
    assert main([*argv, "--out", str(tmp_path / "allowed"), "--allow-random-weights"]) == 0
    assert (tmp_path / "allowed" / "tables" / "main_parts.md").is_file()
    assert yaml.safe_load((tmp_path / "allowed" / "config.yaml").read_text())["allow_random_weights"] is True


def test_env_lists_every_weight_a_config_needs(tmp_path, capsys, empty_caches):
    runs = {"feat": FEATURE_DIFF_B4, "lite": {"method": "patchcore", "options": {"backbone": "tf_efficientnet_lite0"}},
            "tiny": {"method": "clip", "prompt": "none", "options": {"model_name": "clip-tiny"},
                     "allow_random_weights": True},
            "pixel": {"method": "prompt-diff", "options": {"space": "pixel"}}}
    config = write_config(tmp_path, runs)
    assert main(["env", "--config", str(config)]) == 0
    out = capsys.readouterr().out.split(f"weights {config} needs (3;")[1]
    lines = out.splitlines()
    feat = next(i for i, line in enumerate(lines) if line.split()[:1] == ["runs.feat"])
    assert "backbone 'efficientnet_b4'" in lines[feat] and lines[feat].endswith("random")
    assert "REFUSED" in lines[feat + 1] and str(empty_caches / B4_FILE) in lines[feat + 1]
    assert "uasbench fetch efficientnet-b4" in lines[feat + 1]
    lite = next(line for line in lines if line.split()[:1] == ["runs.lite"])
    assert lite.endswith(".pth") and Path(lite.split()[-1]).is_file()  # the file the installed package ships
    tiny = next(i for i, line in enumerate(lines) if line.split()[:1] == ["runs.tiny"])
    assert "allowed by allow_random_weights" in lines[tiny + 1]
    assert "runs.pixel" not in out  # pixel differences load no network


def test_shipped_configs_pass_the_check_and_the_paper_dag_stops_before_its_first_job(tmp_path, empty_caches):
    from uasbench.config import load_config
    from uasbench.pipeline.weights import check_needs, config_needs

    for name in ("config.yaml", "ci.yaml", "paper-official.yaml"):
        check_needs(config_needs(load_config(ROOT / "config" / name)))  # embedded + ci allow their random CLIP-tiny
    with pytest.raises(Exception, match="uasbench fetch efficientnet-b4"):
        check_needs(config_needs(load_config(ROOT / "config" / "paper.yaml")))
    env = {k: v for k, v in os.environ.items() if k != "UASBENCH_SKIP_ROOT_CHECK"}
    cmd = [str(Path(sys.executable).parent / "snakemake"), "--cores", "1", "--nolock", "--snakefile",
           str(ROOT / "Snakefile"), "--directory", str(tmp_path), "--configfile", str(tmp_path / "config.yaml")]
    write_config(tmp_path, {"r": FEATURE_DIFF_B4})  # a paper-tier run on E-b4: refused before the first job
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode != 0 and "uasbench fetch efficientnet-b4" in done.stdout + done.stderr
    assert not (tmp_path / "results" / "data").exists()  # no job ran
    write_config(tmp_path, {"r": FEATURE_DIFF_B4}, allow_random_weights=True)
    done = subprocess.run([*cmd, "-n"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]


@pytest.mark.parametrize("name,run", [("config.yaml", "clip"), ("ci.yaml", "winclip+")])
def test_shipped_random_by_design_runs_still_predict(tmp_path, capsys, name, run):
    """The embedded tier's CLIP-tiny run (allowed per run) and the ci tier's (allowed for the whole config)."""
    config = yaml.safe_load((ROOT / "config" / name).read_text())
    config["results_dir"] = str(tmp_path / "results")
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    assert main(["data", "make-synthetic-ad", "--out", str(tmp_path / "results" / "data" / "synthetic"), "--seed", "0",
                 "--image-size", "64", "--n-train", "1", "--n-test-good", "1", "--n-test-defect", "1",
                 "--categories", "brick"]) == 0
    assert main(["predict", run, "--config", str(path), "--dataset", "synthetic", "--seed", "1",
                 "--out", str(tmp_path / "pred"), "--device", "cpu"]) == 0
    assert "[weights: random]" in capsys.readouterr().out
