"""Predictions directory format: round trip, clear DataErrors naming the file, and ``uasbench evaluate``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from uasbench.cli import main
from uasbench.errors import DataError, MetricInputError
from uasbench.metrics import evaluate
from uasbench.metrics.synthetic import synthetic_category
from uasbench.predictions import (
    list_categories,
    load_category_predictions,
    load_predictions,
    save_category_predictions,
    write_run_meta,
)


def _write_run(pred_dir, categories=("bottle", "screw")):
    for seed, category in enumerate(categories):
        maps, masks = synthetic_category(seed=seed, n_normal=3, n_anomalous=4, size=32)
        paths = [f"{category}/test/{i:03d}.png" for i in range(len(maps))]
        save_category_predictions(pred_dir, category, maps.astype(np.float32), maps.reshape(7, -1).max(1),
                                  masks.astype(np.uint8), paths)
    write_run_meta(pred_dir, {"method": "toy", "dataset": "mvtec", "seed": 1})


def test_round_trip_dtypes_and_default_labels(tmp_path):
    _write_run(tmp_path)
    preds, meta = load_predictions(tmp_path)
    assert meta == {"method": "toy", "dataset": "mvtec", "seed": 1}
    assert list(preds) == ["bottle", "screw"]
    pred = preds["bottle"]
    assert (pred.maps.dtype, pred.scores.dtype, pred.masks.dtype, pred.labels.dtype) == (
        np.float16, np.float32, np.bool_, np.int8)
    assert pred.paths[0] == "bottle/test/000.png" and len(pred) == 7
    assert np.array_equal(pred.labels, pred.masks.reshape(7, -1).any(axis=1))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_save_rejects_bad_arrays(tmp_path):
    maps = np.ones((2, 4, 4), np.float32)
    masks = np.zeros((2, 4, 4), bool)
    ok = dict(scores=np.zeros(2), masks=masks, paths=["a", "b"])
    with pytest.raises(MetricInputError, match="overflow float16"):
        save_category_predictions(tmp_path, "c", maps * 1e6, **ok)
    with pytest.raises(MetricInputError, match="NaN"):
        save_category_predictions(tmp_path, "c", maps * np.nan, **ok)
    with pytest.raises(MetricInputError, match="paths"):
        save_category_predictions(tmp_path, "c", maps, np.zeros(2), masks, ["a"])
    with pytest.raises(MetricInputError, match="masks"):
        save_category_predictions(tmp_path, "c", maps, np.zeros(2), masks + 2, ["a", "b"])
    with pytest.raises(MetricInputError, match="safe file name"):
        save_category_predictions(tmp_path, "../x", maps, **ok)
    assert not list(tmp_path.iterdir())


def test_save_warns_when_float16_merges_scores(tmp_path):
    maps = 3000 + np.random.default_rng(0).random((2, 16, 16))  # offset leaves ~2 float16 steps
    with pytest.warns(UserWarning, match="float16 storage merges"):
        save_category_predictions(tmp_path, "c", maps, np.zeros(2), np.zeros(maps.shape, bool), ["a", "b"])


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        list_categories(tmp_path / "nope")
    with pytest.raises(DataError, match="no <category>.npz"):
        list_categories(tmp_path)
    _write_run(tmp_path)
    (tmp_path / "broken.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataError, match="broken.npz.*corrupt"):
        load_category_predictions(tmp_path, "broken")
    np.savez(tmp_path / "partial.npz", maps=np.zeros((1, 2, 2), np.float16))
    with pytest.raises(DataError, match=r"partial.npz: missing arrays \['scores'"):
        load_category_predictions(tmp_path, "partial")
    good = dict(np.load(tmp_path / "bottle.npz"))
    np.savez(tmp_path / "short.npz", **{**good, "scores": good["scores"][:3]})
    with pytest.raises(DataError, match="short.npz: 'scores'"):
        load_category_predictions(tmp_path, "short")
    (tmp_path / "meta.json").write_text("{oops")
    with pytest.raises(DataError, match="meta.json: cannot read JSON"):
        load_predictions(tmp_path)
    (tmp_path / "meta.json").unlink()
    with pytest.raises(DataError, match="meta.json: missing"):
        load_predictions(tmp_path)


def test_cli_evaluate_writes_metrics_json(tmp_path, capsys):
    pred_dir, out = tmp_path / "pred", tmp_path / "metrics.json"
    _write_run(pred_dir)
    assert main(["evaluate", "--pred", str(pred_dir), "--out", str(out), "--image-score", "max"]) == 0
    result = json.loads(out.read_text())
    assert set(result) == {"protocol", "per_category", "mean", "meta"}
    assert result["protocol"] == "official" and result["meta"]["method"] == "toy"
    assert result["meta"]["evaluation"]["image_score"] == "max"
    pred = load_category_predictions(pred_dir, "screw")
    expected = evaluate(pred.maps, pred.masks, image_labels=pred.labels)
    assert result["per_category"]["screw"] == pytest.approx(dict(expected), abs=1e-12)
    printed = capsys.readouterr().out
    assert "P-AUPRO" in printed and "mean" in printed and "protocol: official" in printed

    assert main(["evaluate", "--pred", str(pred_dir), "--out", str(out), "--protocol", "metauas-compat",
                 "--image-score", "avgpool16"]) == 0
    assert json.loads(out.read_text())["protocol"] == "metauas-compat"


def test_cli_evaluate_reports_errors_with_exit_code_2(tmp_path, capsys):
    assert main(["evaluate", "--pred", str(tmp_path / "missing"), "--out", str(tmp_path / "m.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()
