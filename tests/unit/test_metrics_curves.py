"""AUROC / AP / F1-max of the score tables against scikit-learn, on data with many ties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

from uasbench.metrics import curves, evaluate
from uasbench.metrics.keys import decode_keys, encode_keys
from uasbench.metrics.reference import reference_official, sklearn_f1max
from uasbench.metrics.table import score_table

FLOATS = (np.float16, np.float32, np.float64)


@st.composite
def tied_scores(draw):
    """Scores from a small grid (lots of ties, negatives, both zeros) with both labels present."""
    n = draw(st.integers(2, 120))
    levels = draw(st.integers(1, 12))
    dtype = draw(st.sampled_from(FLOATS))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    grid = np.array([-0.0, 0.0, -1.5, 3.25, 1e-3, -2e-3, 7.0, 0.5, -0.5, 2.0, 100.0, -100.0])[:levels]
    scores = rng.choice(grid, size=n).astype(dtype)
    labels = rng.random(n) < draw(st.floats(0.05, 0.95))
    labels[0], labels[-1] = True, False
    return scores, labels


@settings(max_examples=100, deadline=None)
@given(tied_scores())
def test_table_curves_match_sklearn(data):
    scores, labels = data
    out = curves.curve_metrics(score_table(scores, labels), "I")
    assert out["I-AUROC"] == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert out["I-AP"] == pytest.approx(average_precision_score(labels, scores), abs=1e-12)
    assert out["I-F1max"] == pytest.approx(sklearn_f1max(labels, scores), abs=1e-12)


@st.composite
def tied_maps(draw):
    n, h, w = draw(st.integers(2, 4)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(FLOATS))
    maps = (rng.integers(0, draw(st.integers(2, 9)), size=(n, h, w)) / 4 - 0.5).astype(dtype)
    masks = rng.random((n, h, w)) < draw(st.floats(0.1, 0.6))
    masks[-1] = False          # one normal image
    masks[0].flat[0] = True    # one anomalous image
    return maps, masks


@settings(max_examples=50, deadline=None)
@given(tied_maps())
def test_evaluate_matches_sklearn_and_literal_mvtec(data):
    maps, masks = data
    fast, ref = evaluate(maps, masks), reference_official(maps, masks)
    for name, value in ref.items():
        # AUPRO: the MVTec evaluator keeps FPRs in float32, we use float64.
        assert fast[name] == pytest.approx(value, abs=1e-6 if name == "P-AUPRO" else 1e-12), name


@pytest.mark.parametrize("dtype", FLOATS)
def test_keys_preserve_order_and_roundtrip(dtype):
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.standard_normal(500) * 10.0 ** rng.integers(-4, 4, 500),
                             [0.0, -0.0, np.inf, -np.inf, np.finfo(dtype).tiny, -np.finfo(dtype).max]]).astype(dtype)
    keys = encode_keys(values)
    assert np.array_equal(decode_keys(keys, dtype).view(keys.dtype), values.view(keys.dtype))  # bit exact
    order = np.argsort(keys, kind="stable")
    assert np.all(np.diff(values[order].astype(np.float64)) >= 0)


def test_negative_and_positive_zero_are_one_tie():
    scores = np.array([-0.0, 0.0, 0.0, -0.0, 1.0], dtype=np.float32)
    labels = np.array([True, False, True, False, True])
    table = score_table(scores, labels)
    assert table.values.size == 2
    assert curves.curve_metrics(table, "I")["I-AUROC"] == pytest.approx(roc_auc_score(labels, scores))


def test_float32_many_distinct_values_match_sklearn():
    rng = np.random.default_rng(2)
    maps = rng.standard_normal((6, 40, 40)).astype(np.float32)
    masks = np.zeros(maps.shape, bool)
    masks[:4, 10:20, 5:25] = True
    maps[masks] += 1.0
    fast, ref = evaluate(maps, masks), reference_official(maps, masks)
    assert all(fast[k] == pytest.approx(ref[k], abs=1e-6) for k in ref)


def test_chunked_pass_equals_single_pass(monkeypatch):
    """Running totals across chunks (incl. the AUPRO crossing at FPR 0.3) give the same numbers."""
    rng = np.random.default_rng(3)
    maps = np.round(rng.random((5, 16, 16)) * 50).astype(np.float32)
    masks = np.zeros(maps.shape, bool)
    masks[:3, 4:9, 4:12] = True
    maps[masks] += 10
    whole = evaluate(maps, masks)
    monkeypatch.setattr(curves, "CHUNK_ROWS", 3)
    chunked = evaluate(maps, masks)
    assert all(chunked[k] == pytest.approx(whole[k], abs=1e-12) for k in whole)
