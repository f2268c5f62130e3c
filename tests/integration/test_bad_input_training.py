"""Training settings are never silently ignored: a misspelt key or option, a whole-number
float, a setting read from the wrong place, or a resume under changed settings is an exit-2 message naming the key
path and the file; nothing trains with defaults the user did not ask for.
"""

from __future__ import annotations

import json

import pytest
import yaml

from tests.fixtures.layouts import make_mvtec
from tests.integration.test_bad_input import assert_clean_error, assert_no_leftovers, run_cli, write_config

# fixtures shared with sibling modules: imported by name (F401), then requested as test parameters (F811)
from tests.integration.test_bad_input_checkpoints import BACKBONE, TRAINING, change_pairs, project  # noqa: F401

ONENIP = {"method": "onenip", "data": "d", "backbone": BACKBONE, "image_size": 32, "epochs": 1, "batch_size": 2,
          "options": {"pretrained_backbone": False, "hidden_dim": 16, "ffn_dim": 16, "heads": 2,
                      "encoder_layers": 1, "decoder_layers": 1}}


def edited_config(tmp_path, edit) -> tuple:
    """A valid config with a training section, changed by ``edit(config_dict)``; returns (path, predict out)."""
    path = write_config(tmp_path / "c.yaml", tmp_path / "results", training={"m": dict(TRAINING["m"])},
                        runs={"random": {"method": "random", "prompt": "none"}})
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data))
    return path, tmp_path / "results" / "predictions" / "d" / "random" / "seed0"


def validate(capsys, config, out):
    """Any command validates the whole config first; predict of the cheap 'random' run would otherwise succeed."""
    return run_cli(capsys, "predict", "random", "--config", config, "--dataset", "d", "--out", out)


@pytest.mark.parametrize("typo", ["epoch", "batchsize", "weight_decey"])
def test_misspelt_training_key_is_refused(tmp_path, capsys, typo):
    config, out = edited_config(tmp_path, lambda c: c["training"]["m"].update({typo: 2}))
    code, _, err = validate(capsys, config, out)
    assert_clean_error(code, err, config, "unknown key at training.m", typo)
    assert_no_leftovers(tmp_path, out)


@pytest.mark.parametrize("method, words", [("patchcore", "is not trainable"), ("metauass", "is not a known method")])
def test_training_an_untrainable_or_unknown_method_is_refused(tmp_path, capsys, method, words):
    """The schema names no methods; validation asks the registry which classes declare themselves trainable."""
    config, out = edited_config(tmp_path, lambda c: c["training"]["m"].update(method=method))
    code, _, err = validate(capsys, config, out)
    assert_clean_error(code, err, config, "invalid value at training.m.method", repr(method), words,
                       "trainable methods: metauas, onenip, uniad")
    assert_no_leftovers(tmp_path, out)


@pytest.mark.parametrize("where, options, named", [
    ("training", {"hidden_dm": 64}, "hidden_dm"),
    ("training", {"dtd_dir": "/data/dtd"}, "dtd_dir"),  # its place is data_options.dtd_dir
    ("run", {"normaliser": "test-set"}, "normaliser"),
], ids=["training-option", "dtd-dir-in-options", "run-option-of-a-trained-model"])
def test_misspelt_method_option_is_refused_at_validation(tmp_path, capsys, where, options, named):
    def edit(c):
        c["datasets"]["d"] = {"kind": "synthetic-ad"}
        c["training"]["o"] = {**ONENIP, "options": {**ONENIP["options"], **(options if where == "training" else {})}}
        c["runs"]["o"] = {"method": "onenip", "model": "o", **({"options": options} if where == "run" else {})}
    config, out = edited_config(tmp_path, edit)
    code, _, err = validate(capsys, config, out)
    path = "training.o.options" if where == "training" else "runs.o.options"
    assert_clean_error(code, err, config, path, "'onenip'", named)
    assert_no_leftovers(tmp_path, out)


