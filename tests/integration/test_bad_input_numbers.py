"""Inputs that used to give a wrong number with exit 0: deep images, incomplete prediction folders, orphan masks,
metrics files that ``uasbench track`` misread. Each must now be read correctly or refused by name (exit 2)."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.fixtures.layouts import write_image

# fixtures shared with sibling modules: imported by name (F401), then requested as test parameters (F811)
from tests.integration.test_bad_input import assert_clean_error, data_check, mvtec, run_cli, write_config  # noqa: F401
from tests.integration.test_bad_input_predictions import assert_earlier_metrics_kept, evaluate, pred  # noqa: F401
from uasbench.datasets import read_image
from uasbench.errors import DataError
from uasbench.predictions import write_run_meta

# --- image bit depth --------------------------------------------------------------------------------------------

def test_16bit_png_is_scaled_by_the_16bit_range(tmp_path):
    """Was read as white: PIL's I;16 → RGB conversion clips every value above 255."""
    values = np.array([[0, 257, 257 * 100, 65535]], np.uint16)
    path = tmp_path / "deep.png"
    assert cv2.imwrite(str(path), values)
    assert Image.open(path).mode.startswith("I")
    out = read_image(path)
    assert out.dtype == np.uint8 and out.shape == (1, 4, 3)
    np.testing.assert_array_equal(out[0, :, 0], [0, 1, 100, 255])
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_16bit_png_passes_data_check_and_is_not_white(mvtec, tmp_path, capsys):  # noqa: F811
    image = mvtec / "bottle" / "train" / "good" / "001.png"
    write_image(image, np.full((24, 32), 1000, np.uint16))
    code, _, err = data_check(capsys, mvtec, tmp_path / "report.json")
    assert code == 0, err
    assert read_image(image).max() == round(1000 * 255 / 65535)  # 4, not 255


def test_float_tiff_in_unit_range_is_scaled_by_255(tmp_path):
    path = tmp_path / "float.tif"
    Image.fromarray(np.array([[0.0, 0.5, 1.0]], np.float32), mode="F").save(path)
    np.testing.assert_array_equal(read_image(path)[0, :, 1], [0, 128, 255])


@pytest.mark.parametrize("array, mode, words", [
    (np.array([[0.0, 300.0]], np.float32), "F", ["float image", "[0, 1]"]),
    (np.array([[0, 70000]], np.int32), "I", ["32-bit integer image", "70000"]),
], ids=["float-out-of-range", "int32-out-of-range"])
def test_deep_image_outside_its_range_is_refused_by_name(tmp_path, array, mode, words):
    path = tmp_path / "odd.tif"
    Image.fromarray(array, mode=mode).save(path)
    with pytest.raises(DataError) as info:
        read_image(path)
    for word in (str(path), *words):
        assert word in str(info.value)


# --- prediction folder vs its meta.json -------------------------------------------------------------------------

@pytest.mark.parametrize("listing", ["categories", "map_scale"])
@pytest.mark.parametrize("damage, words", [("missing", ["missing beta.npz"]),
                                           ("stray", ["stray gamma.npz"])])
def test_evaluate_refuses_a_folder_that_does_not_match_its_meta(pred, tmp_path, capsys, listing, damage, words):  # noqa: F811
    pred_dir, out = pred
    listed = {"categories": ["alpha", "beta"]} if listing == "categories" else {"map_scale": {"alpha": 1.0,
                                                                                             "beta": 1.0}}
    write_run_meta(pred_dir, {"method": "random", "dataset": "d", "seed": 0, **listed})
    code, _, err = evaluate(capsys, pred_dir, tmp_path / "intact.json")  # the listing itself is accepted
    assert code == 0, err
    (tmp_path / "intact.json").unlink()
    if damage == "missing":
        (pred_dir / "beta.npz").unlink()
    else:
        shutil.copy(pred_dir / "beta.npz", pred_dir / "gamma.npz")
    code, _, err = evaluate(capsys, pred_dir, out)
    assert_clean_error(code, err, pred_dir, "meta.json", *words)
    assert_earlier_metrics_kept(tmp_path, out)


# --- masks nobody uses --------------------------------------------------------------------------------------------

