"""Resume refuses changed settings (old optimizer state under new settings), except a changed epoch count."""

from __future__ import annotations

import pytest
import torch

from tests.unit.test_training import NoisyRegression, _loss, _model
from uasbench.errors import CheckpointError
from uasbench.methods.registry import method_class
from uasbench.pipeline.train import _entry_settings
from uasbench.training.loop import TrainSpec, settings_changes, train

SPEC = dict(epochs=2, batch_size=8, lr=1e-2, weight_decay=1e-4, seed=3)


def first_epoch(tmp_path, meta=None):
    train(_model(), _loss, NoisyRegression(), TrainSpec(**{**SPEC, "epochs": 1}), tmp_path, torch.device("cpu"),
          meta=meta)
    return (tmp_path / "checkpoint.pt").read_bytes()


@pytest.mark.parametrize("change, words", [({"lr": 1e-3}, "spec.lr: 0.01 -> 0.001"),
                                           ({"grad_clip": 1.0}, "spec.grad_clip: None -> 1.0"),
                                           ({"betas": (0.5, 0.9)}, "spec.betas: [0.9, 0.999] -> [0.5, 0.9]")])
def test_changed_spec_is_refused_and_the_checkpoint_kept(tmp_path, change, words):
    before = first_epoch(tmp_path)
    with pytest.raises(CheckpointError, match=r"settings changed.*" + words.replace("[", r"\[").replace("]", r"\]")):
        train(_model(), _loss, NoisyRegression(), TrainSpec(**{**SPEC, **change}), tmp_path, torch.device("cpu"))
    assert (tmp_path / "checkpoint.pt").read_bytes() == before


def test_changed_meta_is_refused_and_no_resume_starts_over(tmp_path):
    first_epoch(tmp_path, meta={"entry": {"options": {"dice_weight": 0.5}}})
    with pytest.raises(CheckpointError, match=r"entry\.options\.dice_weight: 0\.5 -> 1\.0"):
        train(_model(), _loss, NoisyRegression(), TrainSpec(**SPEC), tmp_path, torch.device("cpu"),
              meta={"entry": {"options": {"dice_weight": 1.0}}})
    history = train(_model(), _loss, NoisyRegression(), TrainSpec(**SPEC), tmp_path, torch.device("cpu"),
                    resume=False, meta={"entry": {"options": {"dice_weight": 1.0}}})
    assert [h["epoch"] for h in history] == [1, 2]


def test_settings_changes_lists_every_leaf():
    assert settings_changes({"a": 1, "b": {"c": [1]}}, {"a": 2, "b": {"d": 3}}) == [
        "a: 1 -> 2", "b.c: [1] -> '<unset>'", "b.d: '<unset>' -> 3"]


def test_onenip_with_refiner_may_not_change_epochs_on_resume():
    hooks = method_class("onenip")
    entry = {"method": "onenip", "data": "d", "epochs": 30, "lr": 1e-3, "options": {}}
    assert _entry_settings(entry, hooks) == {"method": "onenip", "data": "d", "options": {}, "epochs": 30}
    no_refiner = {**entry, "options": {"refiner": False}}
    assert "epochs" not in _entry_settings(no_refiner, hooks)
    uniad_hooks = method_class("uniad")
    assert "epochs" not in _entry_settings({**entry, "method": "uniad"}, uniad_hooks)
