"""PatchCore: locally aware embedding, approximate greedy coreset, kNN scoring, maps, parameter count."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from uasbench.errors import ConfigError, DataError
from uasbench.methods import registry
from uasbench.methods.patchcore.coreset import approximate_greedy_coreset, coreset_size
from uasbench.methods.patchcore.method import locally_aware_embedding

torch.set_num_threads(2)


def textured_image(size: int = 128, seed: int = 0) -> torch.Tensor:
    """A smooth periodic texture (3, size, size) in [0, 1]: every patch has look-alikes elsewhere."""
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    base = 0.5 + 0.25 * torch.sin(xx / 3.0) * torch.cos(yy / 4.0)
    tint = torch.tensor([1.0, 0.8, 0.6])[:, None, None]
    return (base[None] * tint).clamp(0, 1)


def paste_defect(image: torch.Tensor, top: int, left: int, side: int) -> torch.Tensor:
    """Copy of ``image`` with a saturated random-noise square pasted in."""
    defect = image.clone()
    generator = torch.Generator().manual_seed(1)
    defect[:, top:top + side, left:left + side] = torch.rand(3, side, side, generator=generator).round()
    return defect


def sum_adjacent_pairs(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(*x.shape[:-1], -1, 2).mean(-1)


def test_single_level_embedding_is_the_zero_padded_3x3_mean():
    # C·9 / pretrain_dim = 9 exactly → adaptive pooling averages the 9 offsets of each channel
    feature = torch.randn(2, 8, 6, 5)
    embedding, grid = locally_aware_embedding([feature], patch_size=3, pretrain_dim=8, target_dim=8)
    expected = F.avg_pool2d(feature, 3, stride=1, padding=1, count_include_pad=True)
    assert grid == (6, 5)
    torch.testing.assert_close(embedding, expected.permute(0, 2, 3, 1).reshape(-1, 8), rtol=1e-5, atol=1e-6)


def test_two_level_embedding_upsamples_the_coarse_level_and_pools_pairs():
    fine, coarse = torch.randn(1, 8, 8, 8), torch.randn(1, 8, 4, 4)
    embedding, grid = locally_aware_embedding([fine, coarse], patch_size=3, pretrain_dim=8, target_dim=8)
    fine_mean = F.avg_pool2d(fine, 3, 1, 1)
    coarse_mean = F.interpolate(F.avg_pool2d(coarse, 3, 1, 1), size=(8, 8), mode="bilinear", align_corners=False)
    as_rows = [m.permute(0, 2, 3, 1).reshape(-1, 8) for m in (fine_mean, coarse_mean)]
    expected = torch.cat([sum_adjacent_pairs(as_rows[0]), sum_adjacent_pairs(as_rows[1])], dim=1)
    assert grid == (8, 8)
    torch.testing.assert_close(embedding, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("num, fraction", [(200, 0.1), (57, 0.25), (10, 0.01)])
def test_coreset_keeps_the_requested_fraction(num, fraction):
    features = torch.randn(num, 300, generator=torch.Generator().manual_seed(0))
    indices = approximate_greedy_coreset(features, fraction, seed=3)
    assert len(indices) == coreset_size(num, fraction) == max(1, int(num * fraction))
    assert len(set(indices.tolist())) == len(indices)
    assert torch.equal(indices, approximate_greedy_coreset(features, fraction, seed=3))


def brute_force_greedy(points: list[list[float]], starts: list[int], count: int) -> list[int]:
    """Textbook loop: start value = mean distance to the start points; take the point farthest from the chosen set."""
    start_value = [sum(math.dist(p, points[s]) for s in starts) / len(starts) for p in points]
    chosen: list[int] = []
    for _ in range(count):
        values = [min([start_value[i]] + [math.dist(p, points[c]) for c in chosen]) for i, p in enumerate(points)]
        chosen.append(max(range(len(points)), key=lambda i: (values[i], -i)))
    return chosen


def test_greedy_choice_matches_brute_force_on_a_tiny_set():
    points = torch.randn(16, 4, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    seed, fraction, num_starts = 7, 0.5, 3
    # projection_dim == D disables the random projection, so the brute force sees the same geometry
    indices = approximate_greedy_coreset(points, fraction, num_start_points=num_starts, projection_dim=4, seed=seed)
    starts = np.random.default_rng(seed).choice(16, size=num_starts, replace=False).tolist()
    assert indices.tolist() == brute_force_greedy(points.tolist(), starts, coreset_size(16, fraction))


def test_coreset_rejects_bad_fractions_and_keeps_everything_at_one():
    features = torch.randn(5, 3)
    assert approximate_greedy_coreset(features, 1.0).tolist() == [0, 1, 2, 3, 4]
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ConfigError, match="coreset_fraction"):
            approximate_greedy_coreset(features, bad)


@pytest.fixture(scope="module")
def lite0():
    """One Lite0 PatchCore for the module (building the backbone dominates the run time)."""
    return registry.create("patchcore", backbone="tf_efficientnet_lite0")


def fit_with(method, normal: torch.Tensor, category: str, fraction: float, sigma: float = 4.0):
    """Fit ``category`` with a given coreset fraction / smoothing (the fields are read at call time)."""
    method.coreset_fraction, method.smoothing_sigma = fraction, sigma
    method.fit(normal[None], category)
    return method


def test_own_prompt_scores_zero_and_a_pasted_defect_scores_higher(lite0):
    method = fit_with(lite0, textured_image(), "full-bank", fraction=1.0)
    normal = textured_image()
    defect = paste_defect(normal, top=40, left=72, side=24)
    maps, scores = method.predict(torch.stack([normal, defect]), category="full-bank")
    assert maps.shape == (2, 128, 128) and maps.dtype == torch.float32 and scores.shape == (2,)
    assert float(scores[0]) <= 1e-3 * float(scores[1])
    assert float(maps[0].abs().max()) <= 1e-3 * float(maps[1].max())
    peak = divmod(int(maps[1].argmax()), 128)
    assert 40 - 8 <= peak[0] < 64 + 8 and 72 - 8 <= peak[1] < 96 + 8


def test_patch_scores_are_squared_l2_to_the_nearest_bank_entry(lite0):
    normal = textured_image(64)
    method = fit_with(lite0, normal, "unsmoothed", fraction=0.1, sigma=0.0)
    query = paste_defect(normal, 8, 8, 16)[None]
    _, scores = method.predict(query, category="unsmoothed")
    bank_features, _ = method.model(normal[None])
    keep = approximate_greedy_coreset(bank_features, 0.1, seed=method.seed)
    query_features, _ = method.model(query)
    brute = torch.cdist(query_features.double(), bank_features[keep].double()).pow(2).amin(1)
    assert len(keep) == coreset_size(len(bank_features), 0.1)
    assert float(scores[0]) == pytest.approx(float(brute.max()), rel=1e-4)


def test_default_coreset_still_separates_normal_from_defect(lite0):
    normal = textured_image()
    method = fit_with(lite0, normal, "default", fraction=0.1)
    query = torch.stack([normal, paste_defect(normal, 40, 72, 24)])
    maps, scores = method.predict(query, category="default")
    assert float(scores[1]) > 2 * float(scores[0])
    # a prompt batch (one prompt per query) passed at predict time builds the same memory as fit() did
    maps_prompted, scores_prompted = method.predict(query, prompt=normal[None].expand(2, -1, -1, -1))
    torch.testing.assert_close(scores_prompted, scores)
    torch.testing.assert_close(maps_prompted, maps)
    # non-square queries come back at their own size
    odd_maps, odd_scores = method.predict(torch.rand(1, 3, 48, 80), category="default")
    assert odd_maps.shape == (1, 48, 80) and torch.isfinite(odd_maps).all() and odd_scores.shape == (1,)


def test_clear_errors_for_missing_memory_and_bad_images(lite0):
    with pytest.raises(ConfigError, match="no memory for category 'cable'"):
        lite0.predict(torch.rand(1, 3, 64, 64), category="cable")
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        lite0.predict(torch.rand(1, 3, 64, 64) * 255, category="default")
    with pytest.raises(DataError, match="shape"):
        lite0.fit(torch.rand(1, 1, 64, 64), "default")


def test_efficientnet_b4_preset_matches_metauas_table2_parameter_count():
    method = registry.create("patchcore", pretrained=False)  # default backbone: E-b4, as MetaUAS Table 2
    counts = method.parameter_counts()
    assert method.backbone_name == "efficientnet_b4"
    assert counts["total"] / 1e6 == pytest.approx(17.5, abs=0.1)
    assert counts["learnable"] == 0
    assert list(method.model.backbone.strides[i] for i in method.model.level_indices) == [8, 16]
