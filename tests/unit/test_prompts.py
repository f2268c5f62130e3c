import types

import numpy as np
import pytest
import torch

from tests.fixtures.layouts import make_mvtec
from uasbench.datasets import load_split
from uasbench.errors import ConfigError
from uasbench.pipeline.images import load_images
from uasbench.pipeline.prompts import BestMatchIndex, PromptSelector, random_prompt_indices


def test_random_prompt_is_deterministic_and_seed_dependent():
    picks = {s: random_prompt_indices(100, s, "bottle") for s in (1, 3, 5, 7, 9)}
    assert picks[1] == random_prompt_indices(100, 1, "bottle")
    assert len({p[0] for p in picks.values()}) > 1
    other = [random_prompt_indices(100, s, "screw")[0] for s in (1, 3, 5, 7, 9)]
    assert other != [p[0] for p in picks.values()]  # categories draw independently
    assert all(0 <= p[0] < 100 for p in picks.values())


def test_random_prompt_k_shot_distinct_and_too_few_is_an_error():
    idx = random_prompt_indices(10, 0, "x", k=4)
    assert len(set(idx)) == 4
    with pytest.raises(ConfigError, match="'x' has 2 normal"):
        random_prompt_indices(2, 0, "x", k=3)


def test_best_match_agrees_with_brute_force_cosine():
    rng = np.random.default_rng(0)
    pool = rng.normal(size=(50, 16)).astype(np.float32) * rng.uniform(0.1, 10, size=(50, 1)).astype(np.float32)
    queries = rng.normal(size=(20, 16)).astype(np.float32)
    _, idx = BestMatchIndex(pool).search(queries)
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    cos = unit(queries) @ unit(pool).T
    np.testing.assert_array_equal(idx[:, 0], cos.argmax(1))


class MeanColour:
    """A stand-in method whose best-match descriptor is each image's mean colour (encode → one 'stage')."""

    name, shots = "mean-colour", 1

    def __init__(self) -> None:
        self.model = types.SimpleNamespace(encode=lambda x: [x])


def _selector_setup(tmp_path, mode: str, seed: int = 0):
    make_mvtec(tmp_path / "data")
    config = {"results_dir": str(tmp_path / "results"), "runs": {"r": {"method": "mean-colour"}},
              "datasets": {"d": {"kind": "mvtec", "root": str(tmp_path / "data")}}}
    samples, _ = load_split(config, "d")
    selector = PromptSelector(config, "r", "d", seed, mode, MeanColour(), samples, 16, torch.device("cpu"))
    tests = [s for s in samples if s.split == "test" and s.category == "bottle"]
    return selector, samples, tests, load_images(tests, 16)


def _nearest(pool: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
    """Brute-force cosine top-1 of mean colours."""
    a, b = queries.mean(dim=(2, 3)), pool.mean(dim=(2, 3))
    return (torch.nn.functional.normalize(a, dim=1) @ torch.nn.functional.normalize(b, dim=1).T).argmax(1)


@pytest.mark.parametrize("mode", ["best-match", "best-match-agnostic"])
def test_selector_best_match_is_the_nearest_normal_of_the_category_or_of_all(tmp_path, mode):
    selector, samples, tests, queries = _selector_setup(tmp_path, mode)
    category_only = mode == "best-match"
    pool_samples = [s for s in samples if s.split == "train" and (s.category == "bottle" or not category_only)]
    pool = load_images(pool_samples, 16)
    normals = [s for s in samples if s.split == "train" and s.category == "bottle"]
    prompts = selector.for_category("bottle", normals, tests, queries)
    assert torch.equal(prompts, pool[_nearest(pool, queries)])
    assert len({s.category for s in pool_samples}) == (1 if category_only else 2)


def test_selector_random_per_image_is_seeded_and_from_the_category(tmp_path):
    selector, samples, tests, queries = _selector_setup(tmp_path, "random-per-image", seed=3)
    normals = [s for s in samples if s.split == "train" and s.category == "bottle"]
    prompts = selector.for_category("bottle", normals, tests, queries)
    again = selector.for_category("bottle", normals, tests, queries)
    pool = load_images(normals, 16)
    assert len(prompts) == len(queries) and torch.equal(prompts, again)
    assert all(any(torch.equal(p, n) for n in pool) for p in prompts)
