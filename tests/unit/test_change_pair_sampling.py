"""Change-pair sampling: the change-type shares of the plan, distinct source images under the paper sampling, the
error when the pool is too small, the same bytes for any worker count, and legacy == the sampler it replaced."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from uasbench.cli import main
from uasbench.datasets.change_pairs.generate import generate_change_pairs
from uasbench.datasets.change_pairs.sampling import image_order, planned_changes
from uasbench.datasets.change_pairs.sources import CocoSource, EmbeddedSource
from uasbench.errors import ConfigError

DRAWS = 2000


def _within_binomial(count: int, n: int, p: float, sigmas: float = 4.0) -> bool:
    return abs(count - n * p) <= sigmas * (n * p * (1 - p)) ** 0.5


@pytest.mark.parametrize("kinds, shares", [
    (("object", "local"), {"local": 0.5, "paste": 0.25, "removal": 0.25}),  # object vs local p=0.5; paste p=0.5
    (("object",), {"local": 0.0, "paste": 0.5, "removal": 0.5}),
    (("local",), {"local": 1.0, "paste": 0.0, "removal": 0.0}),
])
def test_planned_change_shares_are_within_binomial_tolerance(kinds, shares):
    plan = planned_changes(kinds, seed=3, pair_ids=range(DRAWS))
    for change, p in shares.items():
        assert _within_binomial(plan.count(change), DRAWS, p), (change, plan.count(change))


def test_image_order_is_distinct_seeded_and_refuses_more_pairs_than_images():
    order = image_order(seed=1, n_pairs=900, pool_size=1000)
    assert len(set(order.tolist())) == 900 and order.min() >= 0 and order.max() < 1000
    np.testing.assert_array_equal(order, image_order(seed=1, n_pairs=900, pool_size=1000))
    assert not np.array_equal(order, image_order(seed=2, n_pairs=900, pool_size=1000))
    assert image_order(seed=1, n_pairs=10**6, pool_size=None) is None  # procedural scenes: no pool to exhaust
    with pytest.raises(ConfigError, match=r"n_pairs is 1001 but the source has only 1000 distinct images"):
        image_order(seed=1, n_pairs=1001, pool_size=1000)


def _write_coco_pool(root: Path, n_images: int) -> tuple[Path, Path]:
    """``n_images`` 24x24 images with one square instance each (a COCO instances file for them)."""
    images = root / "images"
    images.mkdir(parents=True)
    rng = np.random.default_rng(0)
    entries, anns = [], []
    for k in range(n_images):
        cv2.imwrite(str(images / f"{k}.png"), rng.integers(0, 255, (24, 24, 3), dtype=np.uint8))
        entries.append({"id": k + 1, "file_name": f"{k}.png", "height": 24, "width": 24})
        anns.append({"id": k + 1, "image_id": k + 1, "iscrowd": 0, "segmentation": [[4, 4, 16, 4, 16, 16, 4, 16]]})
    ann_path = root / "instances.json"
    ann_path.write_text(json.dumps({"images": entries, "annotations": anns}))
    return images, ann_path


def test_paper_sampling_uses_each_coco_image_once_and_follows_the_plan(tmp_path):
    images, ann_path = _write_coco_pool(tmp_path, 30)
    source = CocoSource(images, ann_path, image_size=32)
    manifest = generate_change_pairs(tmp_path / "paper", source, n_pairs=30, seed=4, image_size=32,
                                     val_fraction=0.1, shard_size=8, progress=False, sampling="paper")
    assert manifest["sampling"] == "paper"
    assert sorted(row["image"] for row in manifest["pairs"]) == list(range(30))  # every image exactly once
    expected = {"local": {"local"}, "paste": {"exchange"}, "removal": {"disappearance", "appearance"}}
    plan = planned_changes(("object", "local"), seed=4, pair_ids=range(30))
    assert all(row["change"] in expected[change] for row, change in zip(manifest["pairs"], plan))
    legacy = generate_change_pairs(tmp_path / "legacy", source, n_pairs=30, seed=4, image_size=32,
                                   val_fraction=0.1, shard_size=8, progress=False, sampling="legacy")
    assert legacy["sampling"] == "legacy" and "image" not in legacy["pairs"][0]


def test_paper_sampling_with_too_few_images_fails_before_writing(tmp_path, capsys):
    images, ann_path = _write_coco_pool(tmp_path, 3)
    out = tmp_path / "pairs"

    def make(n_pairs: int, *extra: str) -> int:
        return main(["data", "make-change-pairs", "--out", str(out), "--n-pairs", str(n_pairs), "--image-size", "32",
                     "--quiet", "--coco-images", str(images), "--coco-annotations", str(ann_path), "--workers", "1",
                     *extra])

    assert make(4) == 2  # the paper sampling is the default
    assert "n_pairs is 4 but the source has only 3 distinct images" in capsys.readouterr().err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert make(4, "--sampling", "legacy") == 0  # with replacement, 4 pairs from 3 images is fine
    assert make(3, "--force") == 0  # paper: 3 pairs from 3 images
    assert sorted(row["image"] for row in json.loads((out / "manifest.json").read_text())["pairs"]) == [0, 1, 2]


@pytest.mark.parametrize("sampling", ["paper", "legacy"])
def test_output_is_byte_identical_for_any_worker_count(tmp_path, sampling):
    images, ann_path = _write_coco_pool(tmp_path, 24)
    source = CocoSource(images, ann_path, image_size=32)
    for name, workers in (("one", 1), ("three", 3)):
        generate_change_pairs(tmp_path / name, source, n_pairs=20, seed=7, image_size=32, shard_size=6,
                              progress=False, workers=workers, sampling=sampling)
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "three").iterdir()) and len(names) == 5
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "three" / name).read_bytes(), name


def _shard_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.glob("shard-*.npz")):
        with np.load(path) as shard:
            for key in ("prompt", "query", "mask"):
                digest.update(shard[key].tobytes())
    return digest.hexdigest()


def test_legacy_sampling_writes_the_pairs_of_the_sampler_it_replaced(tmp_path):
    """The embedded and ci tiers keep ``legacy``: its pairs are those the golden regression files were made from
    (digest recorded with the sampler before the ``sampling`` key existed, seed 0, 12 pairs at 32 px)."""
    generate_change_pairs(tmp_path / "p", EmbeddedSource(32), n_pairs=12, seed=0, image_size=32, shard_size=5,
                          progress=False, sampling="legacy")
    assert _shard_digest(tmp_path / "p") == "6402f807bf5cb2dce9c0e67e623866e41de7f4f48d5206d32f20257884023dbd"
