"""Contracts every registered method keeps (timm style: parametrized over the whole registry).

A query's map and score do not depend on the batch around it: predicted alone, first in a batch of 16 and last in a
batch of 3 they agree (≤ 1e-5), through the same fit / prompt / batching path `uasbench predict` takes. This is
what caught PatchCore and WinCLIP+ rebuilding their memory from each prompt batch (a bank of B copies, a smaller
bank for a category's last batch).
"""

from __future__ import annotations

import pytest
import torch

from tests.fixtures.method_options import OPTIONS, SIZE
from uasbench.methods import list_methods
from uasbench.methods.registry import create
from uasbench.pipeline.predict import _predict_batches

torch.set_num_threads(1)
DEVICE = torch.device("cpu")


def test_every_registered_method_is_covered():
    assert sorted(OPTIONS) == list_methods()


@pytest.fixture(scope="module")
def images() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    queries = torch.rand(16, 3, SIZE, SIZE, generator=generator)
    normals = torch.rand(16, 3, SIZE, SIZE, generator=generator)
    return queries, normals


def _assert_batch_independent(method, queries: torch.Tensor, prompts: torch.Tensor | None) -> None:
    """Query 0 alone, first of 16, last of 3 (predicted through the pipeline's batching)."""
    def predict(order: list[int], batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        p = None if prompts is None else prompts[order]
        maps, scores = _predict_batches(method, queries[order], p, "bottle", batch_size, DEVICE)
        return torch.from_numpy(maps), torch.from_numpy(scores)

    alone_map, alone_score = predict([0], 1)
    first_maps, first_scores = predict(list(range(16)), 16)
    last_maps, last_scores = predict([5, 9, 0], 3)
    scale = max(1.0, float(alone_map.abs().max()))  # PatchCore's squared distances are not in [0, 1]
    for maps, scores, where in ((first_maps[0], first_scores[0], "first of 16"), (last_maps[-1], last_scores[-1],
                                                                                 "last of 3")):
        torch.testing.assert_close(maps, alone_map[0], rtol=0, atol=1e-5 * scale, msg=f"map differs {where}")
        torch.testing.assert_close(scores, alone_score[0], rtol=0, atol=1e-5 * scale, msg=f"score differs {where}")


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_a_query_map_does_not_depend_on_its_batch_with_fixed_prompts(name, images):
    """The `random` prompt mode (and zero-shot): fit on the k prompt images once, then predict."""
    queries, normals = images
    method = create(name, **OPTIONS[name]).to(DEVICE)
    chosen = normals[:max(1, method.shots or 1)]
    method.fit(chosen if method.shots else None, "bottle")
    prompts = method.prompts_for(chosen, len(queries)) if method.shots else None
    _assert_batch_independent(method, queries, prompts)


@pytest.mark.parametrize("name", [n for n in sorted(OPTIONS) if n not in ("clip", "winclip", "random", "uniad")])
def test_a_query_map_does_not_depend_on_its_batch_with_per_query_prompts(name, images):
    """Per-query prompts (random-per-image, best-match; MetaUAS*+'s prior): query i is compared with prompt i only."""
    queries, normals = images
    method = create(name, **OPTIONS[name]).to(DEVICE)
    _assert_batch_independent(method, queries, normals)


def test_memory_methods_get_no_prompt_batch_and_one_shot_methods_get_their_prompt():
    chosen = torch.rand(1, 3, SIZE, SIZE)
    assert create("patchcore", **OPTIONS["patchcore"]).prompts_for(chosen, 4) is None
    assert create("prompt-diff").prompts_for(chosen, 4) is None
    prompts = create("metauas", **OPTIONS["metauas"]).prompts_for(chosen, 4)
    assert prompts.shape == (4, 3, SIZE, SIZE) and torch.equal(prompts[3], chosen[0])


@pytest.fixture()
def counted_patchcore(monkeypatch) -> tuple[object, list[int]]:
    """A PatchCore whose memory builds are recorded (number of normal images each was built from)."""
    method = create("patchcore", **OPTIONS["patchcore"])
    builds: list[int] = []
    original = method._build_bank
    monkeypatch.setattr(method._memory, "_build", lambda normal01: builds.append(len(normal01)) or original(normal01))
    return method, builds


def test_patchcore_bank_is_built_once_from_the_k_prompt_images(images, counted_patchcore):
    """The coreset holds 10 % of the k prompt images' patches, however many queries and batches follow."""
    queries, normals = images
    method, builds = counted_patchcore
    method.fit(normals[:1], "bottle")
    _predict_batches(method, queries, method.prompts_for(normals[:1], len(queries)), "bottle", 6, DEVICE)
    assert builds == [1]
    features, _ = method.model(normals[:1])
    assert method._memory.fitted("bottle").ntotal == int(0.1 * len(features))


def test_latency_benchmark_times_the_prediction_path_without_rebuilding_the_memory(counted_patchcore):
    """`uasbench bench latency` fits the memory once (untimed), as predictions do; timed calls only predict."""
    from uasbench.efficiency import bench_method

    method, builds = counted_patchcore
    bench_method(method, SIZE, [1, 4], DEVICE, warmup=1, repeats=2)
    assert builds == [1]
