"""Every bad-layout case gives a DataError that names the file and the problem."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tests.fixtures.layouts import make_btad, make_mvtec, make_visa, write_image
from uasbench.datasets import load_dataset
from uasbench.datasets.benchmarks.validation import validate_samples
from uasbench.errors import DataError


def test_missing_root(tmp_path):
    root = tmp_path / "nope"
    with pytest.raises(DataError, match=f"{root}: dataset root not found"):
        load_dataset("mvtec", root)


def test_root_without_categories(tmp_path):
    with pytest.raises(DataError, match="no category folders"):
        load_dataset("folder", tmp_path)


def test_missing_mask_names_image_and_expected_mask(tmp_path):
    make_mvtec(tmp_path)
    mask = tmp_path / "bottle" / "ground_truth" / "contamination" / "000_mask.png"
    mask.unlink()
    with pytest.raises(DataError) as err:
        load_dataset("mvtec", tmp_path)
    message = str(err.value)
    assert str(tmp_path / "bottle" / "test" / "contamination" / "000.png") in message
    assert "missing mask" in message and "000_mask.png" in message


def test_missing_mask_btad_says_any_extension(tmp_path):
    make_btad(tmp_path)
    (tmp_path / "02" / "ground_truth" / "ko" / "0001.png").unlink()
    with pytest.raises(DataError, match=r"02/test/ko/0001\.png: missing mask \(expected 0001 with any image extension"):
        load_dataset("btad", tmp_path)


def test_all_missing_masks_are_listed_at_once(tmp_path):
    make_mvtec(tmp_path)
    for defect in ("broken_large", "contamination"):
        for mask in (tmp_path / "bottle" / "ground_truth" / defect).iterdir():
            mask.unlink()
    with pytest.raises(DataError, match=r"^3 problems") as err:
        load_dataset("mvtec", tmp_path)
    assert str(err.value).count("missing mask") == 3


def test_missing_mask_folder_is_one_problem(tmp_path):
    make_mvtec(tmp_path)
    shutil.rmtree(tmp_path / "bottle" / "ground_truth" / "broken_large")
    gt = tmp_path / "bottle" / "ground_truth" / "broken_large"
    with pytest.raises(DataError, match=f"^{gt}: missing mask folder for the 2 images of"):
        load_dataset("mvtec", tmp_path)


def test_size_mismatch_names_both_files(tmp_path):
    make_mvtec(tmp_path)
    mask = tmp_path / "cable" / "ground_truth" / "bent_wire" / "000_mask.png"
    write_image(mask, np.zeros((20, 32), np.uint8))
    with pytest.raises(DataError) as err:
        load_dataset("mvtec", tmp_path)
    message = str(err.value)
    assert message.startswith(f"{mask}: mask size 32x20 does not match image")
    assert str(tmp_path / "cable" / "test" / "bent_wire" / "000.png") in message and "32x24" in message


def test_size_mismatch_is_not_checked_without_validate(tmp_path):
    make_mvtec(tmp_path)
    write_image(tmp_path / "cable" / "ground_truth" / "bent_wire" / "000_mask.png", np.zeros((20, 32), np.uint8))
    assert load_dataset("mvtec", tmp_path, validate=False)


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\0" * 40])
def test_unreadable_image(tmp_path, content):
    make_mvtec(tmp_path)
    bad = tmp_path / "bottle" / "train" / "good" / "001.png"
    bad.write_bytes(content)
    with pytest.raises(DataError, match=f"{bad}: unreadable image"):
        load_dataset("mvtec", tmp_path)


def test_truncated_png_caught_by_data_check_and_by_read_image(tmp_path, capsys):
    """The header check of load_dataset cannot see a cut-off file; the deep check (data check) and reading do."""
    from uasbench.cli import main
    from uasbench.datasets import read_image

    make_mvtec(tmp_path)
    bad = tmp_path / "bottle" / "test" / "good" / "000.png"
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    samples = load_dataset("mvtec", tmp_path)  # header only: passes
    assert main(["data", "check", "--dataset", "mvtec", "--root", str(tmp_path)]) == 2
    assert f"{bad}: unreadable image" in capsys.readouterr().err
    with pytest.raises(DataError, match=f"{bad}: unreadable image"):
        validate_samples(samples, deep=True)
    with pytest.raises(DataError, match=f"{bad}: unreadable image"):
        read_image(bad)


def test_unreadable_mask(tmp_path):
    make_mvtec(tmp_path)
    bad = tmp_path / "bottle" / "ground_truth" / "broken_large" / "001_mask.png"
    bad.write_bytes(b"garbage")
    with pytest.raises(DataError, match=f"{bad}: unreadable mask"):
        load_dataset("mvtec", tmp_path)


def test_empty_category_train(tmp_path):
    make_mvtec(tmp_path)
    for path in (tmp_path / "cable" / "train" / "good").iterdir():
        path.unlink()
    with pytest.raises(DataError, match=r"cable/train/good: category 'cable' has no train images"):
        load_dataset("mvtec", tmp_path)
    assert load_dataset("mvtec", tmp_path, split="test")  # the test split alone is still fine


def test_empty_category_folder(tmp_path):
    make_mvtec(tmp_path)
    (tmp_path / "screw").mkdir()
    with pytest.raises(DataError, match="category 'screw' has no train images") as err:
        load_dataset("mvtec", tmp_path)
    assert "category 'screw' has no test images" in str(err.value)


def test_unknown_category_requested(tmp_path):
    make_mvtec(tmp_path)
    with pytest.raises(DataError, match=r"category 'carpet' not found \(available: bottle, cable\)"):
        load_dataset("mvtec", tmp_path, categories=["carpet"])


def test_missing_split_csv(tmp_path):
    make_visa(tmp_path)
    csv_path = tmp_path / "split_csv" / "1cls.csv"
    csv_path.unlink()
    with pytest.raises(DataError, match=f"{csv_path}: VisA split file not found"):
        load_dataset("visa", tmp_path)


def test_visa_csv_missing_column_and_bad_rows(tmp_path):
    make_visa(tmp_path)
    csv_path = tmp_path / "split_csv" / "1cls.csv"
    lines = csv_path.read_text().splitlines()
    csv_path.write_text("\n".join([lines[0].replace(",mask", "")] + lines[1:]) + "\n")
    with pytest.raises(DataError, match="missing column"):
        load_dataset("visa", tmp_path)
    lines[1] = lines[1].replace(",train,", ",val,")
    csv_path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=rf"{csv_path}:2: bad split/label 'val'"):
        load_dataset("visa", tmp_path)


def test_visa_missing_image_and_mask_named(tmp_path):
    make_visa(tmp_path)
    image = tmp_path / "pcb1" / "Data" / "Images" / "Normal" / "0000.JPG"
    mask = tmp_path / "candle" / "Data" / "Masks" / "Anomaly" / "001.png"
    image.unlink()
    mask.unlink()
    with pytest.raises(DataError, match="2 problems") as err:
        load_dataset("visa", tmp_path)
    assert f"{image}: image listed in" in str(err.value) and f"{mask}: missing mask" in str(err.value)


def test_visa_empty_category_split(tmp_path):
    make_visa(tmp_path)
    csv_path = tmp_path / "split_csv" / "1cls.csv"
    kept = [line for line in csv_path.read_text().splitlines() if not line.startswith("pcb1,test")]
    csv_path.write_text("\n".join(kept) + "\n")
    with pytest.raises(DataError, match="category 'pcb1' has no test images"):
        load_dataset("visa", tmp_path)


def test_visa_corrupt_jpeg(tmp_path):
    make_visa(tmp_path)
    bad = tmp_path / "candle" / "Data" / "Images" / "Anomaly" / "000.JPG"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(DataError, match=f"{bad}: unreadable image"):
        load_dataset("visa", tmp_path)

