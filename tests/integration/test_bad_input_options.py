"""Option values are checked when the config loads, before any model runs: a value of the wrong kind or out of its
range (``smoothing_sigma: abc``, ``.nan``, ``-1``), and any non-finite number where the schema asks for a number
(``lr: .nan``, ``.inf``), is an exit-2 message naming the key, the value and what is expected; nothing is written.
"""

from __future__ import annotations

import pytest
import yaml

from tests.fixtures.layouts import make_mvtec
from tests.integration.test_bad_input import assert_clean_error, assert_no_leftovers, run_cli, write_config
from tests.integration.test_bad_input_checkpoints import TRAINING


@pytest.fixture
def mvtec(tmp_path):
    make_mvtec(tmp_path / "data")
    return tmp_path / "data"


@pytest.mark.parametrize("value, words", [
    ("abc", ["runs.prompt-diff.options.smoothing_sigma", "'abc'", "a finite number >= 0"]),
    (".nan", ["runs.prompt-diff.options.smoothing_sigma", "nan", "a finite number >= 0"]),
    ("-1", ["runs.prompt-diff.options.smoothing_sigma", "-1", ">= 0"]),
], ids=["text", "nan", "negative"])
def test_run_refuses_a_wrong_option_value_before_computing(mvtec, tmp_path, capsys, value, words):
    """Today 'abc' is a TypeError inside the smoothing after the predictions, and .nan silently means no smoothing."""
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "run", "--root", mvtec, "--method", "prompt-diff", "--image-size", "32",
                           "--options", f"smoothing_sigma={value}", "--out", out)
    assert_clean_error(code, err, "method 'prompt-diff'", *words)
    assert_no_leftovers(tmp_path, out)


@pytest.mark.parametrize("options, words", [
    ({"space": "latent"}, ["runs.r.options.space", "'latent'", "one of 'pixel', 'feature'"]),
    ({"smoothing_sigma": float("inf")}, ["runs.r.options.smoothing_sigma", "inf", "a finite number"]),
    ({"pretrained": "no"}, ["runs.r.options.pretrained", "'no'", "true or false"]),
])
def test_predict_refuses_a_wrong_option_value_in_the_config(tmp_path, capsys, options, words):
    config = write_config(tmp_path / "c.yaml", tmp_path / "results",
                          runs={"r": {"method": "prompt-diff", "prompt": "random", "options": options}})
    out = tmp_path / "results" / "predictions" / "d" / "r" / "seed0"
    code, _, err = run_cli(capsys, "predict", "r", "--config", config, "--dataset", "d", "--out", out)
    assert_clean_error(code, err, config, *words)
    assert_no_leftovers(tmp_path, out)


@pytest.mark.parametrize("edit, words", [
    (lambda m: m.update(lr=float("nan")), ["invalid value at training.m.lr", "nan is not a finite number"]),
    (lambda m: m.update(lr=float("inf")), ["invalid value at training.m.lr", "inf is not a finite number"]),
    (lambda m: m.update(weight_decay=float("inf")), ["training.m.weight_decay", "inf is not a finite number"]),
    (lambda m: m["options"].update(num_alignment_layers=2.0),
     ["training.m.options.num_alignment_layers", "2.0", "a whole number >= 1"]),
    (lambda m: m["options"].update(decoder_channels=[64, "32"]),
     ["training.m.options.decoder_channels", "[64, '32']", "a non-empty list of whole numbers >= 1"]),
], ids=["lr-nan", "lr-inf", "weight-decay-inf", "float-layers", "text-channel"])
def test_a_non_finite_or_wrongly_typed_training_setting_is_refused(tmp_path, capsys, edit, words):
    """Any command validates the whole config first: predicting the cheap 'random' run refuses the training entry."""
    training = yaml.safe_load(yaml.safe_dump(TRAINING))  # a deep copy
    edit(training["m"])
    config = write_config(tmp_path / "c.yaml", tmp_path / "results", training=training)
    out = tmp_path / "results" / "predictions" / "d" / "random" / "seed0"
    code, _, err = run_cli(capsys, "predict", "random", "--config", config, "--dataset", "d", "--out", out)
    assert_clean_error(code, err, config, *words)
    assert_no_leftovers(tmp_path, out)
