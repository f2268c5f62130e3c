"""Per-category table, mean over categories, JSON round trip and the DataFrame view."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from uasbench.errors import MetricInputError
from uasbench.metrics import (
    METRIC_NAMES,
    CategoryInput,
    EvaluationResult,
    MetricUndefinedWarning,
    evaluate,
    evaluate_categories,
    results_to_dataframe,
)
from uasbench.metrics.synthetic import synthetic_category


def _categories() -> dict[str, CategoryInput]:
    out = {}
    for seed, name in enumerate(("bottle", "cable", "wood")):
        maps, masks = synthetic_category(seed=seed, n_normal=3, n_anomalous=4, size=24)
        out[name] = CategoryInput(maps, masks)
    return out


def test_table_and_unweighted_mean():
    cats = _categories()
    result = evaluate_categories(cats, protocol="official", meta={"method": "m"})
    assert result.protocol == "official" and list(result.per_category) == list(cats)
    for name, data in cats.items():
        assert result.per_category[name] == dict(evaluate(data.maps, data.masks))
    for metric in METRIC_NAMES:
        assert result.mean[metric] == pytest.approx(np.mean([r[metric] for r in result.per_category.values()]))


def test_lazy_iterable_tuples_and_dicts_are_accepted():
    cats = _categories()
    pairs = ((name, (data.maps, data.masks)) for name, data in cats.items())
    from_pairs = evaluate_categories(pairs, protocol="metauas-compat")
    from_dicts = evaluate_categories({n: {"maps": d.maps, "masks": d.masks} for n, d in cats.items()},
                                     protocol="metauas-compat")
    assert from_pairs.per_category == from_dicts.per_category
    assert from_pairs.protocol == "metauas-compat"


def test_nan_propagates_to_mean_and_json_uses_null():
    cats = _categories()
    maps, masks = cats["wood"].maps, np.zeros_like(cats["wood"].masks)
    cats["wood"] = CategoryInput(maps, masks)
    with pytest.warns(MetricUndefinedWarning):
        result = evaluate_categories(cats)
    assert math.isnan(result.mean["P-AUPRO"])
    text = json.dumps(result.to_dict(), allow_nan=False)  # strict JSON
    back = EvaluationResult.from_dict(json.loads(text))
    assert math.isnan(back.per_category["wood"]["I-AUROC"])
    assert back.per_category["bottle"] == result.per_category["bottle"]


def test_dataframe_has_categories_mean_and_protocol():
    result = evaluate_categories(_categories(), protocol="metauas-compat")
    frame = results_to_dataframe(result.to_dict())
    assert list(frame.columns) == list(METRIC_NAMES)
    assert list(frame.index) == ["bottle", "cable", "wood", "mean"]
    assert frame.attrs["protocol"] == "metauas-compat"
    assert frame.loc["mean", "P-AP"] == pytest.approx(result.mean["P-AP"])


def test_errors_name_the_category():
    cats = _categories()
    cats["cable"] = CategoryInput(cats["cable"].maps[:, :5], cats["cable"].masks)
    with pytest.raises(MetricInputError, match="'cable'"):
        evaluate_categories(cats)
    with pytest.raises(MetricInputError, match="given twice"):
        evaluate_categories([("a", _categories()["bottle"])] * 2)
    with pytest.raises(MetricInputError, match="no category"):
        evaluate_categories({})
    with pytest.raises(MetricInputError, match="not a metrics result"):
        EvaluationResult.from_dict({"per_category": {}})
