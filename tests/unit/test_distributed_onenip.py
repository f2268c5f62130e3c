"""OneNIP under torchrun: the refiner's calibration range (train_rec_range) is reduced over the ranks."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from tests.unit.test_distributed import _free_port
from tests.unit.test_onenip import _toy_set, tiny
from uasbench.methods.reconstruction.training import training_loss
from uasbench.training.batches import global_batches
from uasbench.training.distributed import distributed_session
from uasbench.training.loop import TrainSpec, train

# one global batch of all 6 toy images, calibrated (epoch 0 is the calibration epoch): 3 items per rank
SPEC = TrainSpec(epochs=1, batch_size=6, lr=1e-3, weight_decay=1e-4, seed=0, grad_clip=0.1, step_size=1, workers=0)


def _rank_main(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    with distributed_session(torch.device("cpu")):
        model = tiny().model
        train(model, training_loss, _toy_set(calibrate_epoch=0), SPEC, Path(out) / "run", torch.device("cpu"))
    torch.save(model.train_rec_range.clone(), Path(out) / f"range{rank}.pt")


def _range(model, items: list[dict]) -> torch.Tensor:
    """[min, max] of the eval-mode reconstruction maps of ``items`` (queries with their prompts)."""
    query = torch.stack([it["query"] for it in items])
    prompt = torch.stack([it["prompt"] for it in items])
    model.eval()
    rec, _ = model.anomaly_maps(query, prompt)
    return torch.stack([rec.min(), rec.max()])


def test_calibration_range_is_the_global_batch_range_on_every_rank(tmp_path):
    torch.multiprocessing.spawn(_rank_main, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    ranges = [torch.load(tmp_path / f"range{r}.pt") for r in range(2)]
    assert torch.equal(ranges[0], ranges[1])  # rank 0 writes the checkpoint: it must hold the same range
    data = _toy_set(calibrate_epoch=0)
    order = global_batches(len(data), SPEC.batch_size, SPEC.seed, 0)[0]
    items = [data[i] for i in order]
    model = tiny().model  # the weights the calibrated (first and only) step saw
    expected = _range(model, items)
    torch.testing.assert_close(ranges[0], expected, rtol=1e-5, atol=1e-6)  # batch-size noise of the convolutions
    rank0_alone = _range(model, items[:3])
    assert not torch.allclose(rank0_alone, expected), "toy data too easy: rank 0's share alone has the global range"
