"""Precision options: fp32 is the loop as it always was, bf16 autocast trains, a typo is a clear error."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.unit.test_training import NoisyRegression, _loss, _model
from uasbench.errors import ConfigError
from uasbench.precision import (
    PRECISIONS,
    autocast,
    check_precision,
    precision_context,
    precision_flags,
    precision_note,
    save_flags,
)
from uasbench.training.loop import TrainSpec, train

CPU = torch.device("cpu")
SPEC = dict(epochs=3, batch_size=8, lr=1e-2, weight_decay=1e-4, seed=3, grad_clip=1.0, step_size=2)


def _reference_fp32(model: nn.Module) -> list[float]:
    """The loop's algorithm written out by hand (order, AdamW, StepLR, clipping): fp32 must match it bit for bit."""
    torch.manual_seed(SPEC["seed"])  # seed_everything's torch part drives the dropout masks
    data = NoisyRegression()
    opt = torch.optim.AdamW(model.parameters(), lr=SPEC["lr"], weight_decay=SPEC["weight_decay"])
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=SPEC["step_size"], gamma=0.1)
    losses = []
    for epoch in range(SPEC["epochs"]):
        data.set_epoch(epoch)
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(SPEC["seed"] * 100003 + epoch))
        total = 0.0
        model.train()
        for start in range(0, len(data), SPEC["batch_size"]):
            items = [data[i] for i in order[start:start + SPEC["batch_size"]].tolist()]
            batch = (torch.stack([x for x, _ in items]), torch.stack([y for _, y in items]))
            loss = _loss(model, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(list(model.parameters()), SPEC["grad_clip"])
            opt.step()
            total += loss.item() * len(items)
        sched.step()
        losses.append(total / len(data))
    return losses


def test_fp32_is_the_unchanged_loop(tmp_path):
    reference, trained = _model(), _model()
    expected = _reference_fp32(reference)
    history = train(trained, _loss, NoisyRegression(), TrainSpec(**SPEC, precision="fp32"), tmp_path, CPU)
    assert [h["loss"] for h in history] == expected
    for p, q in zip(reference.state_dict().values(), trained.state_dict().values()):
        assert torch.equal(p, q)


def test_bf16_autocast_trains_close_to_fp32_with_fp32_weights(tmp_path):
    fp32, bf16 = _model(), _model()
    h32 = train(fp32, _loss, NoisyRegression(), TrainSpec(**SPEC), tmp_path / "fp32", CPU)
    h16 = train(bf16, _loss, NoisyRegression(), TrainSpec(**SPEC, precision="bf16"), tmp_path / "bf16", CPU)
    losses = [h["loss"] for h in h16]
    assert all(torch.isfinite(torch.tensor(losses))) and losses[-1] < losses[0]
    assert losses != [h["loss"] for h in h32]  # autocast really ran in bfloat16
    assert losses[-1] == pytest.approx(h32[-1]["loss"], rel=0.05)
    assert all(p.dtype == torch.float32 for p in bf16.parameters())  # master weights stay fp32


def test_autocast_contexts():
    layer = nn.Linear(4, 4)
    with autocast("bf16", CPU):
        assert layer(torch.randn(2, 4)).dtype == torch.bfloat16
    with precision_context("fp32", CPU):
        assert layer(torch.randn(2, 4)).dtype == torch.float32
    assert PRECISIONS == ("fp32", "tf32", "bf16")


def test_tf32_flags_are_set_for_cuda_and_restored_and_a_noop_on_cpu():
    before = save_flags()
    with precision_flags("tf32", CPU):
        assert save_flags() == before
    assert "no effect on cpu" in precision_note("tf32", CPU)
    assert precision_note("bf16", CPU) is None
    with precision_flags("tf32", torch.device("cuda")):  # only flags: no GPU needed to check them
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
        assert torch.get_float32_matmul_precision() == "high"
    assert save_flags() == before


def test_unknown_precision_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="precision must be one of fp32, tf32, bf16, got 'fp16'"):
        check_precision("fp16")
    with pytest.raises(ConfigError, match="fp16"):
        train(_model(), _loss, NoisyRegression(), TrainSpec(**SPEC, precision="fp16"), tmp_path, CPU)
    assert not (tmp_path / "checkpoint.pt").exists()


def test_cli_precision_and_workers_reach_the_training_entry():
    from uasbench.cli import build_parser
    from uasbench.pipeline.train import with_overrides

    args = build_parser().parse_args(["train", "metauas", "--precision", "bf16", "--workers", "2"])
    config = {"training": {"metauas": {"method": "metauas", "epochs": 1}}}
    new = with_overrides(config, args.model, precision=args.precision, workers=args.workers)
    assert new["training"]["metauas"] == {"method": "metauas", "epochs": 1, "precision": "bf16", "workers": 2}
    assert config["training"]["metauas"] == {"method": "metauas", "epochs": 1}
    assert with_overrides(config, "metauas", precision=None) is config
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "metauas", "--precision", "fp16"])
