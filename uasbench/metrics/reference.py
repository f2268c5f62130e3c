"""Straightforward reference implementations, used to prove the fast metrics and to time them against.

- ``reference_official``: scikit-learn (roc_auc_score, average_precision_score, precision_recall_curve)
  on the flattened pixels and on the image scores, plus ``mvtec_aupro``, a sort-based AUPRO that
  follows the MVTec AD 2021 evaluator step by step (per-pixel FP/PRO increments, one argsort of all
  pixels, cumulative sums, last point of each tie run, clip, (0,0)/(1,1), trapezoid to 0.3 / 0.3).
- ``reference_metauas``: the MetaUAS evaluator literally (min-max normalisation, sklearn roc_curve+auc
  with the < 0.5 flip, CFlow ``cal_pro_score`` with a per-threshold, per-region loop). Slow: tests only.
- ``reference_uniad``: the UniAD/OneNIP evaluator literally (raw maps, image score = max over every 16x16
  window mean, written as a loop; the same flips, AP; F1-max and CFlow AUPRO from OneNIP's commented code).
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np

FPR_LIMIT = 0.3


def trapezoid_to(x: np.ndarray, y: np.ndarray, x_max: float) -> float:
    """Trapezoid area of a curve with ascending x up to ``x_max``; the last slice uses linear interpolation."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    correction = 0.0
    if x_max not in x:
        ins = bisect_right(x.tolist(), x_max)
        assert 0 < ins < len(x), "x_max outside the curve"
        y_at = y[ins - 1] + (y[ins] - y[ins - 1]) * (x_max - x[ins - 1]) / (x[ins] - x[ins - 1])
        correction = 0.5 * (y_at + y[ins - 1]) * (x_max - x[ins - 1])
    inside = x <= x_max
    x, y = x[inside], y[inside]
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * (x[1:] - x[:-1])) + correction)


def mvtec_pro_curve(anomaly_maps: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, PRO) points at every distinct score, with (0, 0) and (1, 1) added, as the MVTec evaluator."""
    from scipy.ndimage import label

    structure = np.ones((3, 3), dtype=int)  # 8-connectivity
    fp_change = np.zeros(anomaly_maps.shape, dtype=np.uint32)
    pro_change = np.zeros(anomaly_maps.shape, dtype=np.float64)
    n_ok, n_regions = 0, 0
    for index, gt in enumerate(masks):
        labelled, n_comp = label(gt, structure)
        n_regions += n_comp
        ok = labelled == 0
        n_ok += int(ok.sum())
        fp_change[index][ok] = 1
        for comp in range(1, n_comp + 1):
            region = labelled == comp
            pro_change[index][region] = 1.0 / region.sum()
    scores = np.asarray(anomaly_maps).ravel()
    order = np.argsort(scores)[::-1]
    scores = scores[order]
    fprs = (np.cumsum(fp_change.ravel()[order]).astype(np.float32) / np.float32(n_ok))
    pros = np.cumsum(pro_change.ravel()[order]) / n_regions
    last_of_tie = np.append(np.diff(scores) != 0, True)
    fprs, pros = np.clip(fprs[last_of_tie], None, 1.0), np.clip(pros[last_of_tie], None, 1.0)
    return np.concatenate(([0.0], fprs, [1.0])), np.concatenate(([0.0], pros, [1.0]))


def mvtec_aupro(anomaly_maps: np.ndarray, masks: np.ndarray, limit: float = FPR_LIMIT) -> float:
    """Area under the PRO curve up to FPR ``limit``, divided by ``limit`` (the MVTec AD evaluator's
    normalisation)."""
    fprs, pros = mvtec_pro_curve(anomaly_maps, masks)
    return trapezoid_to(fprs, pros, limit) / limit


def sklearn_f1max(labels: np.ndarray, scores: np.ndarray) -> float:
    """The largest F1 over scikit-learn's precision-recall curve; undefined points (0/0) are skipped."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, _ = precision_recall_curve(labels, scores)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = 2 * precision * recall / (precision + recall)
    return float(np.max(f1[np.isfinite(f1)]))


