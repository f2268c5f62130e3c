"""Bad input gives a clear MetricInputError; undefined metrics give NaN with a warning, never a made-up number."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uasbench.errors import MetricInputError
from uasbench.metrics import MetricUndefinedWarning, evaluate


def _good() -> tuple[np.ndarray, np.ndarray]:
    maps = np.random.default_rng(0).random((3, 5, 5)).astype(np.float32)
    masks = np.zeros((3, 5, 5), bool)
    masks[0, 1:3, 1:3] = True
    return maps, masks


@pytest.mark.parametrize("mutate, message", [
    (lambda m, k: (m[:, :4], k), "does not match"),
    (lambda m, k: (m[0], k[0]), r"\(N, H, W\)"),
    (lambda m, k: (np.where(np.arange(75).reshape(3, 5, 5) == 7, np.nan, m), k), "NaN/inf"),
    (lambda m, k: (np.where(np.arange(75).reshape(3, 5, 5) == 60, np.inf, m), k), r"first in item 2"),
    (lambda m, k: (m, k.astype(np.uint8) * 2), "binary"),
    (lambda m, k: (m, k * 0.5), "binary"),
    (lambda m, k: (m.astype(str), k), "float"),
    (lambda m, k: (m[:0], k[:0]), "empty"),
])
def test_bad_pixel_input_raises(mutate, message):
    maps, masks = mutate(*_good())
    with pytest.raises(MetricInputError, match=message):
        evaluate(maps, masks)


@pytest.mark.parametrize("scores, message", [
    (np.zeros(2), r"shape \(3,\)"), (np.array([0.1, np.nan, 0.3]), "NaN"), (np.array(["a", "b", "c"]), "real"),
])
def test_bad_image_scores_raise(scores, message):
    with pytest.raises(MetricInputError, match=message):
        evaluate(*_good(), image_scores=scores)


def test_bad_image_labels_raise():
    with pytest.raises(MetricInputError, match="binary"):
        evaluate(*_good(), image_labels=np.array([0, 2, 1]))


def test_integer_masks_and_maps_are_accepted():
    maps, masks = _good()
    reference = evaluate(maps, masks)
    assert evaluate(maps, masks.astype(np.int64)) == reference
    assert evaluate(maps, masks.astype(np.float32)) == reference
    as_ints = evaluate((maps * 1000).astype(np.int32), masks)
    assert as_ints["P-AUROC"] == pytest.approx(evaluate((maps * 1000).astype(np.int32).astype(float), masks)["P-AUROC"])


def test_no_anomalous_sample_gives_nan_with_warnings():
    maps, masks = _good()
    with pytest.warns(MetricUndefinedWarning) as record:
        out = evaluate(maps, np.zeros_like(masks))
    assert all(math.isnan(v) for v in out.values())
    assert {str(w.message).split()[0] for w in record} == set(out)


def test_no_normal_image_makes_only_image_auroc_undefined():
    maps, masks = _good()
    masks[1, 0, 0] = masks[2, 4, 4] = True
    with pytest.warns(MetricUndefinedWarning, match="I-AUROC"):
        out = evaluate(maps, masks)
    assert math.isnan(out["I-AUROC"])
    assert out["I-AP"] == 1.0 and out["I-F1max"] == 1.0
    assert all(0 <= out[k] <= 1 for k in ("P-AUROC", "P-AP", "P-F1max", "P-AUPRO"))


def test_all_pixels_anomalous_makes_pixel_auroc_and_aupro_undefined():
    maps, _ = _good()
    masks = np.ones(maps.shape, bool)
    with pytest.warns(MetricUndefinedWarning):
        out = evaluate(maps, masks, image_labels=np.array([1, 0, 1]))
    assert math.isnan(out["P-AUROC"]) and math.isnan(out["P-AUPRO"])
    assert out["P-AP"] == 1.0 and not math.isnan(out["I-AUROC"])
