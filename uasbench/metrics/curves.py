"""AUROC, AP, F1-max and official AUPRO in one pass over a ScoreTable.

The table rows are distinct scores in descending order, i.e. the thresholds of the ROC/PR/PRO curves
with ties already merged (sklearn keeps the last index of each tie run; so do we). Rows are processed in
chunks with running totals, so memory stays bounded even for float32 maps with ~10^8 distinct scores.

- AUROC = area under the exact ROC = sum_k neg_k * (TP_before_k + pos_k / 2) / (P * N)  (== roc_auc_score)
- AP    = sum_k (pos_k / P) * precision_k                                                (== average_precision_score)
- F1max = max_k 2 TP_k / (TP_k + FP_k + P)  (== max of 2PR/(P+R) over precision_recall_curve)
"""

from __future__ import annotations

import numpy as np

from uasbench.metrics.aupro import FPR_LIMIT, ProCurveIntegrator
from uasbench.metrics.table import ScoreTable
from uasbench.metrics.validation import warn_undefined

CHUNK_ROWS = 1 << 22


def curve_metrics(table: ScoreTable, prefix: str, with_aupro: bool = False) -> dict[str, float]:
    """``{prefix}-AUROC``, ``-AP``, ``-F1max`` (and the official ``-AUPRO``) of a score table.

    Undefined metrics (no positive / no negative item) are NaN with a MetricUndefinedWarning.
    """
    n_pos, n_neg = table.n_positive, table.n_negative
    tp, fp, pro_sum = 0, 0, 0.0
    auc_sum, ap_sum, f1_max = 0.0, 0.0, 0.0
    integrator = ProCurveIntegrator(FPR_LIMIT)
    do_pro = with_aupro and table.region_weights is not None and table.n_regions > 0 and n_neg > 0
    for start in range(0, table.values.size, CHUNK_ROWS):
        rows = slice(start, start + CHUNK_ROWS)
        neg, pos = table.negatives[rows], table.positives[rows]
        tp_cum = np.cumsum(pos, dtype=np.int64) + tp
        fp_cum = np.cumsum(neg, dtype=np.int64) + fp
        auc_sum += float(np.dot(neg.astype(np.float64), tp_cum - 0.5 * pos))
        hit = pos > 0
        tp_hit = tp_cum[hit]
        ap_sum += float(np.sum(pos[hit] * (tp_hit / (tp_hit + fp_cum[hit]))))
        if n_pos:
            f1_max = max(f1_max, float(np.max(2.0 * tp_cum / (tp_cum + fp_cum + n_pos))))
        if do_pro:
            pro_cum = np.cumsum(table.region_weights[rows]) + pro_sum
            integrator.add(fp_cum / n_neg, pro_cum / table.n_regions)
            pro_sum = float(pro_cum[-1])
        tp, fp = int(tp_cum[-1]), int(fp_cum[-1])

    no_pos = "no anomalous (positive) item"
    out = {
        f"{prefix}-AUROC": auc_sum / (n_pos * n_neg) if n_pos and n_neg else
        warn_undefined(f"{prefix}-AUROC", no_pos if not n_pos else "no normal (negative) item"),
        f"{prefix}-AP": ap_sum / n_pos if n_pos else warn_undefined(f"{prefix}-AP", no_pos),
        f"{prefix}-F1max": f1_max if n_pos else warn_undefined(f"{prefix}-F1max", no_pos),
    }
    if with_aupro:
        out[f"{prefix}-AUPRO"] = integrator.result() if do_pro else warn_undefined(
            f"{prefix}-AUPRO", "no anomalous region in the masks" if n_neg else "no normal pixel")
    return out
