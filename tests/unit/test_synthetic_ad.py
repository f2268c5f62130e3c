"""The embedded anomaly benchmark: layout, determinism, exact masks, atomic output, and that it is not trivial."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from uasbench.cli import main
from uasbench.datasets.synthetic_ad import generate as synthetic_ad
from uasbench.datasets.synthetic_ad.defects import VISIBLE_CHANGE
from uasbench.datasets.synthetic_ad.generate import (
    CATEGORY_SPECS,
    SYNTHETIC_CATEGORIES,
    make_synthetic_ad,
    min_defect_area,
    render_defective,
    sample_rng,
)
from uasbench.datasets.synthetic_ad.render import ellipse_points, polygon_coverage, stroke_coverage
from uasbench.errors import ConfigError, DataError

SIZE = 128
COUNTS = {"n_train": 4, "n_test_good": 4, "n_test_defect": 8}
TRAINING_SYNTHESIS = {"cutpaste", "scar", "patch", "perlin", "draem", "paste", "inpaint", "object"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_synthetic_ad(tmp_path_factory.mktemp("syn") / "ad", seed=3, image_size=SIZE, progress=False, **COUNTS)


def read_rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)


def test_categories_cover_textures_objects_and_new_defect_types():
    kinds = [CATEGORY_SPECS[c].kind for c in SYNTHETIC_CATEGORIES]
    assert len(SYNTHETIC_CATEGORIES) >= 6 and kinds.count("texture") >= 3 and kinds.count("object") >= 3
    for name in SYNTHETIC_CATEGORIES:
        defects = CATEGORY_SPECS[name].defects
        assert len(defects) >= 2
        assert not any(word in d for d in defects for word in TRAINING_SYNTHESIS)
    assert {CATEGORY_SPECS[c].source for c in ("brick", "grass", "gravel")} == {
        "skimage.data.brick", "skimage.data.grass", "skimage.data.gravel"}


def test_layout_manifest_and_masks(dataset: Path):
    manifest = json.loads((dataset / "dataset.json").read_text())
    assert manifest["image_size"] == SIZE and manifest["seed"] == 3 and manifest["generator_version"]
    assert sorted(manifest["categories"]) == sorted(SYNTHETIC_CATEGORIES)
    for cat, info in manifest["categories"].items():
        counts = info["counts"]
        assert counts["train/good"] == 4 and counts["test/good"] == 4
        assert sum(n for k, n in counts.items() if k.startswith("test/") and k != "test/good") == 8
        assert len({k for k in counts if k not in ("train/good", "test/good")}) >= 2
        for folder, n in counts.items():
            files = sorted((dataset / cat / folder).glob("*.png"))
            assert [f.name for f in files] == [f"{i:03d}.png" for i in range(n)]
            for image_path in files:
                image = cv2.imread(str(image_path), cv2.IMREAD_UNCHANGED)
                assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.uint8
                mask_path = dataset / cat / "ground_truth" / image_path.parent.name / f"{image_path.stem}_mask.png"
                if folder.endswith("/good"):
                    assert not mask_path.exists()
                    continue
                mask = cv2.imread(str(mask_path), cv2.IMREAD_UNCHANGED)
                assert mask.shape == (SIZE, SIZE) and set(np.unique(mask)) == {0, 255}
                assert (mask > 0).sum() >= min_defect_area(SIZE)
    assert not (dataset / "grass" / "ground_truth" / "good").exists()


def test_output_loads_with_the_mvtec_loader(dataset: Path):
    from uasbench.datasets.benchmarks.registry import load_dataset

    samples = load_dataset("mvtec", dataset)
    assert len(samples) == len(SYNTHETIC_CATEGORIES) * sum(COUNTS.values())
    assert sum(s.label for s in samples) == len(SYNTHETIC_CATEGORIES) * COUNTS["n_test_defect"]


@pytest.mark.parametrize("category", SYNTHETIC_CATEGORIES)
def test_defective_pixels_are_exactly_the_mask(category: str):
    """Every changed pixel is in the mask, and (almost) every mask pixel visibly changed."""
    for defect in CATEGORY_SPECS[category].defects:
        for index in range(2):
            normal, defective, mask = render_defective(category, defect, sample_rng(11, category, "test_defect",
                                                                                    index), SIZE)
            diff = np.abs(defective.astype(np.int16) - normal.astype(np.int16)).max(axis=2)
            assert not diff[~mask].any(), f"{category}/{defect}: pixels changed outside the mask"
            assert (diff[mask] >= VISIBLE_CHANGE).mean() >= 0.75, f"{category}/{defect}: mask covers unchanged pixels"
            assert mask.sum() >= min_defect_area(SIZE)


def test_same_seed_gives_identical_bytes_for_any_workers_and_subset(dataset: Path, tmp_path: Path):
    subset = ["brick", "board"]
    one = make_synthetic_ad(tmp_path / "one", seed=3, image_size=SIZE, n_train=2, n_test_good=1, n_test_defect=3,
                            categories=subset, progress=False)
    two = make_synthetic_ad(tmp_path / "two", seed=3, image_size=SIZE, n_train=2, n_test_good=1, n_test_defect=3,
                            categories=subset, workers=2, progress=False)
    files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(two) for p in two.rglob("*") if p.is_file())
    for rel in files:
        assert (one / rel).read_bytes() == (two / rel).read_bytes(), rel
        if rel.suffix == ".png":  # each image depends only on (seed, category, split, index), not on the counts
            assert (one / rel).read_bytes() == (dataset / rel).read_bytes(), rel
    other = make_synthetic_ad(tmp_path / "other", seed=4, image_size=SIZE, n_train=1, n_test_good=0, n_test_defect=0,
                              categories=["brick"], progress=False)
    assert (other / "brick/train/good/000.png").read_bytes() != (one / "brick/train/good/000.png").read_bytes()


def test_normal_images_vary_in_pose_and_view(dataset: Path):
    for cat in SYNTHETIC_CATEGORIES:
        first, second = (read_rgb(dataset / cat / "train/good" / f"{i:03d}.png").astype(float) for i in (0, 1))
        assert np.abs(first - second).mean() > 5.0, cat


def _prompt_diff_scores(dataset: Path, category: str, rng: np.random.Generator):
    """Blurred mean-RGB |query - prompt| against one random train/good prompt: maps, masks, labels."""
    trains = sorted((dataset / category / "train/good").glob("*.png"))
    prompt = read_rgb(trains[rng.integers(len(trains))]).astype(np.float32) / 255
    maps, masks, labels = [], [], []
    for folder in sorted((dataset / category / "test").iterdir()):
        for path in sorted(folder.glob("*.png")):
            query = read_rgb(path).astype(np.float32) / 255
            maps.append(cv2.GaussianBlur(np.abs(query - prompt).mean(axis=2), (0, 0), 4))
            mask_path = dataset / category / "ground_truth" / folder.name / f"{path.stem}_mask.png"
            masks.append(cv2.imread(str(mask_path), 0) > 0 if folder.name != "good" else np.zeros(maps[-1].shape, bool))
            labels.append(folder.name != "good")
    return np.stack(maps), np.stack(masks), np.array(labels)


def test_prompt_diff_baseline_is_far_from_perfect_while_the_oracle_is_perfect(dataset: Path):
    rng = np.random.default_rng(0)
    pixel_ap, image_auroc = {}, {}
    for cat in SYNTHETIC_CATEGORIES:
        maps, masks, labels = _prompt_diff_scores(dataset, cat, rng)
        pixel_ap[cat] = average_precision_score(masks.ravel(), maps.ravel())
        image_auroc[cat] = roc_auc_score(labels, maps.reshape(len(maps), -1).max(axis=1))
        oracle = masks.astype(np.float32)
        assert average_precision_score(masks.ravel(), oracle.ravel()) == 1.0
        assert roc_auc_score(masks.ravel(), oracle.ravel()) == 1.0
        assert roc_auc_score(labels, oracle.reshape(len(oracle), -1).max(axis=1)) == 1.0
    print("prompt-diff pixel AP", pixel_ap, "image AUROC", image_auroc)
    assert np.mean(list(pixel_ap.values())) < 0.5 and max(pixel_ap.values()) < 0.7
    assert np.mean(list(image_auroc.values())) < 0.9


def test_refuses_non_empty_output_unless_forced(tmp_path: Path):
    out = tmp_path / "ad"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    kwargs = dict(image_size=64, n_train=1, n_test_good=0, n_test_defect=0, categories=["grass"], progress=False)
    with pytest.raises(DataError, match="not empty"):
        make_synthetic_ad(out, **kwargs)
    assert (out / "keep.txt").exists()
    make_synthetic_ad(out, force=True, **kwargs)
    assert not (out / "keep.txt").exists() and (out / "grass/train/good/000.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ad"]


def test_failure_leaves_no_partial_output(tmp_path: Path, monkeypatch):
    calls = []
    original = synthetic_ad._run_task

    def failing(task, *args):
        calls.append(task)
        if len(calls) == 3:
            raise RuntimeError("boom")
        original(task, *args)

    monkeypatch.setattr(synthetic_ad, "_run_task", failing)
    with pytest.raises(RuntimeError, match="boom"):
        make_synthetic_ad(tmp_path / "ad", image_size=64, n_train=4, n_test_good=0, n_test_defect=0,
                          categories=["brick"], progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kwargs, message", [
    ({"categories": ["marble"]}, "categories"), ({"image_size": 16}, "image_size"), ({"n_train": 0}, "n_train"),
    ({"n_test_defect": -1}, "n_test_defect"),
])
def test_bad_arguments_name_the_key(tmp_path: Path, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        make_synthetic_ad(tmp_path / "ad", progress=False, **kwargs)
    assert not (tmp_path / "ad").exists()


def test_cli_writes_the_dataset_and_reports_errors(tmp_path: Path, capsys):
    out = tmp_path / "cli"
    argv = ["data", "make-synthetic-ad", "--out", str(out), "--seed", "1", "--image-size", "64", "--n-train", "1",
            "--n-test-good", "1", "--n-test-defect", "2", "--categories", "nut,gravel"]
    assert main(argv) == 0
    assert json.loads((out / "dataset.json").read_text())["categories"].keys() == {"nut", "gravel"}
    assert main(argv) == 2
    assert "not empty" in capsys.readouterr().err


def test_supersampled_coverage_matches_area_and_full_canvas():
    """Windowed rendering equals drawing the whole canvas, and coverage integrates to the analytic area."""
    circle = ellipse_points((40.3, 50.7), 17.2, n=720)
    coverage = polygon_coverage(96, [circle])
    # cv2 also fills the boundary pixels of the supersampled canvas: shapes grow by <= half a sub-pixel
    area, perimeter, ss = np.pi * 17.2 ** 2, 2 * np.pi * 17.2, 4
    assert area <= coverage.sum() <= area + perimeter * 0.6 / ss
    canvas = np.zeros((96 * ss, 96 * ss), np.uint8)
    cv2.fillPoly(canvas, [np.round((circle * ss - 0.5) * 16).astype(np.int32)], 255, cv2.LINE_8, shift=4)
    full = cv2.resize(canvas.astype(np.float32) / 255, (96, 96), interpolation=cv2.INTER_AREA)
    np.testing.assert_allclose(coverage, full, atol=1e-6)
    for width in (0.5, 1.0, 1.5, 2.0):  # stroke widths are exact up to the same half sub-pixel per side
        line = stroke_coverage(96, np.array([[10.0, 10.0], [80.0, 10.0]]), width)
        assert width <= line[:, 40].sum() <= width + 1.1 / ss
