"""DDP runs with ``static_graph=True``: the learnable parameters a loss leaves without a gradient (MetaUAS's hard
alignment, a learned encoder's unused head) are found in the first step instead of by an autograd-graph search in
every step (``find_unused_parameters``). That needs the set to be the same in every step: checked here for every
training entry the shipped configs define (each distinct architecture once, at 64 px with random weights), and
2 gloo ranks with an unused layer train the weights one process trains."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
import torch
from torch import nn

from tests.unit.test_training import NoisyRegression, _loss
from uasbench.config import load_config
from uasbench.methods.registry import create, method_class
from uasbench.pipeline.methods import method_kwargs
from uasbench.training.distributed import distributed_session
from uasbench.training.loop import TrainSpec, train

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "config").glob("*.yaml"))
SIZE = 64


def _batch(method: str, seed: int) -> object:
    """A training batch of two items as the method's training set yields it."""
    generator = torch.Generator().manual_seed(seed)

    def image() -> torch.Tensor:
        return torch.rand(2, 3, SIZE, SIZE, generator=generator)

    mask = (torch.rand(2, 1, SIZE, SIZE, generator=generator) > 0.5).float()
    if method == "metauas":
        return image(), image(), mask
    return {"query": image(), "prompt": image(), "synthetic": image(), "mask": mask}


def _architectures() -> dict[str, tuple[str, dict]]:
    """First entry name -> (method, constructor kwargs at 64 px) for each distinct architecture of the configs."""
    found: dict[str, tuple[str, dict]] = {}
    seen = set()
    for path in CONFIGS:
        for name, entry in load_config(path).get("training", {}).items():
            kwargs = method_kwargs(entry)
            if "image_size" in kwargs:  # OneNIP / UniAD: token grid from the input size
                kwargs["image_size"] = SIZE
            key = json.dumps([entry["method"], kwargs], sort_keys=True, default=str)
            if key not in seen:
                seen.add(key)
                found[f"{path.stem}:{name}"] = (entry["method"], kwargs)
    return found


ARCHITECTURES = _architectures()


def test_the_shipped_configs_cover_every_trainable_method():
    trainable = {method for method, _ in ARCHITECTURES.values()}
    assert trainable >= {"metauas", "onenip", "uniad"}


@pytest.mark.parametrize("entry", sorted(ARCHITECTURES))
def test_every_step_reaches_the_same_parameters(entry):
    method_name, kwargs = ARCHITECTURES[entry]
    torch.manual_seed(0)
    model = create(method_name, **kwargs).model.train()
    reached = []
    for seed in (0, 1):
        model.zero_grad(set_to_none=True)
        method_class(method_name).training_loss(model, _batch(method_name, seed)).backward()
        reached.append({n for n, p in model.named_parameters() if p.requires_grad and p.grad is not None})
    assert reached[0] and reached[0] == reached[1], f"{entry}: the parameters a step reaches depend on the batch"


class WithUnusedLayer(nn.Module):
    """A regression model with a learnable layer its forward never calls."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.used, self.unused = nn.Linear(4, 1), nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.used(x)


SPEC = dict(epochs=2, batch_size=8, lr=1e-2, weight_decay=1e-4, seed=1, workers=0)


def _rank_main(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    with distributed_session(torch.device("cpu")) as (device, _):
        model = WithUnusedLayer()
        train(model, _loss, NoisyRegression(), TrainSpec(**SPEC), Path(out) / "ddp", device)
    torch.save(model.state_dict(), Path(out) / f"rank{rank}.pt")


def test_two_ranks_train_a_model_with_an_unused_layer_as_one_process(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    torch.multiprocessing.spawn(_rank_main, args=(2, port, str(tmp_path)), nprocs=2, join=True)
    single = WithUnusedLayer()
    train(single, _loss, NoisyRegression(), TrainSpec(**SPEC), tmp_path / "single", torch.device("cpu"))
    for rank in range(2):
        got = torch.load(tmp_path / f"rank{rank}.pt")
        for name, weight in single.state_dict().items():
            torch.testing.assert_close(got[name], weight, rtol=1e-5, atol=1e-6)
        assert not torch.equal(got["used.weight"], WithUnusedLayer().used.weight)  # it trained
        assert torch.equal(got["unused.weight"], WithUnusedLayer().unused.weight)  # no gradient, no step
