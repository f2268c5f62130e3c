"""Under a paper's protocol every method's images are scored as that paper's evaluator scores them.

The MetaUAS evaluator takes the max of the per-category min-max normalised map, the UniAD/OneNIP evaluator the max of
the 16x16 average-pooled map, whatever score the method itself computes. ``uasbench evaluate`` (what the workflow's
paper-protocol rule runs) must give a method whose own score is another one (PatchCore: unsmoothed patch max) the
evaluator's score, and keep the float32 own score only where it is exactly the evaluator's rule (MetaUAS: map max).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from uasbench.cli import main
from uasbench.metrics import evaluate
from uasbench.metrics.reference import reference_metauas, reference_uniad
from uasbench.pipeline.evaluate import default_image_score
from uasbench.predictions import save_category_predictions, write_run_meta

IMAGE_METRICS = ("I-AUROC", "I-AP", "I-F1max")


def _category(seed: int = 0, n: int = 12, size: int = 20):
    """Maps whose max and 16x16-pool max rank the images differently, half of them anomalous."""
    rng = np.random.default_rng(seed)
    maps = rng.random((n, size, size)).astype(np.float32) * 0.5
    masks = np.zeros((n, size, size), bool)
    for i in range(n // 2, n):
        y, x = rng.integers(0, size - 3, 2)
        masks[i, y:y + 3, x:x + 3] = True
        maps[i, y:y + 3, x:x + 3] += rng.random() * 0.6
    for i in range(0, n // 2, 2):  # normal images with one hot pixel: high max, low pooled score
        maps[i, rng.integers(size), rng.integers(size)] = 1.05
    return maps, masks


def _write(pred_dir, method: str, maps, masks, scores) -> None:
    save_category_predictions(pred_dir, "bottle", maps, scores, masks, [f"{i}.png" for i in range(len(maps))])
    write_run_meta(pred_dir, {"method": method, "dataset": "mvtec", "seed": 1})


def _evaluate(tmp_path, pred_dir, protocol: str) -> dict:
    out = tmp_path / f"{pred_dir.name}_{protocol}.json"
    assert main(["evaluate", "--pred", str(pred_dir), "--out", str(out), "--protocol", protocol]) == 0
    return json.loads(out.read_text())


@pytest.mark.parametrize("protocol, reference, rule", [("metauas-compat", reference_metauas, "max"),
                                                        ("uniad-compat", reference_uniad, "avgpool16")])
def test_own_score_other_than_the_evaluators_is_replaced_by_it(tmp_path, protocol, reference, rule):
    maps, masks = _category()
    own = -maps.reshape(len(maps), -1).mean(axis=1)  # a PatchCore-like own score that ranks images otherwise
    pred_dir = tmp_path / "patchcore"
    _write(pred_dir, "patchcore", maps, masks, own)
    result = _evaluate(tmp_path, pred_dir, protocol)
    assert result["meta"]["evaluation"]["image_score"] == rule
    stored = np.load(pred_dir / "bottle.npz")["maps"].astype(np.float32)  # what the evaluator is given
    literal = reference(stored, masks)
    mine = result["per_category"]["bottle"]
    assert {m: mine[m] for m in IMAGE_METRICS} == pytest.approx({m: literal[m] for m in IMAGE_METRICS}, abs=1e-9)
    with_own = evaluate(stored, masks, own, protocol=protocol)  # the old default: measurably different
    assert abs(with_own["I-AP"] - literal["I-AP"]) > 1e-3


@pytest.mark.filterwarnings("ignore:predictions for 'bottle'. float16 storage merges")
def test_own_score_equal_to_the_evaluators_rule_is_read_in_float32(tmp_path):
    """MetaUAS's own score is its map max in float32; the float16 map would tie images that the evaluator (which
    sees the float32 map) tells apart, so the file's score is the faithful one."""
    maps, masks = _category(seed=1)
    maps = np.clip(maps, 0, 1) * 0.009 + 0.99  # sigmoid-saturated: float16 keeps ~20 steps here
    for i in range(len(maps)):
        maps[i].flat[i] = 0.99905 + 0.00005 * i  # distinct maxima in float32, few in float16
    own = maps.reshape(len(maps), -1).max(axis=1)
    pred_dir = tmp_path / "metauas"
    _write(pred_dir, "metauas", maps, masks, own)
    result = _evaluate(tmp_path, pred_dir, "metauas-compat")
    assert result["meta"]["evaluation"]["image_score"] == "given"
    literal = reference_metauas(maps, masks)  # the evaluator on the unquantised maps
    mine = result["per_category"]["bottle"]
    assert {m: mine[m] for m in IMAGE_METRICS} == pytest.approx({m: literal[m] for m in IMAGE_METRICS}, abs=1e-9)
    quantised = reference_metauas(maps.astype(np.float16).astype(np.float32), masks)
    assert quantised["I-AUROC"] != pytest.approx(literal["I-AUROC"], abs=1e-3)


def test_default_image_score_per_protocol_and_method():
    assert default_image_score("official", "patchcore") == "given"
    assert default_image_score("metauas-compat", "metauas") == "given"
    assert default_image_score("uniad-compat", "onenip") == "given"
    assert default_image_score("uniad-compat", "metauas") == "avgpool16"
    for method in ("patchcore", "clip", "winclip", "winclip+", "uniad", "random"):
        assert default_image_score("metauas-compat", method) == "max", method
    assert default_image_score("metauas-compat", "no-such-method") == "max"  # unknown: the evaluator's own rule
    assert default_image_score("metauas-compat", None) == "max"
