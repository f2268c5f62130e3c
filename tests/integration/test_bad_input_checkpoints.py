"""Bad checkpoints: another model's, missing/extra keys, code-running pickles, truncated files on resume.

Every loader reads with ``torch.load(weights_only=True)``; the pickle tests first prove that their payload really
runs code under a plain ``torch.load``, then that no uasbench entry point runs it.
"""

from __future__ import annotations

import pytest
import torch

from tests.integration.test_bad_input import assert_clean_error, assert_no_leftovers, run_cli, write_config
from uasbench.cli import main

BACKBONE = "tf_efficientnet_lite0"
TRAINING = {
    # trained by the resume tests (a random backbone keeps it offline and fast)
    "m": {"method": "metauas", "data": "change_pairs", "backbone": BACKBONE, "image_size": 32, "epochs": 1,
          "batch_size": 2, "options": {"pretrained_backbone": False}},
    # loaded by predict: load_trained_method builds it with pretrained_backbone=False itself
    "p": {"method": "metauas", "data": "change_pairs", "backbone": BACKBONE},
}
RUNS = {"p": {"method": "metauas", "model": "p", "prompt": "random"}}


class CodeRunningPayload:
    """Unpickling this creates ``marker``: the stand-in for any code a malicious checkpoint would run."""

    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def evil_checkpoint(path, marker, **content):
    torch.save({**content, "payload": CodeRunningPayload(marker)}, path)
    torch.load(path, weights_only=False).get("payload").close()  # proof: a plain load runs the payload ...
    assert marker.exists()
    marker.unlink()                                               # ... which is undone before the real test
    return path


@pytest.fixture(scope="module")
def metauas_state():
    from uasbench.methods import create

    torch.manual_seed(0)
    return create("metauas", backbone=BACKBONE, pretrained_backbone=False).model.state_dict()


@pytest.fixture(scope="module")
def change_pairs(tmp_path_factory):
    out = tmp_path_factory.mktemp("pairs") / "change_pairs"
    assert main(["data", "make-change-pairs", "--out", str(out), "--n-pairs", "4", "--image-size", "32",
                 "--quiet"]) == 0
    return out


@pytest.fixture
def project(tmp_path, change_pairs):
    """(config, results dir) with the change pairs in place; nothing trained yet."""
    results = tmp_path / "results"
    (results / "data").mkdir(parents=True)
    (results / "data" / "change_pairs").symlink_to(change_pairs, target_is_directory=True)
    return write_config(tmp_path / "c.yaml", results, training=TRAINING, runs=RUNS), results


def predict(capsys, config, tmp_path, run="p"):
    out = tmp_path / "results" / "predictions" / "d" / run / "seed0"
    return (*run_cli(capsys, "predict", run, "--config", config, "--dataset", "d", "--out", out), out)


def save_model(results, name, **content):
    path = results / "models" / name / "model.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(content, path)
    return path


# --- model.pt read by predict ---------------------------------------------------------------------------------

def test_trained_model_file_missing(project, tmp_path, capsys):
    config, results = project
    code, _, err, out = predict(capsys, config, tmp_path)
    assert_clean_error(code, err, results / "models" / "p" / "model.pt", "uasbench train p")
    assert_no_leftovers(tmp_path, out)


def test_checkpoint_of_another_model(project, tmp_path, capsys):
    config, results = project
    path = save_model(results, "p", method="onenip", state_dict={"x": torch.zeros(1)})
    code, _, err, out = predict(capsys, config, tmp_path)
    assert_clean_error(code, err, path, "'onenip'", "'metauas'")
    assert_no_leftovers(tmp_path, out)


@pytest.mark.parametrize("edit, words", [("drop", ["missing:", "decoder"]), ("add", ["unexpected:", "extra.weight"])])
def test_checkpoint_with_missing_or_extra_keys(project, tmp_path, capsys, metauas_state, edit, words):
    config, results = project
    state = dict(metauas_state)
    if edit == "drop":
        state.pop(next(k for k in state if k.startswith("decoder")))
    else:
        state["extra.weight"] = torch.zeros(3)
    path = save_model(results, "p", method="metauas", state_dict=state)
    code, _, err, out = predict(capsys, config, tmp_path)
    assert_clean_error(code, err, path, *words)
    assert_no_leftovers(tmp_path, out)


