"""Each loader on tiny folders written in the exact official layouts (tests/fixtures/layouts.py)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.fixtures.layouts import (
    BTAD_EXTENSIONS,
    make_btad,
    make_goodsad,
    make_mvtec,
    make_visa,
    noise_image,
    write_image,
)
from uasbench.datasets import DATASETS, Sample, count_samples, load_dataset, read_mask
from uasbench.errors import ConfigError, DataError


def _counts(samples: list[Sample]) -> dict[str, tuple[int, int, int]]:
    return {k: tuple(v) for k, v in count_samples(samples).items()}


def test_dataset_names_are_the_documented_ones():
    assert DATASETS == ("mvtec", "visa", "btad", "goodsad", "folder")


def test_mvtec_counts_labels_and_mask_pairing(tmp_path):
    expected = make_mvtec(tmp_path)
    samples = load_dataset("mvtec", tmp_path)
    assert _counts(samples) == expected
    for s in samples:
        assert s.split in ("train", "test")
        if s.label == 0:
            assert s.mask_path is None and s.defect_type == "good"
        else:
            mask_dir = tmp_path / s.category / "ground_truth" / s.defect_type
            assert s.mask_path == mask_dir / f"{s.image_path.stem}_mask.png"
            assert s.image_path.parent.name == s.defect_type
    assert {s.defect_type for s in samples if s.category == "bottle" and s.label} == {"broken_large", "contamination"}


def test_order_is_sorted_and_deterministic(tmp_path):
    make_mvtec(tmp_path)
    first = load_dataset("mvtec", tmp_path)
    assert first == load_dataset("mvtec", tmp_path)
    keys = [(s.category, s.split != "train", s.label, s.defect_type, str(s.image_path)) for s in first]
    assert keys == sorted(keys)


def test_split_and_category_filters(tmp_path):
    expected = make_mvtec(tmp_path)
    train = load_dataset("mvtec", tmp_path, split="train")
    assert {s.split for s in train} == {"train"} and len(train) == sum(c[0] for c in expected.values())
    cable = load_dataset("mvtec", tmp_path, split="test", categories=["cable"])
    assert {s.category for s in cable} == {"cable"} and len(cable) == expected["cable"][1] + expected["cable"][2]
    with pytest.raises(ConfigError, match="unknown split"):
        load_dataset("mvtec", tmp_path, split="val")
    with pytest.raises(ConfigError, match="unknown dataset"):
        load_dataset("mvtec-ad", tmp_path)


def test_visa_csv_split_and_class_id_masks(tmp_path):
    expected = make_visa(tmp_path, class_ids=(1, 2))
    samples = load_dataset("visa", tmp_path)
    assert _counts(samples) == expected
    anomalous = [s for s in samples if s.label == 1]
    assert {s.defect_type for s in anomalous} == {"bad"}
    for s in anomalous:
        assert s.mask_path.parent == tmp_path / s.category / "Data" / "Masks" / "Anomaly"
        raw = np.asarray(Image.open(s.mask_path))
        assert raw.max() in (1, 2)  # class ids, not 255: the raw mask "looks black"
        mask = read_mask(s.mask_path, None, 1)
        np.testing.assert_array_equal(mask, raw != 0)
        assert mask.any()
    # normals: train and test come from the same Normal folder, split by the csv only
    assert all(s.image_path.parent.name == "Normal" for s in samples if s.label == 0)
    test_normals = {s.image_path for s in samples if s.label == 0 and s.split == "test"}
    train = {s.image_path for s in samples if s.split == "train"}
    assert test_normals and not (test_normals & train)


def test_btad_pairs_masks_by_stem_across_extensions(tmp_path):
    expected = make_btad(tmp_path)
    samples = load_dataset("btad", tmp_path)
    assert _counts(samples) == expected
    for s in samples:
        image_ext, mask_ext = BTAD_EXTENSIONS[s.category]
        assert s.image_path.suffix == image_ext
        if s.label == 1:
            assert s.defect_type == "ko"
            assert s.mask_path.suffix == mask_ext and s.mask_path.stem == s.image_path.stem
        else:
            assert s.defect_type == "good" and s.image_path.parent.name == "ok"


def test_goodsad_masks_share_the_image_stem(tmp_path):
    expected = make_goodsad(tmp_path)
    samples = load_dataset("goodsad", tmp_path)
    assert _counts(samples) == expected
    anomalous = [s for s in samples if s.label == 1]
    assert {s.defect_type for s in anomalous if s.category == "drink_can"} == {"deformation", "straw_missing"}
    for s in anomalous:
        assert s.image_path.suffix == ".jpg"
        assert s.mask_path.name == f"{s.image_path.stem}.png"


@pytest.mark.parametrize("mask_name", ["{stem}_mask.png", "{stem}.png"])
def test_folder_accepts_both_mask_namings(tmp_path, mask_name):
    expected = make_mvtec(tmp_path, image_ext=".jpg", mask_name=mask_name)
    samples = load_dataset("folder", tmp_path)
    assert _counts(samples) == expected
    assert all(s.mask_path.name == mask_name.format(stem=s.image_path.stem) for s in samples if s.label)


def test_mvtec_loader_does_not_take_goodsad_style_masks(tmp_path):
    """The official MVTec naming is <stem>_mask.png; a same-stem mask is a layout error for --dataset mvtec."""
    make_mvtec(tmp_path, mask_name="{stem}.png")
    with pytest.raises(DataError, match="missing mask"):
        load_dataset("mvtec", tmp_path)


def test_hidden_and_non_image_files_are_ignored(tmp_path):
    expected = make_mvtec(tmp_path)
    (tmp_path / "bottle" / "train" / "good" / ".DS_Store").write_bytes(b"\0\1")
    (tmp_path / "bottle" / "train" / "good" / "notes.txt").write_text("x")
    write_image(tmp_path / "bottle" / "train" / "good" / "EXTRA.PNG", noise_image(np.random.default_rng(0)))
    samples = load_dataset("mvtec", tmp_path)
    assert _counts(samples)["bottle"][0] == expected["bottle"][0] + 1  # upper-case extension counts


def test_visa_extra_csv_columns_and_whitespace(tmp_path):
    make_visa(tmp_path)
    csv_path = tmp_path / "split_csv" / "1cls.csv"
    rows = list(csv.reader(csv_path.open()))
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(rows[0] + ["note"])
        writer.writerows(r + [" "] for r in rows[1:])
    assert len(load_dataset("visa", tmp_path, categories=["pcb1"])) == 5


def test_samples_are_frozen(tmp_path):
    make_mvtec(tmp_path)
    sample = load_dataset("mvtec", tmp_path)[0]
    with pytest.raises(AttributeError):
        sample.label = 1  # type: ignore[misc]
    assert isinstance(sample.image_path, Path)
