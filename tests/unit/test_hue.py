"""uasbench.datasets.hue.adjust_hue equals torchvision's adjust_hue bit for bit (it replaces it in training)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from torchvision.transforms import _functional_tensor as tv_tensor

from uasbench.datasets.change_pairs.dataset import AugmentConfig, color_jitter
from uasbench.datasets.hue import adjust_hue


def _images(seed: int = 0):
    """Random, quantised (uint8 levels), partly grey, channel-tied, black/white and low-contrast images."""
    g = torch.Generator().manual_seed(seed)
    for k in range(120):
        h, w = (int(v) for v in torch.randint(1, 48, (2,), generator=g))
        x = torch.rand(3, h, w, generator=g)
        if k % 3 == 0:
            x = (x * 255).round() / 255
        if k % 4 == 0:
            x[:, : h // 2] = x[0:1, : h // 2]  # grey rows: max == min
        if k % 5 == 0:
            x[1] = x[0]  # red == green ties
        if k % 6 == 0:
            x[2] = x[1]  # green == blue ties
        if k % 7 == 0:
            x = x.clamp(0.3, 0.7)
        if k % 11 == 0:
            x[:, :, : w // 3] = float(k % 2)  # black or white columns
        yield k, x, float(torch.rand(1, generator=g)) - 0.5


def test_equals_torchvision_bit_for_bit():
    for k, image, factor in _images():
        assert torch.equal(adjust_hue(image, factor), TF.adjust_hue(image, factor)), f"image {k}, factor {factor}"


def test_equals_torchvision_at_the_wrap_points():
    """Hue factors that land a pixel's hue exactly on 0 or just below 1, and the range ends."""
    image = torch.rand(3, 24, 24, generator=torch.Generator().manual_seed(3))
    hue = tv_tensor._rgb2hsv(image)[0]
    factors = [-float(hue[3, 3]), float(np.nextafter(np.float32(1.0), np.float32(0.0)) - hue[5, 5]),
               0.5, -0.5, 0.0, 1e-8, -1e-8]
    for factor in factors:
        if -0.5 <= factor <= 0.5:
            assert torch.equal(adjust_hue(image, factor), TF.adjust_hue(image, factor)), factor


def test_batched_and_other_float_dtypes_match_torchvision():
    images = torch.rand(4, 3, 16, 20, generator=torch.Generator().manual_seed(1))
    assert torch.equal(adjust_hue(images, 0.2), TF.adjust_hue(images, 0.2))
    doubles = images.double()
    out = adjust_hue(doubles, -0.3)
    assert out.dtype == torch.float64 and torch.equal(out, TF.adjust_hue(doubles, -0.3))


@pytest.mark.parametrize("bad", [0.51, -0.6])
def test_rejects_factors_outside_half_a_turn(bad):
    with pytest.raises(ValueError, match="hue_factor"):
        adjust_hue(torch.rand(3, 4, 4), bad)


def test_rejects_non_rgb_or_integer_images():
    with pytest.raises(ValueError, match="float RGB"):
        adjust_hue(torch.rand(1, 4, 4), 0.1)
    with pytest.raises(ValueError, match="float RGB"):
        adjust_hue(torch.zeros(3, 4, 4, dtype=torch.uint8), 0.1)


def test_training_colour_jitter_equals_torchvision_colour_jitter():
    """The change-pair augmentation's jitter (which uses this hue) gives torchvision's numbers."""
    cfg = AugmentConfig()
    for k, image, _ in _images(seed=7):
        ours = color_jitter(image, np.random.default_rng(k), cfg)
        rng = np.random.default_rng(k)
        ops = [(TF.adjust_brightness, rng.uniform(0.9, 1.1)), (TF.adjust_contrast, rng.uniform(0.9, 1.1)),
               (TF.adjust_saturation, rng.uniform(0.9, 1.1)), (TF.adjust_hue, rng.uniform(-0.1, 0.1))]
        reference = image
        for i in rng.permutation(4):
            fn, factor = ops[i]
            reference = fn(reference, float(factor))
        assert torch.equal(ours, reference), k
