"""Bad predictions given to ``uasbench evaluate``: a clear error naming the file, and an existing metrics file kept.

Masks: the dataset loaders binarise ``!= 0`` (VisA masks hold class ids, MetaUAS protocol), so a non-binary mask
is legal in a dataset; the predictions file is where masks must already be boolean, and evaluate refuses others.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tests.integration.test_bad_input import assert_clean_error, assert_no_leftovers, run_cli
from uasbench.predictions import save_category_predictions, write_run_meta

N, H, W = 6, 16, 12


def arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """One category's valid arrays, with the on-disk dtypes (see uasbench/predictions.py)."""
    rng = np.random.default_rng(seed)
    masks = np.zeros((N, H, W), bool)
    masks[3:, 4:9, 3:8] = True
    return {"maps": rng.random((N, H, W)).astype(np.float16), "scores": rng.random(N).astype(np.float32),
            "masks": masks, "labels": masks.reshape(N, -1).any(1).astype(np.int8),
            "paths": np.asarray([f"img{i}.png" for i in range(N)])}


@pytest.fixture
def pred(tmp_path):
    """A valid predictions folder with categories 'alpha' and 'beta', and an earlier metrics file at ``out``."""
    pred_dir = tmp_path / "pred"
    for i, category in enumerate(("alpha", "beta")):
        a = arrays(i)
        save_category_predictions(pred_dir, category, a["maps"], a["scores"], a["masks"], a["paths"], a["labels"])
    write_run_meta(pred_dir, {"method": "random", "dataset": "d", "seed": 0})
    out = tmp_path / "metrics" / "seed0.json"
    out.parent.mkdir()
    out.write_text('{"computed": "earlier"}\n')
    return pred_dir, out


def evaluate(capsys, pred_dir, out):
    return run_cli(capsys, "evaluate", "--pred", pred_dir, "--out", out)


def assert_earlier_metrics_kept(tmp_path, out) -> None:
    assert out.read_text() == '{"computed": "earlier"}\n'
    assert_no_leftovers(tmp_path)


def overwrite(pred_dir, category: str, **changes) -> object:
    """Rewrite ``<category>.npz`` bypassing the writer's checks, as a buggy or foreign writer would."""
    path = pred_dir / f"{category}.npz"
    data = {**arrays(), **changes}
    np.savez_compressed(path, **{k: v for k, v in data.items() if v is not None})
    return path


def test_valid_predictions_evaluate_so_the_failures_below_are_caused_by_the_edit(pred, tmp_path, capsys):
    pred_dir, out = pred
    code, _, err = evaluate(capsys, pred_dir, out)
    assert code == 0, err
    assert set(json.loads(out.read_text())["per_category"]) == {"alpha", "beta"}


def test_nan_anomaly_map_names_the_file(pred, tmp_path, capsys):
    pred_dir, out = pred
    maps = arrays()["maps"]
    maps[2, 5, 5] = np.nan
    path = overwrite(pred_dir, "beta", maps=maps)
    code, _, err = evaluate(capsys, pred_dir, out)
    assert_clean_error(code, err, path, "'maps'", "NaN")
    assert_earlier_metrics_kept(tmp_path, out)


def test_non_binary_masks_are_refused(pred, tmp_path, capsys):
    pred_dir, out = pred
    masks = arrays()["masks"].astype(np.uint8) * 255
    masks[4, 0, 0] = 128
    path = overwrite(pred_dir, "alpha", masks=masks)
    code, _, err = evaluate(capsys, pred_dir, out)
    assert_clean_error(code, err, path, "'masks'", "uint8")
    assert_earlier_metrics_kept(tmp_path, out)


def test_writer_refuses_non_binary_masks(tmp_path):
    """The same rule at write time: ``save_category_predictions`` never stores a 0/128/255 mask."""
    from uasbench.errors import MetricInputError

    a = arrays()
    with pytest.raises(MetricInputError, match="masks must be bool or 0/1"):
        save_category_predictions(tmp_path, "alpha", a["maps"], a["scores"], a["masks"] * np.uint8(128), a["paths"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("key, value, problem", [
    ("masks", np.zeros((N, H, W + 1), bool), "'masks' has dtype bool shape (6, 16, 13)"),
    ("scores", np.zeros(N - 1, np.float32), "'scores' has dtype float32 shape (5,)"),
    ("labels", np.full(N, 2, np.int8), "'labels' must be 0/1"),
    ("paths", None, "missing arrays ['paths']"),
], ids=["mask-shape", "score-count", "labels", "missing-array"])
def test_mismatched_or_missing_arrays(pred, tmp_path, capsys, key, value, problem):
    pred_dir, out = pred
    path = overwrite(pred_dir, "beta", **{key: value})
    code, _, err = evaluate(capsys, pred_dir, out)
    assert_clean_error(code, err, path, problem)
    assert_earlier_metrics_kept(tmp_path, out)


def test_truncated_npz(pred, tmp_path, capsys):
    pred_dir, out = pred
    path = pred_dir / "beta.npz"
    path.write_bytes(path.read_bytes()[:100])
    code, _, err = evaluate(capsys, pred_dir, out)
    assert_clean_error(code, err, path, "corrupt npz")
    assert_earlier_metrics_kept(tmp_path, out)


def test_missing_meta_json(pred, tmp_path, capsys):
    pred_dir, out = pred
    (pred_dir / "meta.json").unlink()
    code, _, err = evaluate(capsys, pred_dir, out)
    assert_clean_error(code, err, pred_dir / "meta.json", "missing")
    assert_earlier_metrics_kept(tmp_path, out)


def test_missing_predictions_folder_and_folder_without_npz(tmp_path, capsys):
    out = tmp_path / "metrics.json"
    code, _, err = evaluate(capsys, tmp_path / "nowhere", out)
    assert_clean_error(code, err, tmp_path / "nowhere", "does not exist")
    empty = tmp_path / "empty"
    write_run_meta(empty, {"method": "random"})
    code, _, err = evaluate(capsys, empty, out)
    assert_clean_error(code, err, empty, "no <category>.npz")
    assert_no_leftovers(tmp_path, out)


@pytest.mark.parametrize("where", ["below-a-file", "is-a-folder"])
def test_unwritable_output_is_refused_and_nothing_is_left(pred, tmp_path, capsys, where):
    """Tests run as root, where a read-only folder is still writable: an output whose parent is a FILE is not."""
    pred_dir, _ = pred
    blocker = tmp_path / "blocker"
    if where == "below-a-file":
        blocker.write_text("x\n")
    else:
        blocker.mkdir()
    code, _, err = evaluate(capsys, pred_dir, blocker / "seed0.json" if where == "below-a-file" else blocker)
    assert_clean_error(code, err, blocker)
    assert blocker.read_text() == "x\n" if where == "below-a-file" else list(blocker.iterdir()) == []
    assert_no_leftovers(tmp_path)


def test_output_in_a_read_only_folder(pred, tmp_path, capsys):
    pred_dir, _ = pred
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: permissions do not block writes (see the regular-file case)")
        code, _, err = evaluate(capsys, pred_dir, locked / "seed0.json")
        assert_clean_error(code, err, locked)
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)
