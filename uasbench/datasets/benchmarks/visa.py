"""VisA in its original release layout (VisA_20220922), split by ``split_csv/1cls.csv`` as MetaUAS/OneNIP do.

Images ``<cat>/Data/Images/{Normal,Anomaly}/*.JPG``, masks ``<cat>/Data/Masks/Anomaly/*.png`` holding small class
ids (they look black, so :func:`uasbench.datasets.read_mask` reads them as a label map: any non-zero id is defect).
The csv has the columns ``object,split,label,image,mask`` with paths relative to the root; ``label`` is
``normal``/``anomaly``.
Anomalous samples get the defect type ``"bad"``, as the official ``prepare_data.py`` names its 1cls folders.
"""

from __future__ import annotations

import csv
from pathlib import Path

from uasbench.datasets.benchmarks.folder import check_root, raise_problems
from uasbench.datasets.benchmarks.sample import GOOD, SPLITS, Sample
from uasbench.errors import DataError

SPLIT_CSV = Path("split_csv") / "1cls.csv"
CSV_COLUMNS = ("object", "split", "label", "image", "mask")
LABELS = {"normal": 0, "anomaly": 1}
ANOMALY_TYPE = "bad"


def read_split_csv(csv_path: Path) -> list[dict[str, str]]:
    """The rows of VisA's split file; a missing file or missing columns is a DataError that says what to use."""
    if not csv_path.is_file():
        raise DataError(f"{csv_path}: VisA split file not found (the original VisA release has "
                        f"split_csv/1cls.csv under its root; for the prepared MVTec-style copy use --dataset folder)")
    with csv_path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{csv_path}: missing column(s) {', '.join(missing)} (expected {','.join(CSV_COLUMNS)})")
        return list(reader)


def _row_sample(root: Path, row: dict[str, str], where: str, problems: list[str]) -> Sample | None:
    split, label_name = row["split"].strip(), row["label"].strip()
    if split not in SPLITS or label_name not in LABELS:
        problems.append(f"{where}: bad split/label {split!r}/{label_name!r} (expected train|test, normal|anomaly)")
        return None
    label = LABELS[label_name]
    image = root / row["image"].strip()
    mask_name = (row["mask"] or "").strip()
    if not image.is_file():
        problems.append(f"{image}: image listed in {where} not found")
    mask = None
    if label == 1:
        if not mask_name:
            problems.append(f"{image}: missing mask (anomalous row {where} has an empty mask column)")
        else:
            mask = root / mask_name
            if not mask.is_file():
                problems.append(f"{mask}: missing mask for {image}")
    return Sample(image, mask, label, row["object"].strip(), GOOD if label == 0 else ANOMALY_TYPE, split)


def load_visa(root: str | Path, splits: tuple[str, ...], categories: list[str] | None = None,
              split_csv: Path = SPLIT_CSV) -> list[Sample]:
    """VisA samples of the chosen splits and categories as ``split_csv`` lists them; every problem (missing
    file, bad row, empty split) is collected and raised at once."""
    root = check_root(root)
    csv_path = root / split_csv
    rows = read_split_csv(csv_path)
    available = sorted({row["object"].strip() for row in rows})
    if not available:
        raise DataError(f"{csv_path}: no rows")
    if categories is not None:
        unknown = [c for c in categories if c not in available]
        if unknown:
            raise DataError(f"{csv_path}: category {', '.join(map(repr, unknown))} not in the split file "
                            f"(available: {', '.join(available)})")
    chosen = set(categories) if categories is not None else set(available)
    problems: list[str] = []
    samples: list[Sample] = []
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        split = row["split"].strip()
        if row["object"].strip() not in chosen or (split in SPLITS and split not in splits):
            continue  # an unknown split value is still reported by _row_sample
        sample = _row_sample(root, row, f"{csv_path}:{line}", problems)
        if sample is not None:
            samples.append(sample)
    for category in sorted(chosen):
        for split in splits:
            if not any(s.category == category and s.split == split for s in samples):
                problems.append(f"{csv_path}: category '{category}' has no {split} images")
    raise_problems(problems, f"visa root {root}")
    return samples
