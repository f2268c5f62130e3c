"""Benchmark layouts at the official per-category counts (tiny placeholder bytes: the completeness check counts
files, it does not decode them), as the archives of the real releases hold them."""

from __future__ import annotations

from uasbench.datasets.benchmarks.counts import OFFICIAL_COUNTS

PIXEL = b"\x89PNG placeholder"


def mvtec_members(drop: int = 0) -> dict[str, bytes]:
    """MVTec AD at the archive root: <cls>/{train/good,test/good,test/crack,ground_truth/crack}; ``drop`` leaves
    out that many training images of the first class (a half-extracted copy)."""
    members = {}
    for i, (cls, counts) in enumerate(OFFICIAL_COUNTS["mvtec"].items()):
        for n in range(counts.train_good - (drop if i == 0 else 0)):
            members[f"{cls}/train/good/{n:03d}.png"] = PIXEL
        for n in range(counts.test_good):
            members[f"{cls}/test/good/{n:03d}.png"] = PIXEL
        for n in range(counts.test_defective):
            members[f"{cls}/test/crack/{n:03d}.png"] = PIXEL
            members[f"{cls}/ground_truth/crack/{n:03d}_mask.png"] = PIXEL
    return members


def visa_members() -> dict[str, bytes]:
    """VisA's raw layout with split_csv/1cls.csv (object,split,label,image,mask), archive root = dataset root."""
    members, rows = {}, ["object,split,label,image,mask"]
    for cls, counts in OFFICIAL_COUNTS["visa"].items():
        for split, label, count in (("train", "normal", counts.train_good), ("test", "normal", counts.test_good),
                                    ("test", "anomaly", counts.test_defective)):
            for n in range(count):
                folder = "Normal" if label == "normal" else "Anomaly"
                image = f"{cls}/Data/Images/{folder}/{split}{n:04d}.JPG"
                mask = f"{cls}/Data/Masks/Anomaly/{split}{n:04d}.png" if label == "anomaly" else ""
                members[image] = PIXEL
                if mask:
                    members[mask] = PIXEL
                rows.append(f"{cls},{split},{label},{image},{mask}")
    members["split_csv/1cls.csv"] = ("\n".join(rows) + "\n").encode()
    return members


def btad_members() -> dict[str, bytes]:
    """BTAD under BTech_Dataset_transformed/: 01 and 03 images .bmp, 02 .png; masks 01/02 .png, 03 .bmp."""
    image_ext, mask_ext = {"01": "bmp", "02": "png", "03": "bmp"}, {"01": "png", "02": "png", "03": "bmp"}
    members = {}
    for cls, counts in OFFICIAL_COUNTS["btad"].items():
        top = f"BTech_Dataset_transformed/{cls}"
        for n in range(counts.train_good):
            members[f"{top}/train/ok/{n:04d}.{image_ext[cls]}"] = PIXEL
        for n in range(counts.test_good):
            members[f"{top}/test/ok/{n:04d}.{image_ext[cls]}"] = PIXEL
        for n in range(counts.test_defective):
            members[f"{top}/test/ko/{n:04d}.{image_ext[cls]}"] = PIXEL
            members[f"{top}/ground_truth/ko/{n:04d}.{mask_ext[cls]}"] = PIXEL
    return members
