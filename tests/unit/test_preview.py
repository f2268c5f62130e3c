"""``uasbench data preview``: the sheet layout, the mask overlay and the PNG each kind writes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from uasbench.cli import main
from uasbench.datasets.change_pairs.generate import generate_change_pairs
from uasbench.datasets.change_pairs.sources import EmbeddedSource
from uasbench.datasets.preview import compose_grid, grid_size, overlay_mask, write_preview
from uasbench.errors import DataError


def test_grid_size_matches_hand_computed_layout():
    # margins 2*8, two groups of 3 cells of 32 px with 2 gaps of 4, one 12 px gap between groups
    assert grid_size(4, 3, 32, 2) == (8 + 20 + 2 * (16 + 32) + 4 + 8, 8 + 2 * (3 * 32 + 2 * 4) + 12 + 8)
    assert grid_size(1, 2, 64, 1) == (8 + 20 + 16 + 64 + 8, 8 + 2 * 64 + 4 + 8)


def test_compose_grid_places_panels_in_cells():
    red = np.zeros((10, 10, 3), np.uint8)
    red[..., 0] = 255
    sheet = compose_grid([[red, red], [red, red], [red, red]], ["a", "b"], ["x", "y", "z"], cell=16,
                         items_per_row=2)
    assert sheet.shape[:2] == grid_size(3, 2, 16, 2)
    top, left = 8 + 20 + 16, 8  # first panel of the first item
    assert (sheet[top:top + 16, left:left + 16] == (255, 0, 0)).all()
    with pytest.raises(DataError, match="nothing to preview"):
        compose_grid([], ["a"], [])


def test_overlay_mask_only_touches_the_mask():
    image = np.full((20, 20, 3), 100, np.uint8)
    mask = np.zeros((20, 20), bool)
    mask[5:12, 6:15] = True
    out = overlay_mask(image, mask)
    np.testing.assert_array_equal(out[~mask], image[~mask])
    assert (out[mask][:, 0] > 100).all() and (out[mask][:, 1] < 100).all()


def _read_png_shape(path: Path) -> tuple[int, int]:
    image = cv2.imread(str(path))
    assert image is not None, f"{path} is not a readable PNG"
    return image.shape[:2]


def test_change_pair_preview_png(tmp_path):
    generate_change_pairs(tmp_path / "pairs", EmbeddedSource(32), n_pairs=6, seed=0, image_size=32, kinds="object",
                          progress=False)
    out = tmp_path / "sheet.png"
    assert main(["data", "preview", "--kind", "change-pairs", "--root", str(tmp_path / "pairs"), "--out", str(out),
                 "--n", "4", "--cell", "32"]) == 0
    assert _read_png_shape(out) == grid_size(4, 3, 32, 2)
    assert write_preview("change-pairs", out, root=tmp_path / "pairs", n=3, cell=24, augmented=True) \
        == _read_png_shape(out) == grid_size(3, 3, 24, 1)
    assert main(["data", "preview", "--kind", "change-pairs", "--out", str(out)]) == 2


def _write_mvtec(root: Path) -> None:
    rng = np.random.default_rng(0)
    for folder, names in (("train/good", ["000", "001"]), ("test/good", ["000"]), ("test/scratch", ["000", "001"])):
        (root / "widget" / folder).mkdir(parents=True)
        for name in names:
            cv2.imwrite(str(root / "widget" / folder / f"{name}.png"), rng.integers(0, 255, (48, 48, 3), np.uint8))
    (root / "widget" / "ground_truth" / "scratch").mkdir(parents=True)
    for name in ("000", "001"):
        mask = np.zeros((48, 48), np.uint8)
        mask[10:30, 5:20] = 255
        cv2.imwrite(str(root / "widget" / "ground_truth" / "scratch" / f"{name}_mask.png"), mask)


def test_synthetic_ad_preview_png(tmp_path):
    _write_mvtec(tmp_path / "mvtec")
    out = tmp_path / "ad.png"
    shape = write_preview("synthetic-ad", out, root=tmp_path / "mvtec", n=3, cell=40)
    assert shape == _read_png_shape(out) == grid_size(3, 2, 40, 2)


def test_anomaly_synthesis_preview_png(tmp_path):
    out = tmp_path / "synth.png"
    shape = write_preview("anomaly-synthesis", out, root=None, n=2, cell=48)
    assert shape == _read_png_shape(out) == grid_size(2, 3, 48, 1)
    _write_mvtec(tmp_path / "mvtec")
    shape = write_preview("anomaly-synthesis", out, root=tmp_path / "mvtec", n=2, cell=48)
    assert shape == _read_png_shape(out) == grid_size(2, 3, 48, 1)
