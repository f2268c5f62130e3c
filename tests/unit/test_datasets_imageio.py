"""read_image / read_mask: formats, channel order, resizing protocol, errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from uasbench.datasets import read_image, read_mask
from uasbench.datasets.imageio import SoftMaskWarning, probe_image
from uasbench.errors import DataError


@pytest.fixture()
def rgb() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(30, 40, 3), dtype=np.uint8)


@pytest.mark.parametrize("ext", [".png", ".bmp", ".tif"])
def test_read_image_is_rgb_in_file_order(tmp_path, rgb, ext):
    path = tmp_path / f"x{ext}"
    Image.fromarray(rgb).save(path)
    out = read_image(path)
    assert out.dtype == np.uint8 and out.shape == (30, 40, 3)
    np.testing.assert_array_equal(out, rgb)


def test_read_image_grey_rgba_palette_become_rgb(tmp_path, rgb):
    Image.fromarray(rgb[..., 0]).save(tmp_path / "grey.png")
    np.testing.assert_array_equal(read_image(tmp_path / "grey.png"), np.repeat(rgb[..., :1], 3, axis=2))
    rgba = np.concatenate([rgb, np.full((30, 40, 1), 7, np.uint8)], axis=2)
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    np.testing.assert_array_equal(read_image(tmp_path / "rgba.png"), rgb)
    Image.fromarray(rgb).quantize(16).save(tmp_path / "pal.png")
    assert read_image(tmp_path / "pal.png").shape == (30, 40, 3)


def test_read_image_resize_is_cv2_bilinear(tmp_path, rgb):
    Image.fromarray(rgb).save(tmp_path / "x.png")
    out = read_image(tmp_path / "x.png", size=16)
    np.testing.assert_array_equal(out, cv2.resize(rgb, (16, 16), interpolation=cv2.INTER_LINEAR))


def test_read_image_errors(tmp_path):
    with pytest.raises(DataError, match="image not found"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xffnope")
    with pytest.raises(DataError, match=r"bad\.jpg: unreadable image"):
        read_image(tmp_path / "bad.jpg")


@pytest.mark.parametrize("label", [0, 1])
@pytest.mark.parametrize("shape", [8, (6, 9)])
def test_read_mask_without_file(label, shape):
    out = read_mask(None, shape, label)
    hw = (shape, shape) if isinstance(shape, int) else shape
    assert out.dtype == bool and out.shape == hw and (out.all() if label else not out.any())


def test_read_mask_label_maps_count_every_non_zero_id(tmp_path):
    raw = np.zeros((12, 16), np.uint8)
    raw[2:4, 3:6] = 1
    raw[8, 10] = 3  # all below mid-grey: a label map (VisA class ids, 0/1 masks)
    Image.fromarray(raw).save(tmp_path / "ids.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "ids.png", None, 1), raw != 0)
    palette = Image.fromarray(raw).convert("P")  # a grey palette: index == shown value, ids stay ids
    palette.save(tmp_path / "pal.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "pal.png", None, 1), raw != 0)
    colour = np.zeros((12, 16, 3), np.uint8)
    colour[1, 2, 2] = 1  # only the blue channel: PIL's convert("L") would round it to 0
    Image.fromarray(colour).save(tmp_path / "rgb.png")
    assert read_mask(tmp_path / "rgb.png", None, 1).sum() == 1


def test_read_mask_with_white_is_binarised_at_mid_grey(tmp_path):
    raw = np.zeros((12, 16), np.uint8)
    raw[2:4, 3:6] = 255
    raw[8, 10] = 127  # shown darker than mid-grey next to white: not defect
    raw[9, 10] = 128
    Image.fromarray(raw).save(tmp_path / "m.png")
    deep = (raw.astype(np.uint16) * 257)  # the same mask at 16 bits: mid-grey is 32768
    Image.fromarray(deep).save(tmp_path / "m16.png")
    for name in ("m.png", "m16.png"):
        with pytest.warns(SoftMaskWarning, match="25% of the mask's non-black pixels are mid-grey"):  # 2 of 8
            np.testing.assert_array_equal(read_mask(tmp_path / name, None, 1), raw >= 128)


def test_read_mask_resize_then_positive_dilates_like_metauas(tmp_path):
    raw = np.zeros((64, 64), np.uint8)
    raw[10:12, 5:60] = 255  # a thin 2-px scratch
    raw[40, 40] = 255  # a single pixel
    Image.fromarray(raw).save(tmp_path / "m.png")
    out = read_mask(tmp_path / "m.png", 16, 1)
    expected = cv2.resize((raw != 0).astype(np.float32), (16, 16), interpolation=cv2.INTER_LINEAR) > 0
    np.testing.assert_array_equal(out, expected)
    assert read_mask(tmp_path / "m.png", (64, 64), 1).sum() == (raw != 0).sum()  # same size: untouched


def test_read_mask_upsampling_dilates_borders(tmp_path):
    """Bilinear then > 0: every pixel touched by the interpolation counts, so borders grow vs nearest."""
    raw = np.zeros((16, 16), np.uint8)
    raw[4:8, 5:9] = 255
    Image.fromarray(raw).save(tmp_path / "m.png")
    out = read_mask(tmp_path / "m.png", 64, 1)
    nearest = cv2.resize(raw, (64, 64), interpolation=cv2.INTER_NEAREST) > 0
    assert (out & nearest).sum() == nearest.sum() and out.sum() > nearest.sum()


def test_probe_image_reads_header_size(tmp_path, rgb):
    Image.fromarray(rgb).save(tmp_path / "x.png")
    assert probe_image(tmp_path / "x.png") == (40, 30)
    with pytest.raises(DataError, match="mask not found"):
        probe_image(tmp_path / "none.png", "mask")


def test_exif_orientation_turns_the_image_its_mask_and_the_probed_size(tmp_path, rgb):
    """Orientation 6: the pixels are stored turned 90 degrees counter-clockwise; a viewer turns them back."""
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(rgb).transpose(Image.Transpose.ROTATE_90).save(tmp_path / "x.jpg", quality=100, subsampling=0,
                                                                   exif=exif)
    assert Image.open(tmp_path / "x.jpg").size == (30, 40)  # stored turned
    assert probe_image(tmp_path / "x.jpg") == (40, 30)
    shown = read_image(tmp_path / "x.jpg")
    assert shown.shape == rgb.shape and np.abs(shown.astype(int) - rgb).mean() < 3
    mask = np.zeros(rgb.shape[:2], np.uint8)
    mask[2:5, 20:30] = 255
    Image.fromarray(mask).transpose(Image.Transpose.ROTATE_90).save(tmp_path / "m.png", exif=exif)
    np.testing.assert_array_equal(read_mask(tmp_path / "m.png", None, 1), mask > 0)
