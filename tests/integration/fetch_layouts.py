"""Benchmark layouts at the official per-category counts (tiny placeholder bytes: the completeness check counts
files, it does not decode them), as the archives of the real releases hold them."""

from __future__ import annotations

from uasbench.datasets.benchmarks.counts import OFFICIAL_COUNTS

PIXEL = b"\x89PNG placeholder"


def _mvtec_style(dataset: str, top: str, good: str, defect: str, image, mask, drop: int = 0) -> dict[str, bytes]:
    """<top><cls>/{train/<good>,test/<good>,test/<defect>,ground_truth/<defect>} at the official counts;
    ``image(cls, n)`` / ``mask(cls, n)`` name the files; ``drop`` training images of the first class left out."""
    members = {}
    for i, (cls, counts) in enumerate(OFFICIAL_COUNTS[dataset].items()):
        for split, folder, count in (("train", good, counts.train_good - (drop if i == 0 else 0)),
                                     ("test", good, counts.test_good), ("test", defect, counts.test_defective)):
            for n in range(count):
                members[f"{top}{cls}/{split}/{folder}/{image(cls, n)}"] = PIXEL
                if folder == defect:
                    members[f"{top}{cls}/ground_truth/{defect}/{mask(cls, n)}"] = PIXEL
    return members


def mvtec_members(drop: int = 0) -> dict[str, bytes]:
    """MVTec AD at the archive root (masks <stem>_mask.png); ``drop``: a half-extracted copy."""
    return _mvtec_style("mvtec", "", "good", "crack", lambda c, n: f"{n:03d}.png", lambda c, n: f"{n:03d}_mask.png",
                        drop)


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
    return _mvtec_style("btad", "BTech_Dataset_transformed/", "ok", "ko", lambda c, n: f"{n:04d}.{image_ext[c]}",
                        lambda c, n: f"{n:04d}.{mask_ext[c]}")
