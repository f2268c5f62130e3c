"""Change-pair synthesis (MetaUAS §3.3): COCO mask decoding, pair exactness, the sharded writer, the torch dataset."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from uasbench.cli import main
from uasbench.datasets.change_pairs.dataset import AugmentConfig, ChangePairDataset, augment_pair, visible_after
from uasbench.datasets.change_pairs.generate import (
    INPAINTERS,
    generate_change_pairs,
    get_inpainter,
    local_pair,
    paste_pair,
    register_inpainter,
    removal_pair,
)
from uasbench.datasets.change_pairs.sources import (
    CocoSource,
    EmbeddedSource,
    Scene,
    polygons_to_mask,
    rle_counts_to_string,
    rle_string_to_counts,
    rle_to_mask,
    segmentation_to_mask,
)
from uasbench.errors import ConfigError, DataError


# --------------------------------------------------------------------------------------------- COCO masks
@pytest.mark.parametrize("encoded, counts", [
    ("352", [3, 5, 2]),  # single 5-bit groups, no deltas (first three counts are absolute)
    ("1:2I", [1, 10, 2, 3]),  # 4th count stored as delta 3 - 10 = -7 -> 'I' (sign bit set)
    ("T3", [100]),  # 100 = 4 + 3 * 32: continuation bit on the first group
])
def test_rle_string_decodes_hand_encoded_cases(encoded, counts):
    assert rle_string_to_counts(encoded) == counts
    assert rle_counts_to_string(counts) == encoded


def test_rle_string_round_trips_random_counts():
    rng = np.random.default_rng(0)
    for _ in range(50):
        counts = rng.integers(0, 5000, size=int(rng.integers(1, 40))).tolist()
        assert rle_string_to_counts(rle_counts_to_string(counts)) == counts


def test_rle_to_mask_is_column_major_and_starts_with_zeros():
    mask = rle_to_mask([1, 2, 3], height=2, width=3)
    np.testing.assert_array_equal(mask, [[False, True, False], [True, False, False]])
    with pytest.raises(ValueError, match="sum to 5"):
        rle_to_mask([1, 4], 2, 3)


def test_polygon_rasterisation_uses_pixel_centres():
    square = polygons_to_mask([[1, 1, 5, 1, 5, 5, 1, 5]], 8, 8)  # covers pixels 1..4 in both axes
    expected = np.zeros((8, 8), bool)
    expected[1:5, 1:5] = True
    np.testing.assert_array_equal(square, expected)
    triangle = [10.3, 5.2, 50.7, 12.9, 22.1, 44.6]
    xs, ys = triangle[0::2], triangle[1::2]
    area = 0.5 * abs(np.dot(xs, np.roll(ys, 1)) - np.dot(ys, np.roll(xs, 1)))
    assert abs(polygons_to_mask([triangle], 64, 64).sum() - area) < 0.05 * area


def test_compressed_and_uncompressed_rle_give_the_same_mask():
    counts = [5, 7, 20, 4, 12]
    plain = segmentation_to_mask({"counts": counts, "size": [6, 8]}, 6, 8)
    packed = segmentation_to_mask({"counts": rle_counts_to_string(counts), "size": [6, 8]}, 6, 8)
    np.testing.assert_array_equal(plain, packed)
    assert plain.sum() == 7 + 4


def _write_coco(tmp_path: Path) -> tuple[Path, Path]:
    images = tmp_path / "images"
    images.mkdir()
    cv2.imwrite(str(images / "a.png"), np.full((40, 60, 3), 90, np.uint8))
    counts = [40 * 20, 40 * 10, 40 * 30]  # column-major runs: columns 20..29 are the instance
    anns = [{"id": 1, "image_id": 1, "iscrowd": 0, "segmentation": [[0, 0, 20, 0, 20, 20, 0, 20]]},
            {"id": 2, "image_id": 1, "iscrowd": 0, "segmentation": {"counts": rle_counts_to_string(counts),
                                                                     "size": [40, 60]}},
            {"id": 3, "image_id": 1, "iscrowd": 1, "segmentation": {"counts": [2400], "size": [40, 60]}}]
    ann_path = tmp_path / "instances.json"
    ann_path.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.png", "height": 40, "width": 60}],
                                    "annotations": anns}))
    return images, ann_path


def test_coco_source_decodes_polygon_and_rle_and_skips_crowds(tmp_path):
    images, ann_path = _write_coco(tmp_path)
    scene = CocoSource(images, ann_path, image_size=40).scene_with_instances(np.random.default_rng(0))
    assert scene.image.shape == (40, 40, 3) and len(scene.instances) == 2
    polygon, rle = scene.instances
    assert polygon[:13, :13].all() and not polygon[:, 16:].any()  # 20x20 of 60 wide -> ~13 columns at 40
    assert rle[:, 14:19].all() and not rle[:, :13].any() and not rle[:, 21:].any()


def test_coco_source_errors_name_the_file(tmp_path):
    images, ann_path = _write_coco(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"images": []}))
    with pytest.raises(DataError, match="bad.json.*annotations"):
        CocoSource(images, bad, 32)
    (images / "a.png").unlink()
    with pytest.raises(DataError, match="a.png"):
        CocoSource(images, ann_path, 32).any_image(np.random.default_rng(0))


# --------------------------------------------------------------------------------------------- single pairs
def _changed(pair) -> np.ndarray:
    return (pair.prompt != pair.query).any(-1)


def test_paste_mask_is_exactly_the_changed_pixels():
    rng = np.random.default_rng(3)
    target = rng.integers(0, 100, (64, 64, 3), dtype=np.uint8)
    donor = EmbeddedSource(64).scene_with_instances(rng)
    donor = Scene((donor.image // 2 + 128).astype(np.uint8), donor.instances)  # no pasted pixel equals the target
    for _ in range(10):
        pair = paste_pair(target, donor, rng)
        assert pair.mask.any() and pair.change == "exchange"
        np.testing.assert_array_equal(_changed(pair), pair.mask.astype(bool))


def test_local_mask_is_exactly_the_changed_pixels():
    rng = np.random.default_rng(4)
    base = rng.integers(0, 100, (64, 64, 3), dtype=np.uint8)
    donor = rng.integers(150, 256, (64, 64, 3), dtype=np.uint8)
    swapped = 0
    for _ in range(10):
        pair = local_pair(base, donor, rng)
        assert pair.mask.sum() >= 16 and (pair.kind, pair.change) == ("local", "local")
        np.testing.assert_array_equal(_changed(pair), pair.mask.astype(bool))
        swapped += int(np.array_equal(pair.query, base))
    assert 0 < swapped < 10  # prompt and query are swapped about half the time


def test_removal_mask_is_a_union_of_instances_and_covers_every_change():
    source = EmbeddedSource(64)
    changes = set()
    for seed in range(12):
        rng = np.random.default_rng(seed)
        scene = source.scene_with_instances(rng)
        pair = removal_pair(scene, get_inpainter("telea"), rng)
        changes.add(pair.change)
        mask = pair.mask.astype(bool)
        assert not (_changed(pair) & ~mask).any()  # inpainting touches nothing outside the mask
        assert _changed(pair).sum() > 0.5 * mask.sum()
        assert any(np.array_equal(mask & inst, inst) for inst in scene.instances)
        for inst in scene.instances:  # whole instances only
            assert not (mask & inst).any() or (mask & inst).sum() == inst.sum()
        original = pair.prompt if pair.change == "disappearance" else pair.query
        np.testing.assert_array_equal(original, scene.image)
    assert changes == {"disappearance", "appearance"}


def test_inpainter_registry():
    assert {"telea", "ns"} <= set(INPAINTERS)
    with pytest.raises(ConfigError, match="lama"):
        get_inpainter("lama")


# --------------------------------------------------------------------------------------------- writer
def _generate(out: Path, seed: int = 0, **kwargs):
    options = dict(n_pairs=24, image_size=32, kinds="object,local", val_fraction=0.25, shard_size=10, progress=False)
    options.update(kwargs)
    return generate_change_pairs(out, EmbeddedSource(32), seed=seed, **options)


def test_writer_layout_manifest_and_split(tmp_path):
    manifest = _generate(tmp_path / "pairs")
    assert set(manifest["counts"]["change"]) == {"disappearance", "appearance", "exchange", "local"}
    files = sorted(p.name for p in (tmp_path / "pairs").iterdir())
    assert files == ["manifest.json", "shard-00000.npz", "shard-00001.npz", "shard-00002.npz"]
    assert json.loads((tmp_path / "pairs" / "manifest.json").read_text()) == manifest
    assert manifest["counts"]["total"] == 24 and manifest["counts"]["split"] == {"train": 18, "val": 6}
    assert [r["id"] for r in manifest["pairs"]] == list(range(24))
    with np.load(tmp_path / "pairs" / "shard-00002.npz") as shard:
        assert shard["prompt"].shape == (4, 32, 32, 3) and shard["prompt"].dtype == np.uint8
        assert shard["mask"].shape == (4, 32, 32) and set(np.unique(shard["mask"])) <= {0, 1}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_writer_is_deterministic_and_seed_dependent(tmp_path):
    _generate(tmp_path / "a", seed=5)
    _generate(tmp_path / "b", seed=5)
    _generate(tmp_path / "c", seed=6)
    load = lambda d: np.load(tmp_path / d / "shard-00000.npz")["query"]  # noqa: E731
    np.testing.assert_array_equal(load("a"), load("b"))
    assert not np.array_equal(load("a"), load("c"))


def test_writer_output_does_not_depend_on_the_number_of_workers(tmp_path):
    """Pairs are synthesized in worker processes; the shards and manifest are byte-identical to one process."""
    _generate(tmp_path / "one", seed=5, workers=1)
    _generate(tmp_path / "three", seed=5, workers=3)
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "three").iterdir()) and len(names) >= 3
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "three" / name).read_bytes(), name


def test_writer_refuses_overwrite_and_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "pairs"
    _generate(out, n_pairs=4)
    with pytest.raises(DataError, match="--force"):
        _generate(out, n_pairs=4)
    _generate(out, n_pairs=6, force=True)
    assert json.loads((out / "manifest.json").read_text())["counts"]["total"] == 6

    @register_inpainter("broken-for-test")
    def broken(image, mask):
        raise RuntimeError("inpainter failed")

    try:
        with pytest.raises(RuntimeError):
            _generate(tmp_path / "never", n_pairs=30, inpainter="broken-for-test")
    finally:
        INPAINTERS.pop("broken-for-test")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs"]


def test_writer_rejects_bad_arguments(tmp_path):
    with pytest.raises(ConfigError, match="kinds"):
        _generate(tmp_path / "x", kinds="object,global")
    with pytest.raises(ConfigError, match="val_fraction"):
        _generate(tmp_path / "x", val_fraction=1.0)


def test_cli_make_change_pairs(tmp_path, capsys):
    args = ["data", "make-change-pairs", "--out", str(tmp_path / "p"), "--n-pairs", "5", "--image-size", "32",
            "--kinds", "object", "--quiet"]
    assert main(args) == 0
    assert "wrote 5 pairs" in capsys.readouterr().out
    assert main(args) == 2
    assert "--force" in capsys.readouterr().err
    assert main(args + ["--force"]) == 0
    assert main(args + ["--force", "--coco-images", str(tmp_path)]) == 2
    images, ann_path = _write_coco(tmp_path)
    assert main(args + ["--force", "--coco-images", str(images), "--coco-annotations", str(ann_path),
                        "--sampling", "legacy"]) == 0  # one image: only the legacy sampling reuses it
    manifest = json.loads((tmp_path / "p" / "manifest.json").read_text())
    assert manifest["source"]["name"] == "coco" and manifest["counts"]["total"] == 5


# --------------------------------------------------------------------------------------------- torch dataset
@pytest.fixture(scope="module")
def pair_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pairs") / "set"
    _generate(root, n_pairs=40, val_fraction=0.1)
    return root


def test_dataset_items_without_augmentation_are_the_stored_arrays(pair_root):
    data = ChangePairDataset(pair_root, split="val", augment=False)
    assert len(data) == 4
    prompt, query, mask = data[1]
    assert prompt.shape == (3, 32, 32) and query.dtype == torch.float32 and mask.shape == (1, 32, 32)
    row = data.rows[1]
    with np.load(pair_root / f"shard-{row['shard']:05d}.npz") as shard:
        np.testing.assert_allclose(query.permute(1, 2, 0).numpy() * 255, shard["query"][row["index"]], atol=1e-3)
        np.testing.assert_array_equal(mask[0].numpy(), shard["mask"][row["index"]])


def test_dataset_augmentation_is_deterministic_per_seed_epoch_index(pair_root):
    data = ChangePairDataset(pair_root, seed=1)
    first = data[3]
    assert all(torch.equal(a, b) for a, b in zip(first, ChangePairDataset(pair_root, seed=1)[3]))
    data.set_epoch(1)
    assert not torch.equal(first[1], data[3][1])
    assert all(0.0 <= t.min() and t.max() <= 1.0 for t in data[3])
    assert set(torch.unique(data[3][2]).tolist()) <= {0.0, 1.0}


def test_dataset_fraction_is_a_nested_seeded_subset_and_kinds_filter(pair_root):
    full = ChangePairDataset(pair_root, augment=False)
    half = ChangePairDataset(pair_root, augment=False, fraction=0.5)
    tenth = ChangePairDataset(pair_root, augment=False, fraction=0.1)
    ids = lambda d: {r["id"] for r in d.rows}  # noqa: E731
    assert len(full) == 36 and len(half) == 18 and len(tenth) == 4
    assert ids(tenth) < ids(half) < ids(full)
    local = ChangePairDataset(pair_root, augment=False, kinds=("local",))
    obj = ChangePairDataset(pair_root, augment=False, kinds="object")
    assert len(local) + len(obj) == 36 and len(local) > 5 and len(obj) > 5
    assert {r["kind"] for r in local.rows} == {"local"} and {r["kind"] for r in obj.rows} == {"object"}
    with pytest.raises(DataError, match="fraction"):
        ChangePairDataset(pair_root, fraction=0.0)
    assert ChangePairDataset(pair_root, augment=False, image_size=48)[0][0].shape == (3, 48, 48)


def test_visible_after_marks_pixels_that_stay_in_view():
    shift = np.array([[1.0, 0, 10], [0, 1.0, 0]])
    visible = visible_after(shift, (32, 32))
    assert visible[:, :22].all() and not visible[:, 22:].any()
    assert visible_after(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (32, 32)).all()


def test_augmented_mask_follows_the_query():
    rng = np.random.default_rng(0)
    no_jitter = AugmentConfig(brightness=0, contrast=0, saturation=0, hue=0)
    for _ in range(10):
        mask = np.zeros((64, 64), np.uint8)
        mask[20:44, 16:40] = 1
        query = np.repeat(mask[:, :, None] * 255, 3, axis=2)
        prompt, query_t, mask_t = augment_pair(np.zeros_like(query), query, mask, rng, no_jitter)
        kept = mask_t[0].bool()
        assert kept.sum() > 0
        assert (query_t[0][kept] > 0.5).float().mean() > 0.95
        assert prompt.abs().max() == 0
