"""Anomaly synthesis for OneNIP/UniAD training: determinism, branch probabilities, exact CutPaste masks."""

from __future__ import annotations

import numpy as np
import pytest

from uasbench.datasets.anomalies.cutpaste import SCAR_LENGTH, SCAR_WIDTH, crop_and_paste, cutpaste_normal, cutpaste_scar
from uasbench.datasets.anomalies.synthesis import KINDS, AnomalySynthesizer, blend_texture, perlin_paste
from uasbench.datasets.anomalies.textures import TextureSource
from uasbench.errors import DataError


@pytest.fixture(scope="module")
def textures() -> TextureSource:
    return TextureSource.builtin(size=64)


def unique_pixel_image(size: int = 64) -> np.ndarray:
    """Every pixel has a different RGB value, so any moved pixel is a changed pixel."""
    index = np.arange(size * size).reshape(size, size)
    return np.stack([index & 255, index >> 8, np.full_like(index, 77)], axis=-1).astype(np.uint8)


def noise(size: int = 64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(size, size, 3), dtype=np.uint8)


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a != b).any(axis=-1)


def test_same_seed_same_output_for_every_kind(textures):
    synth = AnomalySynthesizer(textures)
    image = noise(48)
    seen = set()
    for seed in range(12):
        first = synth.synthesize(image, np.random.default_rng(seed))
        again = synth.synthesize(image, np.random.default_rng(seed))
        np.testing.assert_array_equal(first.image, again.image)
        np.testing.assert_array_equal(first.mask, again.mask)
        assert first.kind == again.kind
        seen.add(first.kind)
    assert seen == set(KINDS)
    a, b = (synth(image, np.random.default_rng(s)) for s in (100, 101))
    assert not np.array_equal(a[1], b[1])


def test_constructor_seed_reproduces_the_sequence(textures):
    image = noise(32)
    one, two = AnomalySynthesizer(textures, seed=7), AnomalySynthesizer(textures, seed=7)
    for _ in range(5):
        (ia, ma), (ib, mb) = one(image), two(image)
        np.testing.assert_array_equal(ia, ib)
        np.testing.assert_array_equal(ma, mb)


def test_output_types_and_input_untouched(textures):
    image = noise(40)
    before = image.copy()
    for seed in range(6):
        out, mask = AnomalySynthesizer(textures)(image, np.random.default_rng(seed))
        assert out.dtype == np.uint8 and out.shape == image.shape
        assert mask.dtype == bool and mask.shape == image.shape[:2] and mask.any()
        assert not changed(out, image)[~mask].any()  # nothing outside the mask moves
    np.testing.assert_array_equal(image, before)


def test_branch_probabilities(textures):
    image = noise(24)
    draws = [AnomalySynthesizer(textures).synthesize(image, np.random.default_rng(s)).kind for s in range(400)]
    share = {k: draws.count(k) / len(draws) for k in KINDS}
    assert abs(share["perlin"] - 0.5) < 0.09
    assert abs(share["cutpaste"] - 0.25) < 0.08 and abs(share["cutpaste_scar"] - 0.25) < 0.08
    only_cut = {AnomalySynthesizer(textures, cutpaste_prob=1.0).synthesize(image, np.random.default_rng(s)).kind
                for s in range(20)}
    assert only_cut == {"cutpaste", "cutpaste_scar"}
    assert {AnomalySynthesizer(textures, cutpaste_prob=0.0).synthesize(image, np.random.default_rng(s)).kind
            for s in range(5)} == {"perlin"}


def test_cutpaste_patch_mask_is_exactly_the_changed_pixels():
    image = unique_pixel_image()
    moved = 0
    for seed in range(40):
        out, mask = cutpaste_normal(image, np.random.default_rng(seed), jitter=False)
        diff = changed(out, image)
        if diff.any():  # a patch pasted back onto its own spot changes nothing
            moved += 1
            np.testing.assert_array_equal(diff, mask)
    assert moved >= 36


