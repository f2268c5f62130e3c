"""Files that cannot be read as text and outputs that cannot be written: one ``uasbench: error:`` line naming the path
and what is wrong (a config that is not UTF-8, a file standing where a folder belongs, a full disk), never a
traceback, and no half-written output.

A full disk is simulated in-process: every temporary file of an atomic write (uasbench.io.atomic_path) is opened
on /dev/full, where each write fails with ENOSPC exactly as on a full file system, so the real writers (json,
numpy, torch) meet a real "No space left on device".
"""

from __future__ import annotations

import builtins
import io
import json
import os
import re
import tempfile
from pathlib import Path

import pytest

from tests.integration.test_bad_input import assert_clean_error, assert_no_leftovers, run_cli, write_config

# fixtures shared with sibling modules: imported by name (F401), then requested as test parameters (F811)
from tests.integration.test_bad_input_checkpoints import change_pairs, project, train  # noqa: F401
from tests.integration.test_bad_input_predictions import evaluate, pred  # noqa: F401
from tests.integration.test_bad_input_safety import config as mvtec_config  # noqa: F401
from tests.integration.test_bad_input_safety import predict

# --- a config that is not text -------------------------------------------------------------------------------


@pytest.mark.parametrize("content, words", [
    ("tier: ci\nresults_dir: résultats\n".encode("latin-1"), ["not a UTF-8 text file", "byte 0xe9"]),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ["not a UTF-8 text file", "byte 0x89 at offset 0"]),
    (b"tier: ci\x00\x00\x00\x01", ["holds a NUL byte", "binary file"]),
], ids=["latin-1", "png", "nul-bytes"])
def test_a_config_that_is_not_utf8_text_is_named(tmp_path, capsys, content, words):
    config = tmp_path / "c.yaml"
    config.write_bytes(content)
    code, _, err = run_cli(capsys, "predict", "random", "--config", config, "--dataset", "d",
                           "--out", tmp_path / "out")
    assert_clean_error(code, err, config, *words)
    assert_no_leftovers(tmp_path, tmp_path / "out")


def test_a_utf8_config_with_a_byte_order_mark_loads(tmp_path, capsys):
    """Windows editors save UTF-8 with a BOM; it is still UTF-8 text."""
    from uasbench.config import load_config

    path = write_config(tmp_path / "c.yaml", tmp_path / "results")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_config(path)["tier"] == "ci"


# --- a file where a folder belongs ------------------------------------------------------------------------------

def test_evaluate_out_below_a_file_names_the_file(pred, tmp_path, capsys):  # noqa: F811
    pred_dir, _ = pred
    blocker = tmp_path / "afile"
    blocker.write_text("x\n")
    code, _, err = evaluate(capsys, pred_dir, blocker / "m.json")
    message = assert_clean_error(code, err, blocker / "m.json", f"{blocker} is a file, not a folder")
    assert "File exists" not in message
    assert blocker.read_text() == "x\n"
    assert_no_leftovers(tmp_path)


def test_predict_under_a_results_dir_that_is_a_file_names_it(mvtec_config, tmp_path, capsys):  # noqa: F811
    results = tmp_path / "results"  # the config's results_dir
    results.write_text("not a folder\n")
    code, _, err = predict(capsys, mvtec_config, results / "predictions" / "d" / "random" / "seed0")
    message = assert_clean_error(code, err, f"{results} is a file, not a folder")
    assert "File exists" not in message and "Not a directory" not in message
    assert results.read_text() == "not a folder\n"


# --- a full disk ------------------------------------------------------------------------------------------------

@pytest.fixture
def full_disk(monkeypatch):
    """Open every temporary file of an atomic write on /dev/full (writes fail with ENOSPC)."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    temps: set[str] = set()
    real_mkstemp, real_open = tempfile.mkstemp, io.open

    def mkstemp(*args, **kwargs):
        fd, name = real_mkstemp(*args, **kwargs)
        temps.add(os.path.abspath(name))
        return fd, name

    def open_(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and os.path.abspath(file) in temps:
            file = "/dev/full"
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(io, "open", open_)
    monkeypatch.setattr(builtins, "open", open_)
    return temps


def test_evaluate_on_a_full_disk_names_the_file_and_the_size(pred, tmp_path, capsys, full_disk):  # noqa: F811
    pred_dir, out = pred
    code, _, err = evaluate(capsys, pred_dir, out)
    message = assert_clean_error(code, err, out, "no space left on the device", "free in")
    assert full_disk, "nothing was written through the simulated full disk"
    assert re.search(r"\(\d+(\.\d)? (bytes|KiB) needed; ", message), message  # the metrics file's size
    assert json.loads(out.read_text()) == {"computed": "earlier"}
    assert_no_leftovers(tmp_path)


def test_predict_on_a_full_disk_names_the_file_and_keeps_nothing(mvtec_config, tmp_path, capsys,  # noqa: F811
                                                                 full_disk):
    out = tmp_path / "results" / "predictions" / "d" / "random" / "seed0"
    code, _, err = predict(capsys, mvtec_config, out)
    message = assert_clean_error(code, err, out / "bottle.npz", "no space left on the device", "free some space")
    assert "uasbench-tmp" not in message  # the file as the user will look for it, not its staging copy
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_training_on_a_full_disk_names_the_checkpoint(project, capsys, full_disk):  # noqa: F811
    config, results = project
    code, _, err = train(capsys, config)
    checkpoint = results / "models" / "m" / "checkpoint.pt"
    assert_clean_error(code, err, checkpoint, "no space left on the device")
    assert sorted(p.name for p in checkpoint.parent.iterdir()) == []