def test_data_check_names_masks_without_an_image(mvtec, tmp_path, capsys):  # noqa: F811
    stray = write_image(mvtec / "bottle" / "ground_truth" / "contamination" / "007_mask.png",
                        np.zeros((24, 32), np.uint8))
    (mvtec / "cable" / "test" / "bent_wire" / "000.png").unlink()  # its mask stays behind
    code, _, err = data_check(capsys, mvtec, tmp_path / "report.json")
    assert_clean_error(code, err, stray, mvtec / "cable" / "ground_truth" / "bent_wire" / "000_mask.png",
                       "mask without a matching test image")
    assert not (tmp_path / "report.json").exists()


# --- uasbench track ------------------------------------------------------------------------------------------------

METRICS = {"protocol": "official", "mean": {"I-AUROC": 0.5, "P-AP": 0.25},
           "per_category": {"a": {"I-AUROC": 0.5, "P-AP": 0.25}}, "meta": {"prompt": "none"}}


def track(capsys, tmp_path, files: dict[str, object]):
    """``uasbench track`` over a results folder holding ``files`` (path under metrics/ -> JSON content)."""
    results = tmp_path / "results"
    for name, content in files.items():
        path = results / "metrics" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))
    config = write_config(tmp_path / "c.yaml", results)
    return (*run_cli(capsys, "track", "--config", config, "--out", results / "tracking.json"), results)


@pytest.mark.parametrize("name", ["d/random/seed0 (copy).json", "d/it's/seed0.json", "d/random/seed1a.json"])
def test_track_refuses_look_alike_metrics_file_names(tmp_path, capsys, name):
    code, _, err, results = track(capsys, tmp_path, {"d/random/seed0.json": METRICS, name: METRICS})
    assert_clean_error(code, err, results / "metrics" / name, "seed<N>.json")
    assert not (results / "tracking.json").exists()


@pytest.mark.parametrize("content, words", [
    ({k: v for k, v in METRICS.items() if k != "mean"}, ["'mean'"]),
    ({**METRICS, "mean": {"I-AUROC": "high"}}, ["mean.I-AUROC", "'high'"]),
    ([1, 2], ["JSON object"]),
], ids=["no-mean", "text-value", "a-list"])
def test_track_refuses_malformed_metrics(tmp_path, capsys, content, words):
    code, _, err, results = track(capsys, tmp_path, {"d/random/seed0.json": content})
    assert_clean_error(code, err, results / "metrics" / "d" / "random" / "seed0.json", *words)
    assert not (results / "tracking.json").exists()


@pytest.mark.parametrize("where,value", [("mean", 7.5), ("per_category", -3)])
def test_track_refuses_a_metric_outside_zero_one(tmp_path, capsys, where, value):
    """A percent (7.5 meaning 7.5 %) or a negative value was tracked and tabulated as if it were a fraction."""
    content = json.loads(json.dumps(METRICS))
    row = content["mean"] if where == "mean" else content["per_category"]["a"]
    row["P-AP"] = value
    code, _, err, results = track(capsys, tmp_path, {"d/random/seed0.json": content})
    key = "mean.P-AP" if where == "mean" else "per_category.a.P-AP"
    assert_clean_error(code, err, results / "metrics" / "d" / "random" / "seed0.json", f"{key} = {value}",
                       "outside [0, 1]")
    assert not (results / "tracking.json").exists()


def test_regress_refuses_a_metric_outside_zero_one(tmp_path, capsys):
    metrics = tmp_path / "results" / "metrics" / "d" / "random" / "seed0.json"
    metrics.parent.mkdir(parents=True)
    metrics.write_text(json.dumps({**METRICS, "mean": {"I-AUROC": 0.5, "P-AP": 7.5}}))
    golden = tmp_path / "expected.json"
    code, _, err = run_cli(capsys, "regress", "--expected", golden, "--results", tmp_path / "results", "--update",
                           "--reason", "first numbers")
    assert_clean_error(code, err, metrics, "mean.P-AP = 7.5", "outside [0, 1]")
    assert not golden.exists()


def test_log_result_takes_keys_with_quotes(tmp_path):
    """The MLflow filter was pasted together: a ``'`` in the key broke it; MLflow has no escape character."""
    from uasbench.tracking import log_result, search_runs

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    keys = ["it's|d|seed0", 'say "hi"|d|seed0', "both ' and \"|d|seed0"]
    for key in keys:
        log_result(uri, "uasbench/test/d", key, {}, {"I-AUROC": 0.1}, {})
        log_result(uri, "uasbench/test/d", key, {}, {"I-AUROC": 0.9}, {})  # replaces, does not duplicate
    runs = search_runs(uri)
    assert sorted(runs["tags.uasbench.key"]) == sorted(keys)
    assert (runs["metrics.I-AUROC"] == 0.9).all()