def test_cutpaste_scar_changes_only_inside_its_footprint():
    image = unique_pixel_image()
    for seed in range(40):
        out, mask = cutpaste_scar(image, np.random.default_rng(seed), jitter=False)
        diff = changed(out, image)
        assert mask.any()
        assert not diff[~mask].any()
        # rotated nearest-neighbour copy: only pixels that map onto themselves may stay the same
        assert diff.sum() >= 0.5 * mask.sum()


def test_jittered_cutpaste_changes_only_inside_mask():
    image = noise(64, seed=3)
    for seed in range(30):
        for op in (cutpaste_normal, cutpaste_scar):
            out, mask = op(image, np.random.default_rng(seed))
            assert not changed(out, image)[~mask].any()


def test_cutpaste_geometry_follows_the_official_ranges():
    image = noise(128)
    for seed in range(30):
        _, mask = cutpaste_normal(image, np.random.default_rng(seed), jitter=False)
        rows, cols = np.nonzero(mask)
        height, width = np.ptp(rows) + 1, np.ptp(cols) + 1
        assert height * width == mask.sum()  # an axis-aligned rectangle
        assert 0.02 * 128 * 128 * 0.9 <= mask.sum() <= 0.15 * 128 * 128
        assert 0.3 * 0.8 <= width / height <= 3.3 * 1.25
        _, scar = cutpaste_scar(image, np.random.default_rng(seed), jitter=False)
        rows, cols = np.nonzero(scar)
        diagonal = np.hypot(SCAR_WIDTH[1], SCAR_LENGTH[1])
        assert max(np.ptp(rows), np.ptp(cols)) + 1 <= diagonal + 2
        assert scar.sum() <= SCAR_WIDTH[1] * SCAR_LENGTH[1] * 1.2


def test_unrotated_scar_is_a_width_by_length_rectangle():
    image = unique_pixel_image()
    out, mask = cutpaste_scar(image, np.random.default_rng(5), jitter=False, rotation=None)
    rows, cols = np.nonzero(mask)
    assert SCAR_WIDTH[0] <= np.ptp(cols) + 1 <= SCAR_WIDTH[1] and SCAR_LENGTH[0] <= np.ptp(rows) + 1 <= SCAR_LENGTH[1]


def test_patch_larger_than_image_is_clamped():
    out, mask = crop_and_paste(noise(16), 40, 40, np.random.default_rng(0), jitter=False)
    assert mask.all() and out.shape == (16, 16, 3)


def test_perlin_paste_blends_only_inside_the_mask(textures):
    image = noise(48)
    for seed in range(10):
        out, mask = perlin_paste(image, textures, np.random.default_rng(seed))
        assert mask.any() and not changed(out, image)[~mask].any()
        assert changed(out, image)[mask].mean() > 0.5


def test_masked_blend_equals_the_official_full_image_formula():
    rng = np.random.default_rng(0)
    for _ in range(5):
        image, texture = noise(33, seed=int(rng.integers(99))), noise(33, seed=int(rng.integers(99)))
        mask, beta = rng.random((33, 33)) > 0.6, rng.random() * 0.8
        m = mask[..., None].astype(np.float64)
        official = np.uint8(image * (1 - m) + (1 - beta) * texture * m + beta * image * m)
        np.testing.assert_array_equal(blend_texture(image, texture, mask, beta), official)


def test_perlin_paste_channel_swap_matches_official_bgr_quirk(textures):
    image = noise(32)
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    swapped, mask_a = perlin_paste(image, textures, rng_a, swap_texture_channels=True)
    plain, mask_b = perlin_paste(image, textures, rng_b, swap_texture_channels=False)
    np.testing.assert_array_equal(mask_a, mask_b)  # same draws, only the texture colours differ
    assert not np.array_equal(swapped, plain)


def test_bad_input_is_rejected(textures):
    synth = AnomalySynthesizer(textures)
    with pytest.raises(DataError, match="uint8"):
        synth(np.zeros((8, 8, 3), np.float32), np.random.default_rng(0))
    with pytest.raises(DataError, match=r"\(8, 8\)"):
        synth(np.zeros((8, 8), np.uint8), np.random.default_rng(0))
    with pytest.raises(ValueError):
        AnomalySynthesizer(textures, cutpaste_prob=1.5)
