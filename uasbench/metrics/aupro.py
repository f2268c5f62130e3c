"""AUPRO: the official MVTec AD 2021 definition and the CFlow-style variant used by the MetaUAS evaluator.

Official: every distinct score is a threshold, PRO is averaged over all 8-connected regions of all
images, the curve (with (0,0) and (1,1) added) is integrated by trapezoids up to FPR 0.3 with the last
piece linearly interpolated, and the area is divided by 0.3. CFlow-style: 200 equally spaced thresholds
between the min and max score, points with FPR < 0.3 kept, their FPRs min-max rescaled to [0, 1],
trapezoid area. Both are computed from a ScoreTable (table.py), so no per-threshold pixel loop.
"""

from __future__ import annotations

import numpy as np

from uasbench.metrics.table import ScoreTable
from uasbench.metrics.validation import warn_undefined

FPR_LIMIT = 0.3
CFLOW_STEPS = 200


class ProCurveIntegrator:
    """Area under a PRO curve fed in chunks of increasing FPR, up to ``limit``, divided by ``limit``.

    Mirrors the MVTec evaluator's ``trapezoid(x, y, x_max)``: full trapezoids for points with x <= limit,
    plus the slice up to ``limit`` whose right height is interpolated on the segment that crosses it.
    """

    def __init__(self, limit: float = FPR_LIMIT) -> None:
        self.limit = limit
        self._x, self._y, self._area, self._done = 0.0, 0.0, 0.0, False

    def add(self, fpr: np.ndarray, pro: np.ndarray) -> None:
        if self._done or fpr.size == 0:
            return
        x = np.concatenate(([self._x], np.minimum(fpr, 1.0)))  # clip as MVTec does against round-off
        y = np.concatenate(([self._y], np.minimum(pro, 1.0)))
        n_inside = int(np.searchsorted(x[1:], self.limit, side="right"))
        self._area += float(np.sum(0.5 * (y[1:n_inside + 1] + y[:n_inside]) * np.diff(x[:n_inside + 1])))
        if n_inside < fpr.size:  # the segment (x[n], x[n+1]) crosses the limit
            x0, y0, x1, y1 = x[n_inside], y[n_inside], x[n_inside + 1], y[n_inside + 1]
            y_limit = y0 + (y1 - y0) * (self.limit - x0) / (x1 - x0)
            self._area += 0.5 * (y_limit + y0) * (self.limit - x0)
            self._done = True
        else:
            self._x, self._y = float(x[-1]), float(y[-1])

    def result(self) -> float:
        """The normalised area; the curve's final point (1, 1) is added here."""
        self.add(np.ones(1), np.ones(1))
        return self._area / self.limit


def cflow_aupro(table: ScoreTable, max_step: int = CFLOW_STEPS, expect_fpr: float = FPR_LIMIT) -> float:
    """MetaUAS ``cal_pro_score`` (from cflow-ad) on a pixel table, with its quirks kept.

    Thresholds are ``np.arange(min, max, (max - min) / max_step)`` in the table's dtype, a pixel is
    positive when ``score > threshold``, and the kept FPRs are rescaled by their own min and max (not by
    ``expect_fpr``), so the result is not comparable to the official AUPRO.
    """
    from sklearn.metrics import auc

    if table.region_weights is None or table.n_regions == 0:
        return warn_undefined("P-AUPRO", "no anomalous region in the masks")
    n_negative = table.n_negative
    if n_negative == 0:
        return warn_undefined("P-AUPRO", "no normal pixel, the FPR has no denominator")
    min_th, max_th = table.values[-1], table.values[0]
    if not max_th > min_th:
        return warn_undefined("P-AUPRO", "all pixel scores are equal, the threshold grid is empty")
    thresholds = np.arange(min_th, max_th, (max_th - min_th) / max_step)
    # Number of thresholds strictly below each score: the score is positive for thresholds 0..rank-1.
    rank = np.searchsorted(thresholds, table.values, side="left")
    n_thr = thresholds.size
    false_pos = _count_above(rank, table.negatives.astype(np.float64), n_thr)
    pro = _count_above(rank, table.region_weights, n_thr) / table.n_regions
    fprs = false_pos / n_negative
    keep = fprs < expect_fpr
    if keep.sum() < 2 or fprs[keep].max() == fprs[keep].min():
        return warn_undefined("P-AUPRO (cflow)", "fewer than two distinct FPRs below the limit")
    kept = fprs[keep]
    return float(auc((kept - kept.min()) / (kept.max() - kept.min()), pro[keep]))


def _count_above(rank: np.ndarray, weights: np.ndarray, n_thresholds: int) -> np.ndarray:
    """For each threshold j, the sum of ``weights`` over scores with rank > j (i.e. score > threshold j)."""
    hist = np.bincount(rank, weights=weights, minlength=n_thresholds + 1)
    suffix = np.cumsum(hist[::-1])[::-1]
    return suffix[1:n_thresholds + 1]
