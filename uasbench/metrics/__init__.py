"""Anomaly-detection metrics: I-/P-AUROC, AP, F1-max and P-AUPRO per category, and the mean table.

``evaluate(maps, masks, image_scores=None, protocol="official")`` is the stable entry point;
``evaluate_categories`` gives the per-category table with the mean over categories. See protocols.py
for the difference between the ``official`` and ``metauas-compat`` protocols.
"""

from uasbench.metrics.evaluate import (
    CategoryInput,
    CategoryMetrics,
    EvaluationResult,
    evaluate,
    evaluate_categories,
    results_to_dataframe,
)
from uasbench.metrics.protocols import DEFAULT_PROTOCOL, METRIC_NAMES, PROTOCOLS
from uasbench.metrics.scores import IMAGE_SCORE_CHOICES, avgpool_max_scores, derive_image_scores, max_scores
from uasbench.metrics.validation import MetricUndefinedWarning

__all__ = [
    "CategoryInput", "CategoryMetrics", "DEFAULT_PROTOCOL", "EvaluationResult", "IMAGE_SCORE_CHOICES",
    "METRIC_NAMES", "MetricUndefinedWarning", "PROTOCOLS", "avgpool_max_scores", "derive_image_scores",
    "evaluate", "evaluate_categories", "max_scores", "results_to_dataframe",
]
