"""Image-score derivations: max of the map and max of the k x k average-pooled map (UniAD/OneNIP)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from uasbench.errors import MetricInputError
from uasbench.metrics import avgpool_max_scores, derive_image_scores, evaluate, max_scores


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_max_scores_equal_numpy_max(dtype):
    maps = (np.random.default_rng(0).standard_normal((7, 9, 11)) * 3).astype(dtype)
    maps[2] = -np.abs(maps[2])  # an all-negative map
    out = max_scores(maps)
    assert out.dtype == dtype and np.array_equal(out, maps.reshape(7, -1).max(axis=1))


@pytest.mark.parametrize("kernel", [1, 3, 16])
def test_avgpool_matches_torch_avg_pool2d(kernel):
    torch.set_num_threads(1)
    maps = np.random.default_rng(1).random((5, 40, 33)).astype(np.float16)
    expected = F.avg_pool2d(torch.from_numpy(maps.astype(np.float64))[:, None], kernel, stride=1)
    expected = expected.flatten(1).max(dim=1).values.numpy()
    np.testing.assert_allclose(avgpool_max_scores(maps, kernel), expected, rtol=0, atol=1e-12)
    name = f"avgpool{kernel}"
    np.testing.assert_allclose(derive_image_scores(maps, name), expected, rtol=0, atol=1e-12)


def test_derivation_errors_are_clear():
    maps = np.zeros((2, 8, 8), np.float32)
    with pytest.raises(MetricInputError, match="does not fit"):
        avgpool_max_scores(maps, 16)
    with pytest.raises(MetricInputError, match="unknown image-score"):
        derive_image_scores(maps, "mean")


def test_evaluate_defaults_to_max_of_map():
    rng = np.random.default_rng(2)
    maps = rng.random((6, 8, 8)).astype(np.float16)
    masks = np.zeros(maps.shape, bool)
    masks[:3, 2:4, 2:5] = True
    assert evaluate(maps, masks) == evaluate(maps, masks, image_scores=maps.reshape(6, -1).max(axis=1))