def test_pickle_in_trained_model_is_refused(project, tmp_path, capsys):
    config, results = project
    marker = tmp_path / "pwned"
    path = results / "models" / "p" / "model.pt"
    path.parent.mkdir(parents=True)
    evil_checkpoint(path, marker, method="metauas", state_dict={})
    code, _, err, out = predict(capsys, config, tmp_path)
    assert_clean_error(code, err, path)
    assert not marker.exists()
    assert_no_leftovers(tmp_path, out)


def test_pickle_in_a_run_checkpoint_option_is_refused(project, tmp_path, capsys):
    config, _ = project
    marker = tmp_path / "pwned"
    path = evil_checkpoint(tmp_path / "weights.pt", marker)
    config = write_config(config, tmp_path / "results", runs={"w": {
        "method": "metauas", "prompt": "random", "options": {"backbone": BACKBONE, "checkpoint": str(path)}}})
    code, _, err, out = predict(capsys, config, tmp_path, run="w")
    assert_clean_error(code, err, path, "weights_only=True")
    assert not marker.exists()
    assert_no_leftovers(tmp_path, out)


# --- checkpoint.pt read on resume by train ---------------------------------------------------------------------

def train(capsys, config):
    return run_cli(capsys, "train", "m", "--config", config, "--threads", "1")


def checkpoint_path(results):
    path = results / "models" / "m" / "checkpoint.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def assert_checkpoint_kept_and_nothing_written(path, before: bytes) -> None:
    assert path.read_bytes() == before, "the checkpoint was modified or deleted"
    assert sorted(p.name for p in path.parent.iterdir()) == ["checkpoint.pt"]


def test_truncated_training_checkpoint_on_resume(project, capsys):
    config, results = project
    path = checkpoint_path(results)
    torch.save({"model": {"w": torch.arange(5000.0)}, "epoch": 0}, path)
    path.write_bytes(path.read_bytes()[:-4000])
    before = path.read_bytes()
    code, _, err = train(capsys, config)
    assert_clean_error(code, err, path, "cannot load training checkpoint")
    assert_checkpoint_kept_and_nothing_written(path, before)


def test_pickle_in_training_checkpoint_is_refused(project, tmp_path, capsys):
    config, results = project
    marker = tmp_path / "pwned"
    path = evil_checkpoint(checkpoint_path(results), marker, epoch=0)
    before = path.read_bytes()
    code, _, err = train(capsys, config)
    assert_clean_error(code, err, path)
    assert not marker.exists()
    assert_checkpoint_kept_and_nothing_written(path, before)


@pytest.mark.parametrize("content, words", [
    ({"model": {"bogus.weight": torch.zeros(2)}, "epoch": 0}, ["does not fit this model", "bogus.weight"]),
    ({"state_dict": {}, "method": "metauas"}, ["'model'"]),  # a final model.pt copied over the checkpoint
], ids=["other-architecture", "not-a-training-checkpoint"])
def test_training_checkpoint_of_another_model_on_resume(project, capsys, content, words):
    config, results = project
    path = checkpoint_path(results)
    torch.save(content, path)
    before = path.read_bytes()
    code, _, err = train(capsys, config)
    assert_clean_error(code, err, path, *words)
    assert_checkpoint_kept_and_nothing_written(path, before)


# --- convert --------------------------------------------------------------------------------------------------

def test_convert_refuses_pickles_and_foreign_files(tmp_path, capsys):
    marker = tmp_path / "pwned"
    evil = evil_checkpoint(tmp_path / "evil.ckpt", marker)
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"\x00not a checkpoint")
    for method in ("metauas", "onenip"):
        for source in (evil, garbage):
            out = tmp_path / f"{method}-{source.stem}.pt"
            code, _, err = run_cli(capsys, "convert", f"{method}-official", source, out)
            assert_clean_error(code, err, source)
            assert not out.exists()
    assert not marker.exists()
    assert_no_leftovers(tmp_path)
