"""``compile: true`` (torch.compile of forward + loss) trains the weights eager training does; resumes either way."""

from __future__ import annotations

import shutil

import pytest
import torch
from torch import nn

from tests.unit.test_training import NoisyRegression, _loss
from uasbench.training.loop import TrainSpec, train

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                                reason="torch.compile on a CPU needs a C compiler (none on PATH)")
SPEC = dict(epochs=2, batch_size=8, lr=1e-2, weight_decay=1e-4, seed=3, workers=0)  # 40 items: 5 full batches


def _model() -> nn.Module:
    """No dropout: compiled kernels draw random numbers differently from eager ones."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))


def test_compiled_training_matches_eager_and_resumes_across_modes(tmp_path):
    torch.set_num_threads(1)
    cpu = torch.device("cpu")
    eager = _model()
    eager_history = train(eager, _loss, NoisyRegression(), TrainSpec(**SPEC), tmp_path / "eager", cpu)
    compiled = _model()
    history = train(compiled, _loss, NoisyRegression(), TrainSpec(**SPEC, compile=True), tmp_path / "compiled", cpu)
    for name, weight in eager.state_dict().items():
        torch.testing.assert_close(compiled.state_dict()[name], weight, rtol=1e-4, atol=1e-5)
        assert not torch.equal(weight, _model().state_dict()[name])  # it trained
    assert [h["loss"] for h in history] == pytest.approx([h["loss"] for h in eager_history], rel=1e-4)
    # compile is how a run executes, not what it computes: an eager checkpoint continues compiled
    cut = _model()
    train(cut, _loss, NoisyRegression(), TrainSpec(**{**SPEC, "epochs": 1}), tmp_path / "cut", cpu)
    resumed = _model()
    train(resumed, _loss, NoisyRegression(), TrainSpec(**SPEC, compile=True), tmp_path / "cut", cpu)
    for name, weight in eager.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[name], weight, rtol=1e-4, atol=1e-5)
