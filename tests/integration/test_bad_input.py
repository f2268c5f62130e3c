"""Bad input through the CLI: one clear error line naming the file/key/method, a non-zero exit, no partial output.

Datasets, configs and command-line arguments here; predictions/evaluate in test_bad_input_predictions.py,
checkpoints in test_bad_input_checkpoints.py (both reuse the helpers below).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.fixtures.layouts import make_mvtec, make_visa, write_image
from uasbench.cli import main


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_clean_error(code: int, err: str, *names) -> str:
    """Exit 2, no traceback, exactly one ``uasbench: error:`` line, and every name (path, key, method) in it."""
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("uasbench: error:")]
    assert len(lines) == 1, err
    message = err[err.index("uasbench: error:"):]
    for name in names:
        assert str(name) in message, f"{name!r} not named in: {message}"
    return message


def assert_no_leftovers(root: Path, *absent: Path) -> None:
    """No temporary files/folders of an atomic write anywhere under ``root``, and the given outputs absent."""
    leftovers = [p for p in root.rglob("*") if p.name.startswith(".") or p.name.endswith((".tmp", ".partial"))
                 or "tmp" in p.name.lower()]
    assert leftovers == []
    for path in absent:
        assert not path.exists(), f"{path} was written despite the error"


def write_config(path: Path, results: Path, **sections) -> Path:
    """A valid ci-tier config over a user folder dataset ``d`` with a 'random' run; ``sections`` replace parts."""
    config = {"tier": "ci", "results_dir": str(results), "prompt_seeds": [0],
              "datasets": {"d": {"kind": "folder", "root": str(results.parent / "data"), "image_size": 32}},
              "runs": {"random": {"method": "random", "prompt": "none"}}}
    config.update(sections)
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def mvtec(tmp_path):
    root = tmp_path / "mvtec"
    make_mvtec(root)
    return root


def data_check(capsys, root: Path, report: Path, dataset: str = "mvtec"):
    return run_cli(capsys, "data", "check", "--dataset", dataset, "--root", root, "--json", report)


# --- datasets -------------------------------------------------------------------------------------------------

def test_valid_fixture_passes_so_the_failures_below_are_caused_by_the_edit(mvtec, tmp_path, capsys):
    code, _, err = data_check(capsys, mvtec, tmp_path / "report.json")
    assert code == 0, err
    assert (tmp_path / "report.json").is_file()


def test_missing_dataset_root(tmp_path, capsys):
    code, _, err = data_check(capsys, tmp_path / "no_such_root", tmp_path / "report.json")
    assert_clean_error(code, err, tmp_path / "no_such_root", "not found")
    assert_no_leftovers(tmp_path, tmp_path / "report.json")


def test_wrong_layout_without_train_folder(mvtec, tmp_path, capsys):
    shutil.rmtree(mvtec / "cable" / "train")
    code, _, err = data_check(capsys, mvtec, tmp_path / "report.json")
    assert_clean_error(code, err, mvtec / "cable" / "train" / "good", "no train images")
    assert_no_leftovers(tmp_path, tmp_path / "report.json")


def test_image_without_mask(mvtec, tmp_path, capsys):
    (mvtec / "bottle" / "ground_truth" / "contamination" / "000_mask.png").unlink()
    code, _, err = data_check(capsys, mvtec, tmp_path / "report.json")
    assert_clean_error(code, err, mvtec / "bottle" / "test" / "contamination" / "000.png", "missing mask")
    assert_no_leftovers(tmp_path, tmp_path / "report.json")


def test_mask_size_mismatch(mvtec, tmp_path, capsys):
    mask = mvtec / "cable" / "ground_truth" / "bent_wire" / "000_mask.png"
    write_image(mask, np.zeros((10, 10), np.uint8))
    code, _, err = data_check(capsys, mvtec, tmp_path / "report.json")
    assert_clean_error(code, err, mask, "10x10", "does not match")
    assert_no_leftovers(tmp_path, tmp_path / "report.json")


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_image(mvtec, tmp_path, capsys, damage):
    image = mvtec / "bottle" / "train" / "good" / "001.png"
    data = image.read_bytes()
    image.write_bytes(b"not a png at all" if damage == "garbage" else data[: len(data) // 2])
    code, _, err = data_check(capsys, mvtec, tmp_path / "report.json")
    assert_clean_error(code, err, image, "unreadable image")
    assert_no_leftovers(tmp_path, tmp_path / "report.json")


def test_empty_category(mvtec, tmp_path, capsys):
    (mvtec / "carpet").mkdir()
    code, _, err = data_check(capsys, mvtec, tmp_path / "report.json")
    assert_clean_error(code, err, mvtec / "carpet" / "train" / "good", mvtec / "carpet" / "test",
                       "category 'carpet' has no")
    assert_no_leftovers(tmp_path, tmp_path / "report.json")


def test_visa_root_without_split_csv(tmp_path, capsys):
    root = tmp_path / "visa"
    make_visa(root)
    (root / "split_csv" / "1cls.csv").unlink()
    code, _, err = data_check(capsys, root, tmp_path / "report.json", dataset="visa")
    assert_clean_error(code, err, root / "split_csv" / "1cls.csv", "not found")
    assert_no_leftovers(tmp_path, tmp_path / "report.json")


def test_visa_split_csv_without_required_columns(tmp_path, capsys):
    root = tmp_path / "visa"
    make_visa(root)
    csv_path = root / "split_csv" / "1cls.csv"
    csv_path.write_text(csv_path.read_text().replace("object,split,label,image,mask", "object,split,label,image", 1))
    code, _, err = data_check(capsys, root, tmp_path / "report.json", dataset="visa")
    assert_clean_error(code, err, csv_path, "missing column(s) mask")
    assert_no_leftovers(tmp_path, tmp_path / "report.json")


def test_unknown_category_requested(mvtec, tmp_path, capsys):
    code, _, err = run_cli(capsys, "data", "check", "--dataset", "mvtec", "--root", mvtec, "--categories", "botle")
    assert_clean_error(code, err, mvtec, "'botle' not found", "bottle, cable")


def test_predict_validates_the_dataset_before_writing(mvtec, tmp_path, capsys):
    """A dataset problem found by ``predict`` leaves no predictions folder (not even meta.json)."""
    (mvtec / "bottle" / "ground_truth" / "contamination" / "000_mask.png").write_bytes(b"\x89PNG broken")
    config = write_config(tmp_path / "c.yaml", tmp_path / "results",
                          datasets={"d": {"kind": "mvtec", "root": str(mvtec), "image_size": 32}})
    out = tmp_path / "results" / "predictions" / "d" / "random" / "seed0"
    code, _, err = run_cli(capsys, "predict", "random", "--config", config, "--dataset", "d", "--out", out)
    assert_clean_error(code, err, mvtec / "bottle" / "ground_truth" / "contamination" / "000_mask.png",
                       "unreadable mask")
    assert_no_leftovers(tmp_path, out)


# --- configs --------------------------------------------------------------------------------------------------

def predict_with(capsys, tmp_path, config: Path, run: str = "random", *extra):
    out = tmp_path / "results" / "predictions" / "d" / run / "seed0"
    return (*run_cli(capsys, "predict", run, "--config", config, "--dataset", "d", "--out", out, *extra), out)


@pytest.mark.parametrize("edit, names", [
    (lambda c: c.update(resuls_dir="x"), ["unknown key at <top level>", "resuls_dir"]),
    (lambda c: c["runs"]["random"].update(promt="none"), ["unknown key at runs.random", "promt"]),
    (lambda c: c["datasets"]["d"].update(image_size="large"), ["invalid value at datasets.d.image_size", "'large'"]),
    (lambda c: c["runs"]["random"].update(method="metauass"), ["invalid value at runs.random.method", "'metauass'"]),
    (lambda c: c.update(prompt_seeds=[]), ["invalid value at prompt_seeds", "[]"]),
    (lambda c: c["runs"]["random"].update(model="nope"), ["runs.random.model", "'nope'", "training"]),
    (lambda c: c.pop("tier"), ["<top level>", "'tier'"]),
], ids=["unknown-top-key", "unknown-run-key", "wrong-type", "unknown-method", "empty-prompt-seeds",
        "unknown-model", "missing-tier"])
def test_config_schema_violation_names_the_key(tmp_path, capsys, edit, names):
    config = yaml.safe_load(write_config(tmp_path / "c.yaml", tmp_path / "results").read_text())
    edit(config)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    code, _, err, out = predict_with(capsys, tmp_path, path)
    assert_clean_error(code, err, path, *names)
    assert_no_leftovers(tmp_path, out)


@pytest.mark.parametrize("text, problem", [(None, "config file not found"), ("runs: [unclosed", "not valid YAML"),
                                           ("- a list", "expected a mapping")], ids=["absent", "bad-yaml", "a-list"])
def test_unreadable_config_file(tmp_path, capsys, text, problem):
    path = tmp_path / "c.yaml"
    if text is not None:
        path.write_text(text)
    code, _, err, out = predict_with(capsys, tmp_path, path)
    assert_clean_error(code, err, path, problem)
    assert_no_leftovers(tmp_path, out)


@pytest.mark.parametrize("method, options", [("random", {"bogus": 1}), ("prompt-diff", {"spaec": "pixel"})])
def test_unknown_option_of_a_run_names_the_option(tmp_path, capsys, method, options):
    config = write_config(tmp_path / "c.yaml", tmp_path / "results",
                          runs={"r": {"method": method, "prompt": "none", "options": options}})
    code, _, err, out = predict_with(capsys, tmp_path, config, "r")
    assert_clean_error(code, err, method, next(iter(options)))
    assert_no_leftovers(tmp_path, out)


# --- command-line arguments -----------------------------------------------------------------------------------

def test_unknown_run_for_predict(tmp_path, capsys):
    config = write_config(tmp_path / "c.yaml", tmp_path / "results")
    code, _, err, out = predict_with(capsys, tmp_path, config, "metauas")
    assert_clean_error(code, err, "unknown run 'metauas'", "random")
    assert_no_leftovers(tmp_path, out)


def test_unknown_dataset_for_predict(tmp_path, capsys):
    config = write_config(tmp_path / "c.yaml", tmp_path / "results")
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "predict", "random", "--config", config, "--dataset", "mvtec", "--out", out)
    assert_clean_error(code, err, "'mvtec'", "d")
    assert_no_leftovers(tmp_path, out)


def test_train_with_a_model_name_not_in_the_config(tmp_path, capsys):
    config = write_config(tmp_path / "c.yaml", tmp_path / "results")
    code, _, err = run_cli(capsys, "train", "onenip", "--config", config)
    assert_clean_error(code, err, "unknown model 'onenip'")
    assert_no_leftovers(tmp_path, tmp_path / "results" / "models")


def test_unknown_run_for_latency(tmp_path, capsys):
    config = write_config(tmp_path / "c.yaml", tmp_path / "results")
    out = tmp_path / "results" / "efficiency" / "winclip.json"
    code, _, err = run_cli(capsys, "bench", "latency", "winclip", "--config", config, "--out", out)
    assert_clean_error(code, err, "unknown run 'winclip'")
    assert_no_leftovers(tmp_path, out)


@pytest.mark.parametrize("argv", [["predict", "random", "--dataset", "d"], ["train", "m"]])
def test_device_cuda_on_a_cpu_only_machine(tmp_path, capsys, argv):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    config = write_config(tmp_path / "c.yaml", tmp_path / "results",
                          training={"m": {"method": "metauas", "data": "change_pairs"}})
    out = tmp_path / "out"
    extra = ["--out", out] if argv[0] == "predict" else []
    code, _, err = run_cli(capsys, *argv, "--config", config, "--device", "cuda", *extra)
    assert_clean_error(code, err, "--device cuda", "no CUDA device")
    assert_no_leftovers(tmp_path, out, tmp_path / "results" / "models")


@pytest.mark.parametrize("command", ["data-check", "predict"])
def test_output_path_below_a_regular_file(mvtec, tmp_path, capsys, command):
    """Tests run as root, where a read-only folder is still writable: an output whose parent is a FILE is not."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder\n")
    if command == "data-check":
        code, _, err = data_check(capsys, mvtec, blocker / "report.json")
    else:
        config = write_config(tmp_path / "c.yaml", tmp_path / "results",
                              datasets={"d": {"kind": "mvtec", "root": str(mvtec), "image_size": 32}})
        code, _, err = run_cli(capsys, "predict", "random", "--config", config, "--dataset", "d", "--out",
                               blocker / "seed0")
    assert_clean_error(code, err, blocker)
    assert blocker.read_text() == "a file, not a folder\n"
    assert_no_leftovers(tmp_path)


def test_train_without_its_training_data(tmp_path, capsys):
    config = write_config(tmp_path / "c.yaml", tmp_path / "results", training={"m": {
        "method": "metauas", "data": "change_pairs", "backbone": "tf_efficientnet_lite0",
        "options": {"pretrained_backbone": False}}})
    code, _, err = run_cli(capsys, "train", "m", "--config", config)
    assert_clean_error(code, err, tmp_path / "results" / "data" / "change_pairs" / "manifest.json",
                       "uasbench data make-change-pairs")
    assert_no_leftovers(tmp_path, tmp_path / "results" / "models")
