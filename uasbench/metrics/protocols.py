"""Evaluation protocols: which definition of each metric is used. Every result records its protocol.

- ``official`` (default): image label = mask has an anomalous pixel; AUROC, step-wise AP and F1-max
  over every distinct threshold (== scikit-learn); AUPRO exactly as the MVTec AD 2021 evaluator.
  No normalisation and no "flip AUROC when < 0.5".
- ``metauas-compat``: the MetaUAS evaluator (eval_metric/sklearn_metric.py) reproduced like for like:
  pixel maps min-max normalised per category in float32 (image score = max of the normalised map
  unless scores are given; ``uasbench evaluate`` gives a method's own only where it is that max), AUROC
  replaced by 1 - AUROC when below 0.5, CFlow-style 200-threshold AUPRO with the kept FPRs rescaled to
  [0, 1]. Use it only to compare with the paper's numbers.
- ``uniad-compat``: the UniAD / OneNIP evaluator (utils/eval_helper.py of zhiyuanyou/UniAD and gaobb/OneNIP): no
  normalisation, image score = max of the 16x16 average-pooled map (stride 1, no padding) unless scores are given,
  AUROC flipped when below 0.5, AP as scikit-learn (OneNIP). UniAD/OneNIP print no F1-max or AUPRO (OneNIP's are
  commented out); those two are what its commented code would give: F1-max over every threshold and the CFlow AUPRO.
  The evaluators' nearest-neighbour ground-truth resize is a prediction-time rule, not covered here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from uasbench.errors import MetricInputError
from uasbench.metrics.aupro import cflow_aupro
from uasbench.metrics.curves import curve_metrics
from uasbench.metrics.table import ScoreTable

METRIC_NAMES = ("I-AUROC", "I-AP", "I-F1max", "P-AUROC", "P-AP", "P-F1max", "P-AUPRO")
DEFAULT_PROTOCOL = "official"

ScoreTransform = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Protocol:
    """``score_transform`` maps the pixel table to the transform applied to every pixel score (or None);
    ``compute`` turns the (transformed) pixel table and the image table into the seven metrics."""

    name: str
    score_transform: Callable[[ScoreTable], Optional[ScoreTransform]]
    compute: Callable[[ScoreTable, ScoreTable], dict[str, float]]
    image_score: str = "max"  # how a map becomes an image score when none is given (metrics.scores methods)
    #: True for a paper's evaluator, which scores every image by ``image_score`` from its map whatever the method;
    #: False (official): each method's own image score
    scores_from_maps: bool = False


def _official(pixel: ScoreTable, image: ScoreTable) -> dict[str, float]:
    return {**curve_metrics(image, "I"), **curve_metrics(pixel, "P", with_aupro=True)}


def _metauas_normaliser(pixel: ScoreTable) -> ScoreTransform:
    """``(x - min) / (max - min)`` over all pixels of the category, computed in float32 as torch does."""
    dtype = np.result_type(pixel.values.dtype, np.float32)
    low, high = pixel.values[-1].astype(dtype), pixel.values[0].astype(dtype)
    if not high > low:
        raise MetricInputError("metauas-compat: every anomaly-map value of the category is equal "
                               f"({low}); its per-category min-max normalisation is undefined")

    def normalise(values: np.ndarray) -> np.ndarray:
        return (np.asarray(values).astype(dtype) - low) / (high - low)

    return normalise


def _flipped_auroc_cflow_aupro(pixel: ScoreTable, image: ScoreTable) -> dict[str, float]:
    """What the MetaUAS and UniAD/OneNIP evaluators share once the scores are fixed."""
    out = {**curve_metrics(image, "I"), **curve_metrics(pixel, "P")}
    for name in ("I-AUROC", "P-AUROC"):
        if out[name] < 0.5:  # the MetaUAS/UniAD quirk, kept only in the compat protocols
            out[name] = 1.0 - out[name]
    out["P-AUPRO"] = cflow_aupro(pixel)
    return out


PROTOCOLS: dict[str, Protocol] = {
    "official": Protocol("official", lambda pixel: None, _official),
    "metauas-compat": Protocol("metauas-compat", _metauas_normaliser, _flipped_auroc_cflow_aupro,
                               scores_from_maps=True),
    "uniad-compat": Protocol("uniad-compat", lambda pixel: None, _flipped_auroc_cflow_aupro, image_score="avgpool16",
                             scores_from_maps=True),
}


def get_protocol(name: str) -> Protocol:
    """The protocol ``name``; an unknown name is a MetricInputError listing the choices."""
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise MetricInputError(f"unknown protocol {name!r}; choose one of {sorted(PROTOCOLS)}") from None