@pytest.mark.parametrize("edit, path, value", [
    (lambda c: c["datasets"]["d"].update(image_size=64.0), "datasets.d.image_size", "64.0"),
    (lambda c: c["training"]["m"].update(epochs=1.0), "training.m.epochs", "1.0"),
    (lambda c: c["training"]["m"].update(batch_size=2.0), "training.m.batch_size", "2.0"),
    (lambda c: c.update(prompt_seeds=[1.0]), "prompt_seeds.0", "1.0"),
], ids=["image-size", "epochs", "batch-size", "prompt-seed"])
def test_whole_number_float_is_refused(tmp_path, capsys, edit, path, value):
    config, out = edited_config(tmp_path, edit)
    code, _, err = validate(capsys, config, out)
    assert_clean_error(code, err, config, f"invalid value at {path}", value, "integer")
    assert_no_leftovers(tmp_path, out)


def test_dtd_dir_is_read_from_data_options(tmp_path, capsys):
    """The schema puts the DTD folder in data_options; a missing one there fails instead of using built-in textures."""
    make_mvtec(tmp_path / "mvtec")
    missing = tmp_path / "no_dtd"
    config = write_config(tmp_path / "c.yaml", tmp_path / "results",
                          datasets={"d": {"kind": "mvtec", "root": str(tmp_path / "mvtec"), "image_size": 32}},
                          training={"o": {**ONENIP, "data_options": {"dtd_dir": str(missing)}}})
    code, _, err = run_cli(capsys, "train", "o", "--config", config, "--threads", "1")
    assert_clean_error(code, err, missing, "DTD directory not found")
    assert not (tmp_path / "results" / "models" / "o" / "model.pt").exists()


# --- resume under changed settings -----------------------------------------------------------------------------

def train_with(capsys, config, results, **changes):
    data = yaml.safe_load(config.read_text())
    for key, value in changes.items():
        data["training"]["m"][key] = value
    config.write_text(yaml.safe_dump(data))
    return run_cli(capsys, "train", "m", "--config", config, "--threads", "1")


@pytest.mark.parametrize("changes, words", [
    ({"lr": 0.5}, ["spec.lr: 0.0001 -> 0.5"]),
    ({"batch_size": 3}, ["spec.batch_size: 2 -> 3"]),
    ({"seed": 7}, ["spec.seed: 0 -> 7"]),
    ({"data_options": {"augment": "none"}}, ["entry.data_options: '<unset>' -> {'augment': 'none'}"]),
], ids=["lr", "batch-size", "seed", "data-options"])
def test_resume_after_the_settings_changed_is_refused(project, capsys, changes, words):  # noqa: F811
    config, results = project
    code, _, err = train_with(capsys, config, results)
    assert code == 0, err
    folder = results / "models" / "m"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    code, _, err = train_with(capsys, config, results, **changes)
    assert_clean_error(code, err, folder / "checkpoint.pt", "settings changed", *words, "--no-resume")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_resume_may_extend_epochs_and_the_summary_records_what_ran(project, capsys):  # noqa: F811
    config, results = project
    assert train_with(capsys, config, results)[0] == 0
    code, _, err = train_with(capsys, config, results, epochs=2)
    assert code == 0, err
    summary = json.loads((results / "models" / "m" / "train_summary.json").read_text())
    assert [(h["epoch"], h["of_epochs"]) for h in summary["history"]] == [(1, 1), (2, 2)]
    assert summary["settings"]["spec"]["epochs"] == 2 and summary["settings"]["spec"]["lr"] == 1e-4
    assert summary["settings"]["entry"]["backbone"] == BACKBONE
    code, _, err = train_with(capsys, config, results, epochs=1)
    assert_clean_error(code, err, results / "models" / "m" / "checkpoint.pt", "already trained 2 epochs",
                       "epochs is now 1", "--no-resume")
