"""The shared training loop: resume after an interruption must end bit-for-bit where an uninterrupted run ends."""

import pytest
import torch
from torch import nn

from uasbench.training.loop import TrainSpec, train


class NoisyRegression(torch.utils.data.Dataset):
    """Epoch-dependent augmentation, as the real datasets do."""

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(40, 4, generator=g)
        self.y = self.x @ torch.tensor([1.0, -2.0, 0.5, 3.0])
        self.epoch = 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(self.epoch * 1000 + i)
        return self.x[i] + 0.01 * torch.randn(4, generator=g), self.y[i]


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.2), nn.Linear(8, 1))


def _loss(model, batch):
    x, y = batch
    return nn.functional.mse_loss(model(x).squeeze(1), y)


def test_resume_is_bit_for_bit(tmp_path):
    spec = TrainSpec(epochs=4, batch_size=8, lr=1e-2, weight_decay=1e-4, seed=3, grad_clip=1.0, step_size=2)
    straight = _model()
    hist = train(straight, _loss, NoisyRegression(), spec, tmp_path / "a", torch.device("cpu"))
    assert hist[-1]["loss"] < hist[0]["loss"]
    assert hist[-1]["lr"] == pytest.approx(1e-4)

    interrupted = _model()
    train(interrupted, _loss, NoisyRegression(), TrainSpec(**{**spec.__dict__, "epochs": 2}), tmp_path / "b",
          torch.device("cpu"))
    # a fresh process would rebuild the model from scratch and resume from the checkpoint
    resumed = _model()
    hist_b = train(resumed, _loss, NoisyRegression(), spec, tmp_path / "b", torch.device("cpu"))
    assert [h["loss"] for h in hist_b] == [h["loss"] for h in hist]
    for p, q in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(p, q)
