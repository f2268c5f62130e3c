"""Perlin noise and masks, texture sources (DTD layout, embedded tier) and the texture augmenters."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps

from tests.fixtures.layouts import make_dtd
from uasbench.datasets.anomalies import texture_augment
from uasbench.datasets.anomalies.perlin import draw_perlin_mask, perlin_mask, perlin_noise
from uasbench.datasets.anomalies.texture_augment import TEXTURE_AUGMENTERS, augment_texture, invert, posterize, solarize
from uasbench.datasets.anomalies.textures import TextureSource, builtin_textures
from uasbench.errors import DataError


def test_noise_is_zero_on_lattice_points_and_bounded():
    noise = perlin_noise((64, 96), (4, 8), np.random.default_rng(0))
    assert noise.shape == (64, 96)
    np.testing.assert_allclose(noise[::16, ::12], 0.0, atol=1e-12)  # gradient noise vanishes on the lattice
    assert np.abs(noise).max() <= 1.0 + 1e-9  # sqrt(2) * max |2-D Perlin| = sqrt(2) * sqrt(1/2)
    assert np.abs(np.diff(noise, axis=0)).max() < 0.5 and np.abs(np.diff(noise, axis=1)).max() < 0.5  # smooth
    assert noise.std() > 0.1


def test_noise_any_shape_and_deterministic():
    a = perlin_noise((37, 23), (32, 2), np.random.default_rng(1))
    b = perlin_noise((37, 23), (32, 2), np.random.default_rng(1))
    assert a.shape == (37, 23) and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (16, 16), (32, 48), (224, 224)])
def test_perlin_masks_are_never_empty(shape):
    for seed in range(25):
        mask = perlin_mask(shape, np.random.default_rng(seed))
        assert mask.dtype == bool and mask.shape == shape and mask.any()


def test_official_draw_can_be_empty_but_perlin_mask_is_not():
    empty_seeds = [s for s in range(200) if not draw_perlin_mask((32, 32), np.random.default_rng(s)).any()]
    assert empty_seeds, "expected some empty official draws at 32x32 (about 6 %)"
    for seed in empty_seeds:
        assert perlin_mask((32, 32), np.random.default_rng(seed)).any()


def test_unreachable_threshold_falls_back_to_one_pixel():
    mask = perlin_mask((20, 20), np.random.default_rng(0), threshold=5.0, max_attempts=3)
    assert mask.sum() == 1


def test_perlin_mask_deterministic_per_seed():
    a = perlin_mask((64, 64), np.random.default_rng(11))
    np.testing.assert_array_equal(a, perlin_mask((64, 64), np.random.default_rng(11)))
    assert not np.array_equal(a, perlin_mask((64, 64), np.random.default_rng(12)))


def test_mask_coverage_is_in_draem_range():
    coverage = [perlin_mask((128, 128), np.random.default_rng(s)).mean() for s in range(60)]
    assert 0.02 < float(np.mean(coverage)) < 0.25  # thresholding at 0.5 keeps the noise peaks only


def test_dtd_source_reads_the_official_layout(tmp_path):
    root = make_dtd(tmp_path / "dtd")
    (root / "images" / "banded" / "readme.txt").write_text("not a texture")
    source = TextureSource.from_dtd(root)
    assert len(source) == 4 and source.names == sorted(source.names)
    assert all(name.endswith(".jpg") for name in source.names)
    a = source.sample(np.random.default_rng(0), (30, 20))
    assert a.dtype == np.uint8 and a.shape == (30, 20, 3)
    np.testing.assert_array_equal(a, source.sample(np.random.default_rng(0), (30, 20)))


def test_dtd_source_errors(tmp_path):
    with pytest.raises(DataError, match="DTD directory not found"):
        TextureSource.from_dtd(tmp_path / "missing")
    (tmp_path / "dtd" / "images" / "banded").mkdir(parents=True)
    with pytest.raises(DataError, match=r"no DTD textures found \(expected images/<class>/\*\.jpg\)"):
        TextureSource.from_dtd(tmp_path / "dtd")


def test_builtin_textures_are_offline_distinct_and_fixed():
    textures = builtin_textures(32)
    assert {"brick", "grass", "gravel"} <= set(textures) and len(textures) >= 8
    for name, texture in textures.items():
        assert texture.dtype == np.uint8 and texture.shape == (32, 32, 3), name
        assert texture.std() > 5, name
    again = builtin_textures(32)
    assert all(np.array_equal(textures[n], again[n]) for n in textures)
    assert len(TextureSource.builtin(32)) == len(textures)


def _image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(20, 24, 3), dtype=np.uint8)


@pytest.mark.parametrize("augmenter", TEXTURE_AUGMENTERS, ids=lambda f: f.__name__)
def test_each_augmenter_keeps_format_and_is_deterministic(augmenter):
    image = _image()
    out = augmenter(image, np.random.default_rng(4))
    assert out.dtype == np.uint8 and out.shape == image.shape
    np.testing.assert_array_equal(out, augmenter(image, np.random.default_rng(4)))


def test_handwritten_augmenters_match_pil():
    image = _image(1)
    pil = Image.fromarray(image)
    np.testing.assert_array_equal(invert(image, np.random.default_rng(0)), np.asarray(ImageOps.invert(pil)))
    for seed in range(6):
        bits = int(np.random.default_rng(seed).integers(1, 9))
        np.testing.assert_array_equal(posterize(image, np.random.default_rng(seed)),
                                      np.asarray(ImageOps.posterize(pil, bits)))
        rng = np.random.default_rng(seed)
        applies, threshold = rng.random() < 0.5, int(rng.integers(32, 129))
        expected = np.asarray(ImageOps.solarize(pil, threshold)) if applies else image
        np.testing.assert_array_equal(solarize(image, np.random.default_rng(seed)), expected)


def test_gamma_matches_skimage():
    from skimage.exposure import adjust_gamma

    image = np.repeat(_image(2)[..., :1], 3, axis=2)
    gamma = np.random.default_rng(0).uniform(0.5, 2.0)  # first draw = gamma of channel 0
    out = texture_augment.gamma_contrast(image, np.random.default_rng(0))
    assert np.abs(out[..., 0].astype(int) - adjust_gamma(image[..., 0], gamma).astype(int)).max() <= 1


def test_augment_texture_applies_three_distinct(monkeypatch):
    calls: list[int] = []

    def recorder(index):
        def apply(image, rng):
            calls.append(index)
            return image
        return apply

    monkeypatch.setattr(texture_augment, "TEXTURE_AUGMENTERS", tuple(recorder(i) for i in range(10)))
    for seed in range(20):
        calls.clear()
        augment_texture(_image(), np.random.default_rng(seed))
        assert len(calls) == 3 and len(set(calls)) == 3
