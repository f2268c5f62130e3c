"""What is known before any model runs is checked before it (exit 2, one line): a category folder whose name cannot
become a file name, a read-only output folder, and numbers out of range: an image size over the pixel limit, a
seed beyond 32 bits, more threads than CPU cores. Each of these used to fail only after the compute, or crash."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.fixtures.scratches import PIXEL_RUN, make_scratch_folder
from tests.integration.test_bad_input import assert_clean_error, run_cli, write_config

# a fixture shared with a sibling module: imported by name (F401), then requested as a test parameter (F811)
from tests.integration.test_bad_input_safety import no_computing  # noqa: F401

CORES = os.cpu_count() or 1


@pytest.fixture(scope="module")
def scratches(tmp_path_factory):
    return make_scratch_folder(tmp_path_factory.mktemp("user") / "scratches")


@pytest.fixture
def config(scratches, tmp_path):
    """A ci config over the folder, as dataset 'd' at 32 px, with a 'random' run."""
    return write_config(tmp_path / "c.yaml", tmp_path / "results",
                        datasets={"d": {"kind": "folder", "root": str(scratches), "image_size": 32}})


def test_a_category_folder_that_is_not_a_safe_name_is_refused_by_path(tmp_path, capsys, no_computing):  # noqa: F811
    """Was: 'data check' passed and 'run' failed after computing with a message naming no path."""
    root = make_scratch_folder(tmp_path / "data", categories=("my parts", "beta"))
    code, _, err = run_cli(capsys, "data", "check", "--dataset", "folder", "--root", root)
    assert_clean_error(code, err, root / "my parts", "'my parts' is not a safe file name", "rename the folder")
    code, _, err = run_cli(capsys, "run", "--root", root, *PIXEL_RUN, "--out", tmp_path / "out")
    assert_clean_error(code, err, root / "my parts", "not a safe file name")
    assert not (tmp_path / "out").exists()


def test_predict_into_a_read_only_folder_is_refused_before_computing(config, tmp_path):
    """Was: the maps were computed, then a PermissionError traceback. Tests run as root here, whom permissions do
    not stop: the command then runs without the capability to override them (setpriv), as an ordinary user."""
    as_user = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: permissions do not block writes")
        as_user = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        result = subprocess.run([*as_user, sys.executable, "-m", "uasbench", "predict", "random", "--config",
                                 str(config), "--dataset", "d", "--out", str(locked / "seed0")],
                                capture_output=True, text=True, timeout=300)
    finally:
        locked.chmod(0o755)
    assert_clean_error(result.returncode, result.stderr, locked, "read-only")
    assert "predict random" not in result.stderr  # its progress bar: no category was computed
    assert list(locked.iterdir()) == []


# --- numbers out of range -----------------------------------------------------------------------------------------

def usage_error(capsys, *argv) -> str:
    """The argparse error of a command line refused before the command starts (exit 2)."""
    with pytest.raises(SystemExit) as exit_info:
        run_cli(capsys, *argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("command", ["run", "predict", "train"])
@pytest.mark.parametrize("threads", ["100000", str(CORES + 1)])
def test_more_threads_than_cpu_cores_are_refused(scratches, config, tmp_path, capsys, command, threads,
                                                 no_computing):  # noqa: F811
    """Was: a MemoryError from torch.set_num_threads(100000)."""
    argv = {"run": ["run", "--root", scratches, "--method", "random", "--out", tmp_path / "out"],
            "predict": ["predict", "random", "--config", config, "--dataset", "d", "--out", tmp_path / "out"],
            "train": ["train", "m", "--config", config]}[command]
    err = usage_error(capsys, *argv, "--threads", threads)
    assert f"argument --threads: {threads} is not allowed" in err and f"this machine has {CORES} CPU cores" in err


@pytest.mark.parametrize("command", ["run", "predict"])
def test_a_seed_beyond_32_bits_is_refused(scratches, config, tmp_path, capsys, no_computing, command):  # noqa: F811
    """Was: 'Overflow when unpacking long long' from torch.manual_seed(2**64)."""
    argv = {"run": ["run", "--root", scratches, "--method", "random", "--out", tmp_path / "out", "--seeds"],
            "predict": ["predict", "random", "--config", config, "--dataset", "d", "--out", tmp_path / "out",
                        "--seed"]}[command]
    err = usage_error(capsys, *argv, 2**64)
    assert f"{2**64} is not allowed: must be at most {2**32 - 1}" in err


def test_run_image_size_over_the_pixel_limit_is_refused(scratches, tmp_path, capsys, monkeypatch,
                                                        no_computing):  # noqa: F811
    """Was: 200000 px asked for a 120 GB tensor. The limit is the image reader's (UASBENCH_MAX_IMAGE_PIXELS)."""
    err = usage_error(capsys, "run", "--root", scratches, "--method", "random", "--out", tmp_path / "out",
                      "--image-size", "200000")
    assert "argument --image-size: 200000 is not allowed: 200000x200000 = 40,000,000,000 pixels" in err
    monkeypatch.setenv("UASBENCH_MAX_IMAGE_PIXELS", "10000")  # a lower limit: a 128 px side is over it
    err = usage_error(capsys, "run", "--root", scratches, "--method", "random", "--out", tmp_path / "out",
                      "--image-size", "128")
    assert "128x128 = 16,384 pixels is over the limit of 10,000" in err and "UASBENCH_MAX_IMAGE_PIXELS" in err
    assert not (tmp_path / "out").exists()


def test_config_image_size_over_the_pixel_limit_is_refused(scratches, tmp_path, capsys, no_computing):  # noqa: F811
    config = write_config(tmp_path / "c.yaml", tmp_path / "results",
                          datasets={"d": {"kind": "folder", "root": str(scratches), "image_size": 200000}})
    code, _, err = run_cli(capsys, "predict", "random", "--config", config, "--dataset", "d", "--out",
                           tmp_path / "out")
    assert_clean_error(code, err, config, "datasets.d.image_size", "over the limit of 100,000,000 pixels")
