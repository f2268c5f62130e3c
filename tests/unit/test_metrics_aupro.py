"""Official AUPRO against a slow, obviously-correct implementation of the MVTec AD definition."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from uasbench.metrics import MetricUndefinedWarning, evaluate
from uasbench.metrics.aupro import cflow_aupro
from uasbench.metrics.keys import encode_keys
from uasbench.metrics.reference import mvtec_aupro
from uasbench.metrics.regions import positive_pixel_regions
from uasbench.metrics.synthetic import synthetic_category
from uasbench.metrics.table import pixel_table


def slow_regions(mask: np.ndarray, connectivity: int) -> list[list[tuple[int, int]]]:
    """Flood fill; 8-connectivity also joins diagonal neighbours."""
    steps = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    if connectivity == 8:
        steps += [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    seen, regions = set(), []
    for start in zip(*np.nonzero(mask)):
        if start in seen:
            continue
        seen.add(start)
        stack, region = [start], []
        while stack:
            y, x = stack.pop()
            region.append((y, x))
            for dy, dx in steps:
                nb = (y + dy, x + dx)
                if 0 <= nb[0] < mask.shape[0] and 0 <= nb[1] < mask.shape[1] and mask[nb] and nb not in seen:
                    seen.add(nb)
                    stack.append(nb)
        regions.append(region)
    return regions


def slow_aupro(maps: np.ndarray, masks: np.ndarray, connectivity: int = 8, limit: float = 0.3) -> float:
    """Every distinct score is a threshold (score >= t is positive); FPR over normal pixels, PRO = mean
    over all regions of all images of the detected fraction; curve from (0,0) to (1,1), integrated by
    trapezoids up to FPR = limit with linear interpolation, divided by limit."""
    regions = [(i, r) for i in range(len(masks)) for r in slow_regions(masks[i], connectivity)]
    normal_scores = maps[~masks].astype(np.float64)
    points = [(0.0, 0.0)]
    for t in sorted(set(maps.astype(np.float64).ravel().tolist()), reverse=True):
        fpr = float(np.mean(normal_scores >= t))
        pro = float(np.mean([np.mean([maps[i][p] >= t for p in r]) for i, r in regions]))
        points.append((fpr, pro))
    points.append((1.0, 1.0))
    area = 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x1 <= limit:
            area += (x1 - x0) * (y0 + y1) / 2
        else:
            if x0 < limit:
                y_limit = y0 + (y1 - y0) * (limit - x0) / (x1 - x0)
                area += (limit - x0) * (y0 + y_limit) / 2
            break
    return area / limit


def test_limit_between_two_curve_points_is_interpolated():
    # Region (4 px in row 0): 0.9, 0.5, 0.4, 0.05. Normal px: 0.8, 0.4 x3, 0.1 x4.
    # Curve: (0,.25) (.125,.25) (.125,.5) (.5,.75) (1,.75) (1,1): FPR 0.3 lies inside (.125,.5)-(.5,.75).
    maps = np.array([[[0.9, 0.5, 0.4, 0.05], [0.8, 0.4, 0.4, 0.4], [0.1, 0.1, 0.1, 0.1]]])
    masks = np.zeros(maps.shape, bool)
    masks[0, 0] = True
    expected = (1 / 32 + 0.5 * (0.5 + 37 / 60) * 0.175) / 0.3  # = 619/1440
    assert slow_aupro(maps, masks) == pytest.approx(619 / 1440, abs=1e-12)
    with pytest.warns(MetricUndefinedWarning, match="I-AUROC"):  # a single image: no normal image
        assert evaluate(maps, masks)["P-AUPRO"] == pytest.approx(expected, abs=1e-12)


def test_diagonal_pixels_form_one_region():
    maps = np.zeros((3, 4, 4))
    masks = np.zeros((3, 4, 4), bool)  # image 2 is normal
    maps[2] = np.linspace(0, 0.65, 16).reshape(4, 4)
    for k in range(3):
        masks[0, k, k] = True            # three pixels touching only by their corners
    maps[0, 0, 0], maps[0, 1, 1], maps[0, 2, 2] = 0.9, 0.2, 0.1
    masks[1, :2, :2] = True            # a 4-pixel region elsewhere, so region weights matter
    maps[1, :2, :2] = [[0.05, 0.7], [0.05, 0.05]]
    maps[0, 3, 0], maps[1, 1, 2], maps[1, 3, 3] = 0.5, 0.6, 0.3
    assert len(slow_regions(masks[0], 8)) == 1 and len(slow_regions(masks[0], 4)) == 3
    fast = evaluate(maps, masks)["P-AUPRO"]
    assert fast == pytest.approx(slow_aupro(maps, masks, 8), abs=1e-12)
    assert abs(fast - slow_aupro(maps, masks, 4)) > 0.01  # 0.2917 vs 0.3125
    assert fast == pytest.approx(mvtec_aupro(maps, masks), abs=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_random_small_maps_match_slow_definition(seed):
    rng = np.random.default_rng(seed)
    maps = np.round(rng.random((3, 7, 9)) * rng.integers(3, 30)) / 7
    masks = rng.random((3, 7, 9)) < 0.25
    masks[2] = False
    maps = maps + masks * rng.random() * 0.5
    assert evaluate(maps, masks)["P-AUPRO"] == pytest.approx(slow_aupro(maps, masks), abs=1e-12)


def test_blobby_data_matches_literal_mvtec_evaluator():
    maps, masks = synthetic_category(seed=5, n_normal=4, n_anomalous=8, size=64)
    assert evaluate(maps, masks)["P-AUPRO"] == pytest.approx(mvtec_aupro(maps, masks), abs=1e-6)


def test_official_aupro_is_rank_invariant_but_cflow_is_not():
    rng = np.random.default_rng(7)
    maps = rng.integers(0, 200, size=(6, 24, 24)) / 64.0
    masks = np.zeros(maps.shape, bool)
    masks[:4, 5:12, 6:15] = True
    maps = maps + masks * 1.0
    warped = np.exp(2.5 * maps) + 3.0  # strictly increasing, exact order kept in float64
    assert np.array_equal(np.argsort(maps, axis=None, kind="stable"), np.argsort(warped, axis=None, kind="stable"))
    assert evaluate(warped, masks)["P-AUPRO"] == pytest.approx(evaluate(maps, masks)["P-AUPRO"], abs=1e-12)
    cflow = [cflow_aupro(pixel_table(encode_keys(m), masks, m.dtype)) for m in (maps, warped)]
    assert abs(cflow[0] - cflow[1]) > 1e-3


def test_regions_match_scipy_8_connectivity():
    rng = np.random.default_rng(11)
    masks = ndimage.binary_opening(rng.random((5, 40, 40)) < 0.45, structure=np.ones((1, 2, 2)))
    masks[1] = False
    ids, sizes = positive_pixel_regions(masks)
    expected_sizes = []
    for mask in masks:
        labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
        expected_sizes.append(np.bincount(labels.ravel())[labels[mask]])
    assert sizes.size == sum(ndimage.label(m, structure=np.ones((3, 3)))[1] for m in masks)
    assert np.array_equal(sizes[ids], np.concatenate(expected_sizes))
