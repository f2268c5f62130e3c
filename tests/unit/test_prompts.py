import numpy as np
import pytest

from uasbench.errors import ConfigError
from uasbench.pipeline.prompts import BestMatchIndex, random_prompt_indices


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
    cos = (queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ (pool / np.linalg.norm(pool, axis=1, keepdims=True)).T
    np.testing.assert_array_equal(idx[:, 0], cos.argmax(1))
