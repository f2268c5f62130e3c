"""The DataLoader input pipeline: the same batches, in the same order, whatever the number of worker processes."""

from __future__ import annotations

import pytest
import torch

from tests.unit.test_training import NoisyRegression, _loss, _model
from uasbench.errors import CheckpointError
from uasbench.training.batches import EpochBatchSampler, collate, default_workers, global_batches, make_loader
from uasbench.training.checkpoint import load_checkpoint
from uasbench.training.loop import TrainSpec, train

CPU = torch.device("cpu")
SPEC = dict(epochs=3, batch_size=7, lr=1e-2, weight_decay=1e-4, seed=3, grad_clip=1.0, step_size=2)


class EpochTagged(NoisyRegression):
    """Items also carry the epoch the building process believes it is in (a stale worker copy would show)."""

    def __getitem__(self, i):
        x, y = super().__getitem__(i)
        return {"x": x, "y": y, "epoch": self.epoch, "index": i}


def _loaded(workers: int, epochs: int = 3) -> list[list[dict]]:
    loader = make_loader(EpochTagged(), batch_size=7, seed=3, device=CPU, workers=workers)
    out = []
    for epoch in range(epochs):
        loader.batch_sampler.set_epoch(epoch)
        out.append(list(loader))
    return out


def test_batches_are_todays_index_lists_with_any_worker_count():
    dataset = EpochTagged()
    by_workers = {w: _loaded(w) for w in (0, 2)}
    for epoch in range(3):
        order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(3 * 100003 + epoch)).tolist()
        expected = [order[b:b + 7] for b in range(0, len(order), 7)]
        assert global_batches(len(dataset), 7, 3, epoch) == expected
        dataset.set_epoch(epoch)
        for workers, epochs in by_workers.items():
            batches = epochs[epoch]
            assert [b["index"].tolist() for b in batches] == expected, workers
            assert all(b["epoch"].eq(epoch).all() for b in batches), f"stale epoch with {workers} workers"
            for batch, indices in zip(batches, expected):
                reference = collate([dataset[i] for i in indices])
                assert torch.equal(batch["x"], reference["x"]) and torch.equal(batch["y"], reference["y"])


def test_final_weights_identical_for_workers_0_and_2(tmp_path):
    models = {}
    for workers in (0, 2):
        models[workers] = _model()
        train(models[workers], _loss, NoisyRegression(), TrainSpec(**SPEC, workers=workers), tmp_path / str(workers),
              CPU)
    for p, q in zip(models[0].state_dict().values(), models[2].state_dict().values()):
        assert torch.equal(p, q)


def test_resume_with_workers_is_bit_identical_and_the_worker_count_may_change(tmp_path):
    straight = _model()
    hist = train(straight, _loss, NoisyRegression(), TrainSpec(**SPEC, workers=2), tmp_path / "a", CPU)
    train(_model(), _loss, NoisyRegression(), TrainSpec(**{**SPEC, "epochs": 2}, workers=0), tmp_path / "b", CPU)
    resumed = _model()
    hist_b = train(resumed, _loss, NoisyRegression(), TrainSpec(**SPEC, workers=2), tmp_path / "b", CPU)
    assert [h["loss"] for h in hist_b] == [h["loss"] for h in hist]
    for p, q in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(p, q)


def test_a_changed_precision_is_refused_on_resume(tmp_path):
    train(_model(), _loss, NoisyRegression(), TrainSpec(**{**SPEC, "epochs": 1}), tmp_path, CPU)
    with pytest.raises(CheckpointError, match=r"spec\.precision: 'fp32' -> 'bf16'"):
        train(_model(), _loss, NoisyRegression(), TrainSpec(**SPEC, precision="bf16"), tmp_path, CPU)


def test_a_checkpoint_from_before_precision_and_workers_resumes(tmp_path):
    """Older checkpoints recorded no ``precision`` (they were fp32), and ``workers`` is never compared."""
    straight = _model()
    train(straight, _loss, NoisyRegression(), TrainSpec(**SPEC), tmp_path / "a", CPU)
    train(_model(), _loss, NoisyRegression(), TrainSpec(**{**SPEC, "epochs": 1}), tmp_path / "b", CPU)
    state = load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    state["meta"]["spec"].pop("precision")
    state["meta"]["spec"]["workers"] = 5
    torch.save(state, tmp_path / "b" / "checkpoint.pt")
    resumed = _model()
    train(resumed, _loss, NoisyRegression(), TrainSpec(**SPEC, workers=0), tmp_path / "b", CPU)
    for p, q in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(p, q)


def test_sampler_length_and_default_workers():
    assert len(EpochBatchSampler(40, 7, seed=0)) == 6
    assert default_workers(cores=1, ranks_per_node=1) == 0  # one core: batches in the main process
    assert default_workers(cores=2, ranks_per_node=1) == 1
    assert default_workers(cores=16, ranks_per_node=1) == 15  # an H200 node's 16 cores, one GPU
    assert default_workers(cores=64, ranks_per_node=1) == 16
    assert default_workers(cores=16, ranks_per_node=8) == 1  # 2 cores per rank
    with pytest.raises(ValueError, match="workers"):
        make_loader(NoisyRegression(), 4, 0, CPU, workers=-1)


def _stacked_in_shared_memory(items: list) -> bool:
    """A collate probe run in the worker: whether :func:`collate` put the batch's tensors in shared memory."""
    return all(t.is_shared() for t in collate(items))


def test_workers_stack_batches_straight_into_shared_memory():
    """A batch stacked in ordinary memory is copied into shared memory again when a worker sends it (at 256 px,
    batch 32: 86 instead of 79 ms per batch through one worker here)."""
    loader = torch.utils.data.DataLoader(NoisyRegression(), batch_size=8, num_workers=1,
                                         collate_fn=_stacked_in_shared_memory)
    assert all(loader)
    assert not _stacked_in_shared_memory([NoisyRegression()[0]])  # in the main process: ordinary memory
