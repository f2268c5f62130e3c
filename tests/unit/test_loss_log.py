"""LossLog: losses read from the device in groups give the totals and errors of reading each one at once."""

from __future__ import annotations

import math

import pytest
import torch

from tests.unit.test_training import NoisyRegression, _model
from uasbench.training.loop import LossLog, TrainSpec, train


def test_grouped_reads_give_the_per_batch_totals():
    losses = [0.25, 1.0 / 3.0, 2.5, 0.125, 7.0]
    items = [4, 4, 0, 4, 3]  # batch 2 is a stand-in item: it does not count
    log = LossLog("t", read_every=2)
    reads = [log.add(torch.tensor(v), n, where=f"batch {i}") for i, (v, n) in enumerate(zip(losses, items))]
    assert reads == [False, True, False, True, False] and len(log.pending) == 1
    log.read()
    expected = 0.0
    for v, n in zip(losses, items):
        if n:
            expected += float(torch.tensor(v)) * n  # what the loop summed when it read every loss at once
    assert log.total == expected and log.seen == 15 and not log.pending


def test_a_non_finite_loss_is_reported_with_its_own_batch():
    log = LossLog("train x", read_every=10)
    log.add(torch.tensor(1.0), 2, where="epoch 1, batch 0")
    log.add(torch.tensor(math.nan), 2, where="epoch 1, batch 1")
    log.add(torch.tensor(1.0), 2, where="epoch 1, batch 2")
    with pytest.raises(FloatingPointError, match=r"\[train x\] non-finite loss nan at epoch 1, batch 1"):
        log.read()


def test_training_stops_at_a_non_finite_loss(tmp_path):
    def exploding(model, batch):
        x, y = batch
        return (model(x).squeeze(1) - y).pow(2).mean() * float("inf")

    spec = TrainSpec(epochs=1, batch_size=8, lr=1e-2, weight_decay=0.0, workers=0)
    with pytest.raises(FloatingPointError, match="at epoch 1, batch 0"):
        train(_model(), exploding, NoisyRegression(), spec, tmp_path, torch.device("cpu"))
    assert not (tmp_path / "checkpoint.pt").exists()  # nothing written from a diverged epoch
