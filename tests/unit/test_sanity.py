"""Sanity baselines: prompt-diff (pixel and feature space) and seeded random scores."""

from __future__ import annotations

import pytest
import torch
from scipy import ndimage

from uasbench.errors import ConfigError
from uasbench.methods import registry

torch.set_num_threads(2)


def scene(size: int = 64) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    return torch.stack([xx, yy, 0.5 * (xx + yy)]).clamp(0, 1)


def with_square(image: torch.Tensor, top: int, left: int, side: int) -> torch.Tensor:
    out = image.clone()
    out[:, top:top + side, left:left + side] = torch.tensor([1.0, 0.0, 1.0])[:, None, None]
    return out


def test_pixel_difference_is_the_blurred_mean_absolute_rgb_difference():
    method = registry.create("prompt-diff", space="pixel")
    prompt = scene()
    query = with_square(prompt, 10, 30, 12)
    method.fit(prompt[None], "toy")
    maps, scores = method.predict(torch.stack([prompt, query]), category="toy")
    expected = ndimage.gaussian_filter((query - prompt).abs().mean(0).numpy(), sigma=4.0)
    assert float(maps[0].abs().max()) == 0.0 and float(scores[0]) == 0.0
    torch.testing.assert_close(maps[1], torch.from_numpy(expected), rtol=1e-5, atol=1e-6)
    assert float(scores[1]) == pytest.approx(float(expected.max()))
    assert method.weight_source == "none" and method.parameter_counts()["total"] == 0


def test_pixel_difference_keeps_the_closest_of_several_prompts_and_resizes_them():
    method = registry.create("prompt-diff", space="pixel", smoothing_sigma=0)
    prompts = torch.stack([with_square(scene(64), 0, 0, 64), scene(64)])  # the second one matches the query
    query = torch.nn.functional.interpolate(scene(64)[None], size=(32, 32), mode="bilinear", align_corners=False)[0]
    method.fit(prompts, "toy")
    maps, _ = method.predict(query[None], category="toy")
    assert maps.shape == (1, 32, 32) and float(maps.abs().max()) < 1e-6


def test_feature_difference_is_zero_on_the_prompt_and_peaks_on_the_change():
    method = registry.create("prompt-diff", space="feature", backbone="tf_efficientnet_lite0")
    prompt = scene(96)
    query = with_square(prompt, 56, 8, 24)
    method.fit(prompt[None], "toy")
    maps, scores = method.predict(torch.stack([prompt, query]), category="toy")
    assert maps.shape == (2, 96, 96) and float(scores[0]) < 1e-3 * float(scores[1])
    row, col = divmod(int(maps[1].argmax()), 96)
    assert 56 - 12 <= row < 80 + 12 and 8 - 12 <= col < 32 + 12
    assert method.weight_source != "none"


def test_random_scores_are_seeded_and_uniform():
    query = torch.rand(4, 3, 16, 24)
    first, second, other = (registry.create("random", seed=s) for s in (7, 7, 8))
    maps_a, scores_a = first.predict(query)
    maps_b, scores_b = second.predict(query)
    maps_c, _ = other.predict(query)
    assert torch.equal(maps_a, maps_b) and torch.equal(scores_a, scores_b) and not torch.equal(maps_a, maps_c)
    assert maps_a.shape == (4, 16, 24) and scores_a.shape == (4,)
    assert 0 <= float(maps_a.min()) and float(maps_a.max()) < 1 and abs(float(maps_a.mean()) - 0.5) < 0.05


def test_unknown_space_is_a_config_error():
    with pytest.raises(ConfigError, match="space must be"):
        registry.create("prompt-diff", space="latent")
