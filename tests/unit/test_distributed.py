"""Multi-process training (torchrun / DDP): 2 gloo processes on the CPU train the weights one process trains."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
from torch import nn

from tests.unit.test_training import NoisyRegression, _loss
from uasbench.training.checkpoint import load_checkpoint
from uasbench.training.distributed import DistInfo, distributed_session, env_info, rank_share
from uasbench.training.loop import TrainSpec, train

# 36 items in batches of 7: five batches split 4 + 3 between two ranks (loss weights 8/7, 6/7) and a last batch of
# one item, which leaves rank 1 a weight-0 stand-in item (rank_share)
SPEC = dict(epochs=3, batch_size=7, lr=1e-2, weight_decay=1e-4, seed=3, grad_clip=1.0, step_size=2, workers=0)


class Small(NoisyRegression):
    def __len__(self):
        return 36


def _model() -> nn.Module:
    """No dropout (per-rank RNG streams) and no BatchNorm (per-rank statistics): the same math on 1 or 2 ranks."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))


def _rank_main(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    root = Path(out)
    with distributed_session(torch.device("cpu")) as (device, dist):
        assert (device.type, dist.rank, dist.world_size) == ("cpu", rank, world)
        straight = _model()
        history = train(straight, _loss, Small(), TrainSpec(**SPEC), root / "straight", device)
        train(_model(), _loss, Small(), TrainSpec(**{**SPEC, "epochs": 2}), root / "cut", device)
        resumed = _model()
        train(resumed, _loss, Small(), TrainSpec(**SPEC), root / "cut", device)
    torch.save({"straight": straight.state_dict(), "resumed": resumed.state_dict(), "history": history},
               root / f"rank{rank}.pt")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_ranks_train_the_weights_of_one_process(tmp_path):
    torch.multiprocessing.spawn(_rank_main, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    single = _model()
    expected = train(single, _loss, Small(), TrainSpec(**SPEC), tmp_path / "single", torch.device("cpu"))
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    for name, weight in single.state_dict().items():
        for got in ranks:
            # the same global batches and mean loss; only the float summation order differs
            torch.testing.assert_close(got["straight"][name], weight, rtol=1e-5, atol=1e-6)
            assert torch.equal(got["resumed"][name], got["straight"][name])  # resume is exact under DDP too
        assert torch.equal(ranks[0]["straight"][name], ranks[1]["straight"][name])
    for mine, theirs in zip(ranks[0]["history"], expected):
        assert mine["loss"] == pytest.approx(theirs["loss"], rel=1e-5)  # the global mean, not rank 0's share
    assert [h["loss"] for h in ranks[1]["history"]] == [h["loss"] for h in ranks[0]["history"]]
    checkpoint = load_checkpoint(tmp_path / "straight" / "checkpoint.pt")
    assert checkpoint["epoch"] == 2 and len(checkpoint["rng_by_rank"]) == 2


def test_rank_share_splits_every_global_batch():
    batch = [9, 4, 7, 1, 3]
    shares = [rank_share(batch, r, 2) for r in range(2)]
    assert shares == [([9, 4, 7], 1.2), ([1, 3], 0.8)]
    assert [rank_share(batch, r, 3) for r in range(3)] == [([9, 4], 1.2), ([7, 1], 1.2), ([3], 0.6)]
    assert rank_share([5], 1, 2) == ([5], 0.0)  # nothing left: a stand-in item that adds no gradient
    assert rank_share(batch, 0, 1) == (batch, 1.0)


def test_without_a_launcher_the_session_is_one_process(monkeypatch):
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)
    assert env_info() == DistInfo(0, 1, 0)
    with distributed_session(torch.device("cpu")) as (device, dist):
        assert device == torch.device("cpu") and dist.is_main and not dist.enabled
