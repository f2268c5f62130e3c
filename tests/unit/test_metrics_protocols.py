"""The metauas-compat protocol reproduces the MetaUAS evaluator, and differs from official where it should."""

from __future__ import annotations

import numpy as np
import pytest

from uasbench.errors import MetricInputError
from uasbench.metrics import METRIC_NAMES, evaluate
from uasbench.metrics.reference import reference_metauas, reference_official
from uasbench.metrics.synthetic import synthetic_category


def _data(seed: int, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    return synthetic_category(seed=seed, n_normal=3, n_anomalous=5, size=size)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("protocol", ["metauas-compat", "uniad-compat"])
def test_compat_protocols_match_their_literal_evaluators(protocol, seed):
    """metauas-compat = the MetaUAS evaluator; uniad-compat = the UniAD/OneNIP evaluator (re-stated literally)."""
    from uasbench.metrics.reference import reference_uniad

    maps, masks = _data(seed)
    fast = evaluate(maps, masks, protocol=protocol)
    ref = (reference_metauas if protocol == "metauas-compat" else reference_uniad)(maps, masks)
    assert fast.protocol == protocol
    for name in METRIC_NAMES:
        assert fast[name] == pytest.approx(ref[name], abs=1e-9), name


def test_compat_differs_from_official_on_an_inverted_detector():
    maps, masks = _data(2)
    inverted = (-maps).astype(np.float32)
    official = evaluate(inverted, masks)
    compat = evaluate(inverted, masks, protocol="metauas-compat")
    ref = reference_metauas(inverted, masks)
    assert official["P-AUROC"] < 0.5 and official["I-AUROC"] < 0.5
    assert compat["P-AUROC"] == pytest.approx(1 - official["P-AUROC"], abs=1e-12)   # the flip
    assert compat["I-AUROC"] == pytest.approx(1 - official["I-AUROC"], abs=1e-12)
    assert compat["P-AUPRO"] == pytest.approx(ref["P-AUPRO"], abs=1e-9)


def test_compat_aupro_collapses_with_an_outlier_pixel_but_official_does_not():
    """One normal pixel at 10x the max squeezes CFlow's linear threshold grid; rank-based AUPRO barely moves."""
    maps, masks = _data(4)
    outlier = maps.astype(np.float32)
    outlier[-1, 0, 0] = 10 * float(maps.max())
    official = [evaluate(m, masks)["P-AUPRO"] for m in (maps, outlier)]
    compat = [evaluate(m, masks, protocol="metauas-compat")["P-AUPRO"] for m in (maps, outlier)]
    assert abs(official[1] - official[0]) < 1e-3
    assert compat[0] - compat[1] > 0.02
    assert compat[1] == pytest.approx(reference_metauas(outlier, masks)["P-AUPRO"], abs=1e-9)
    assert official[1] == pytest.approx(reference_official(outlier, masks)["P-AUPRO"], abs=1e-6)


def test_compat_keeps_given_image_scores_and_official_records_protocol():
    maps, masks = _data(3)
    scores = np.linspace(0, 1, len(maps))
    compat = evaluate(maps, masks, image_scores=scores, protocol="metauas-compat")
    official = evaluate(maps, masks, image_scores=scores)
    assert official.protocol == "official"
    assert compat["I-AUROC"] == pytest.approx(max(official["I-AUROC"], 1 - official["I-AUROC"]))
    assert compat["I-AP"] == official["I-AP"]


def test_compat_rejects_constant_maps_and_unknown_protocol():
    masks = np.zeros((2, 4, 4), bool)
    masks[0, 1, 1] = True
    with pytest.raises(MetricInputError, match="min-max"):
        evaluate(np.ones((2, 4, 4)), masks, protocol="metauas-compat")
    with pytest.raises(MetricInputError, match="unknown protocol"):
        evaluate(np.ones((2, 4, 4)), masks, protocol="mvtec")


def test_uniad_compat_scores_images_by_the_pooled_map_and_flips():
    """One hot pixel per normal image: the max calls them anomalous, the 16x16 mean barely sees it."""
    maps, masks = _data(5)
    spiky = maps.astype(np.float32)
    normal = ~masks.reshape(len(masks), -1).any(axis=1)
    spiky[normal, 3, 3] = 10 * float(maps.max())
    uniad = evaluate(spiky, masks, protocol="uniad-compat")
    by_max = evaluate(spiky, masks)
    assert by_max["I-AUROC"] < 0.2 < 0.8 < uniad["I-AUROC"]
    inverted = evaluate((-maps).astype(np.float32), masks, protocol="uniad-compat")
    assert inverted["P-AUROC"] >= 0.5
    given = np.linspace(0, 1, len(maps))
    assert evaluate(maps, masks, given, protocol="uniad-compat")["I-AP"] == evaluate(maps, masks, given)["I-AP"]


def test_the_config_schema_and_the_cli_offer_exactly_the_protocols():
    """``--protocol`` takes its choices and default from the schema (no metrics import at --help): all three agree."""
    from uasbench.config import load_schema
    from uasbench.metrics.protocols import DEFAULT_PROTOCOL, PROTOCOLS

    properties = load_schema()["properties"]
    assert properties["metric_protocol"] == {"enum": list(PROTOCOLS), "default": DEFAULT_PROTOCOL}
    assert properties["tables"]["additionalProperties"]["properties"]["paper_protocol"]["enum"] == list(PROTOCOLS)
