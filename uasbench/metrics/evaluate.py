"""The stable entry points: ``evaluate`` (one category) and ``evaluate_categories`` (table + mean).

One call builds the pixel and image score tables once and derives all seven metrics from them
(see table.py for why that is exact and fast).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, NamedTuple

import numpy as np

from uasbench.errors import MetricInputError
from uasbench.metrics.keys import encode_keys
from uasbench.metrics.protocols import DEFAULT_PROTOCOL, METRIC_NAMES, get_protocol
from uasbench.metrics.scores import derive_image_scores, max_scores_from_keys
from uasbench.metrics.table import pixel_table, score_table
from uasbench.metrics.validation import (
    check_finite_keys,
    check_image_labels,
    check_image_scores,
    check_maps,
    check_masks,
)


class CategoryMetrics(dict):
    """``{metric name: value}`` for one category, carrying the protocol that produced it."""

    def __init__(self, values: Mapping[str, float], protocol: str) -> None:
        super().__init__(values)
        self.protocol = protocol

    def __repr__(self) -> str:
        return f"CategoryMetrics({dict.__repr__(self)}, protocol={self.protocol!r})"


def evaluate(anomaly_maps: Any, masks: Any, image_scores: Any = None, protocol: str = DEFAULT_PROTOCOL, *,
             image_labels: Any = None) -> CategoryMetrics:
    """I-AUROC, I-AP, I-F1max, P-AUROC, P-AP, P-F1max and P-AUPRO of one category.

    ``anomaly_maps``: float (N, H, W), any range; ``masks``: bool or 0/1, same shape; ``image_scores``:
    (N,) or None for the protocol's image score of each map (the max; uniad-compat: max after 16x16 avg-pool);
    ``image_labels``: (N,) 0/1 or None for "mask has a positive
    pixel". Pixels of every image (normal ones included) are pooled. Raises MetricInputError on bad
    input; a metric that is undefined for the data (e.g. no anomalous image) is NaN with a warning.
    """
    chosen = get_protocol(protocol)
    maps = check_maps(anomaly_maps)
    mask = check_masks(masks, maps.shape)
    n_images = maps.shape[0]
    if image_labels is None:
        labels = mask.reshape(n_images, -1).any(axis=1)
    else:
        labels = check_image_labels(image_labels, n_images)
    keys = encode_keys(maps)
    check_finite_keys(maps, keys)
    pixels = pixel_table(keys, mask, maps.dtype)
    transform = chosen.score_transform(pixels)
    if image_scores is None and chosen.image_score != "max":
        scores = derive_image_scores(maps, chosen.image_score)
    elif image_scores is None:
        scores = max_scores_from_keys(keys, maps.dtype)
        scores = scores if transform is None else transform(scores)
    else:
        scores = check_image_scores(image_scores, n_images)
    del keys
    if transform is not None:
        pixels = pixels.map_values(transform)
    values = chosen.compute(pixels, score_table(scores, labels))
    return CategoryMetrics({name: float(values[name]) for name in METRIC_NAMES}, chosen.name)


class CategoryInput(NamedTuple):
    """What ``evaluate`` needs for one category."""

    maps: Any
    masks: Any
    image_scores: Any = None
    image_labels: Any = None


@dataclass
class EvaluationResult:
    """Per-category metrics, their unweighted mean over categories (the papers' convention), the protocol."""

    protocol: str
    per_category: dict[str, dict[str, float]]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def mean(self) -> dict[str, float]:
        """Mean over categories; NaN in any category makes that metric's mean NaN (never silently dropped)."""
        if not self.per_category:
            return {name: float("nan") for name in METRIC_NAMES}
        return {name: float(np.mean([row[name] for row in self.per_category.values()]))
                for name in METRIC_NAMES}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: NaN becomes null so the file stays strict JSON."""
        def clean(row: Mapping[str, float]) -> dict[str, float | None]:
            return {k: (None if v is None or math.isnan(v) else float(v)) for k, v in row.items()}
        return {"protocol": self.protocol,
                "per_category": {cat: clean(row) for cat, row in self.per_category.items()},
                "mean": clean(self.mean), "meta": dict(self.meta)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "EvaluationResult":
        try:
            per_category = {cat: {k: float("nan") if v is None else float(v) for k, v in row.items()}
                            for cat, row in data["per_category"].items()}
            return cls(protocol=str(data["protocol"]), per_category=per_category, meta=dict(data.get("meta", {})))
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise MetricInputError(f"not a metrics result (need 'protocol' and 'per_category'): {err}") from err


def evaluate_categories(categories: Mapping[str, Any] | Iterable[tuple[str, Any]],
                        protocol: str = DEFAULT_PROTOCOL, meta: Mapping[str, Any] | None = None,
                        progress: bool = False) -> EvaluationResult:
    """Evaluate each category (a CategoryInput, a (maps, masks[, scores[, labels]]) tuple or a dict of
    those fields) and return the table with its mean. An iterable of pairs lets callers load lazily."""
    from tqdm import tqdm

    get_protocol(protocol)
    items = categories.items() if isinstance(categories, Mapping) else categories
    per_category: dict[str, dict[str, float]] = {}
    for name, data in tqdm(items, desc="categories", unit="cat", disable=not progress):
        if name in per_category:
            raise MetricInputError(f"category {name!r} given twice")
        spec = CategoryInput(**data) if isinstance(data, Mapping) else CategoryInput(*data)
        try:
            per_category[name] = dict(evaluate(spec.maps, spec.masks, spec.image_scores, protocol,
                                               image_labels=spec.image_labels))
        except MetricInputError as err:
            raise MetricInputError(f"category {name!r}: {err}") from err
    if not per_category:
        raise MetricInputError("no category to evaluate")
    return EvaluationResult(protocol=protocol, per_category=per_category, meta=dict(meta or {}))


def results_to_dataframe(result: EvaluationResult | Mapping[str, Any]) -> "Any":
    """Categories (plus a final "mean" row) by metric; ``df.attrs["protocol"]`` records the protocol.

    Accepts an EvaluationResult or its ``to_dict()`` / metrics.json content.
    """
    import pandas as pd

    if not isinstance(result, EvaluationResult):
        result = EvaluationResult.from_dict(result)
    rows = {**result.per_category, "mean": result.mean}
    frame = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=list(METRIC_NAMES)).astype(float)
    frame.index.name = "category"
    frame.attrs["protocol"] = result.protocol
    return frame