def reference_official(maps: np.ndarray, masks: np.ndarray, image_scores: np.ndarray | None = None
                       ) -> dict[str, float]:
    """All seven official metrics with scikit-learn and the literal MVTec AUPRO."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    masks = np.asarray(masks).astype(bool)
    labels = masks.reshape(len(masks), -1).any(axis=1)
    scores = maps.reshape(len(maps), -1).max(axis=1) if image_scores is None else np.asarray(image_scores)
    pixel_labels, pixel_scores = masks.ravel(), np.asarray(maps).ravel()
    return {
        "I-AUROC": float(roc_auc_score(labels, scores)),
        "I-AP": float(average_precision_score(labels, scores)),
        "I-F1max": sklearn_f1max(labels, scores),
        "P-AUROC": float(roc_auc_score(pixel_labels, pixel_scores)),
        "P-AP": float(average_precision_score(pixel_labels, pixel_scores)),
        "P-F1max": sklearn_f1max(pixel_labels, pixel_scores),
        "P-AUPRO": mvtec_aupro(maps, masks),
    }


def cflow_pro_score(masks: np.ndarray, amaps: np.ndarray, max_step: int = 200, expect_fpr: float = 0.3) -> float:
    """The CFlow-style AUPRO of the MetaUAS evaluator, written out threshold by threshold and region by region."""
    from skimage import measure
    from sklearn.metrics import auc

    masks = np.asarray(masks).astype(np.int64)
    regions = [[region.coords for region in measure.regionprops(measure.label(mask))] for mask in masks]
    n_normal = (1 - masks).sum()
    low, high = amaps.min(), amaps.max()
    fprs, pros = [], []
    for threshold in np.arange(low, high, (high - low) / max_step):
        above = amaps > threshold
        overlaps = [above[i][coords[:, 0], coords[:, 1]].sum() / len(coords)
                    for i, image_regions in enumerate(regions) for coords in image_regions]
        pros.append(np.mean(overlaps))
        fprs.append(np.logical_and(masks == 0, above).sum() / n_normal)
    fprs_arr, pros_arr = np.array(fprs), np.array(pros)
    keep = fprs_arr < expect_fpr
    kept = fprs_arr[keep]
    return float(auc((kept - kept.min()) / (kept.max() - kept.min()), pros_arr[keep]))


def reference_metauas(maps: np.ndarray, masks: np.ndarray) -> dict[str, float]:
    """The MetaUAS evaluator on one category, literally (float32 normalisation, flips, CFlow AUPRO)."""
    maps = np.asarray(maps, dtype=np.float32)
    norm = (maps - maps.min()) / (maps.max() - maps.min())
    return _flipped_reference(norm, masks, norm.reshape(len(norm), -1).max(axis=1))


def reference_uniad(maps: np.ndarray, masks: np.ndarray, window: int = 16) -> dict[str, float]:
    """The UniAD/OneNIP evaluator on one category: no normalisation, max of the window-mean map (stride 1)."""
    maps = np.asarray(maps)  # torch float32 in the official code: the caller's dtype sets the AUPRO threshold grid
    n, height, width = maps.shape
    scores = np.array([max(maps[i, y:y + window, x:x + window].mean(dtype=np.float64)
                           for y in range(height - window + 1) for x in range(width - window + 1))
                       for i in range(n)])
    return _flipped_reference(maps, masks, scores)


def _flipped_reference(maps: np.ndarray, masks: np.ndarray, image_scores: np.ndarray) -> dict[str, float]:
    """sklearn roc_curve + auc with the < 0.5 flip, AP, F1-max and the CFlow AUPRO of (maps, image scores)."""
    from sklearn.metrics import auc, average_precision_score, roc_curve

    masks = np.asarray(masks).astype(bool)
    labels = masks.reshape(len(masks), -1).sum(axis=1) != 0
    out: dict[str, float] = {}
    for prefix, y, s in (("I", labels, image_scores), ("P", masks.ravel(), maps.ravel())):
        fpr, tpr, _ = roc_curve(y, s)
        area = float(auc(fpr, tpr))
        out[f"{prefix}-AUROC"] = 1 - area if area < 0.5 else area
        out[f"{prefix}-AP"] = float(average_precision_score(y, s))
        out[f"{prefix}-F1max"] = sklearn_f1max(y, s)
    out["P-AUPRO"] = cflow_pro_score(masks, maps)
    return out
