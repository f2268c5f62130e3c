"""Official per-category image counts, and the comparison ``uasbench data check`` prints.

Sources (re-counted from the public split files, not typed from papers): MVTec AD from UniAD
``data/MVTec-AD/{train,test}.json``; VisA from ``split_csv/1cls.csv`` of amazon-science/spot-diff; BTAD and
GoodsAD from MetaUAS ``data/{BT-AD,GoodsAD}/{train,test}.json``. Totals agree with the project's reference
notes on baselines, metrics and datasets (§3; a unit test re-adds them).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, NamedTuple

from uasbench.datasets.benchmarks.sample import Sample


class CategoryCounts(NamedTuple):
    """Image counts of one category: train good, test good, test defective (``test`` is their sum)."""

    train_good: int
    test_good: int
    test_defective: int

    @property
    def test(self) -> int:
        return self.test_good + self.test_defective


def _table(rows: dict[str, tuple[int, int, int]]) -> dict[str, CategoryCounts]:
    return {name: CategoryCounts(*row) for name, row in rows.items()}


OFFICIAL_COUNTS: dict[str, dict[str, CategoryCounts]] = {
    "mvtec": _table({
        "bottle": (209, 20, 63), "cable": (224, 58, 92), "capsule": (219, 23, 109), "carpet": (280, 28, 89),
        "grid": (264, 21, 57), "hazelnut": (391, 40, 70), "leather": (245, 32, 92), "metal_nut": (220, 22, 93),
        "pill": (267, 26, 141), "screw": (320, 41, 119), "tile": (230, 33, 84), "toothbrush": (60, 12, 30),
        "transistor": (213, 60, 40), "wood": (247, 19, 60), "zipper": (240, 32, 119),
    }),
    "visa": _table({
        "candle": (900, 100, 100), "capsules": (542, 60, 100), "cashew": (450, 50, 100),
        "chewinggum": (453, 50, 100), "fryum": (450, 50, 100), "macaroni1": (900, 100, 100),
        "macaroni2": (900, 100, 100), "pcb1": (904, 100, 100), "pcb2": (901, 100, 100), "pcb3": (905, 101, 100),
        "pcb4": (904, 101, 100), "pipe_fryum": (450, 50, 100),
    }),
    "btad": _table({"01": (400, 21, 49), "02": (399, 30, 200), "03": (1000, 400, 41)}),
    "goodsad": _table({
        "cigarette_box": (183, 183, 246), "drink_bottle": (733, 356, 425), "drink_can": (235, 147, 146),
        "food_bottle": (1014, 243, 361), "food_box": (432, 146, 251), "food_package": (540, 253, 230),
    }),
}


def count_samples(samples: Iterable[Sample]) -> dict[str, CategoryCounts]:
    """Per-category (train good, test good, test defective), categories sorted."""
    tally: Counter[tuple[str, str]] = Counter()
    categories: set[str] = set()
    for s in samples:
        categories.add(s.category)
        key = "train_good" if s.split == "train" else ("test_good" if s.label == 0 else "test_defective")
        tally[(s.category, key)] += 1
    return {c: CategoryCounts(*(tally[(c, f)] for f in CategoryCounts._fields)) for c in sorted(categories)}


@dataclass(frozen=True)
class CountRow:
    """One line of the ``data check`` table: what was found, what is official, and the verdict."""

    category: str
    found: CategoryCounts | None  # None: an official category absent from the folder
    official: CategoryCounts | None  # None: no official reference (user folder, extra category)
    status: str

    @property
    def deviates(self) -> bool:
        return self.status not in ("ok", "-")


def _status(found: CategoryCounts | None, official: CategoryCounts | None, has_reference: bool) -> str:
    if not has_reference:
        return "-"
    if found is None:
        return "missing"
    if official is None:
        return "not an official category"
    diffs = [f"{field.replace('_', ' ')} {got} (official {want})"
             for field, got, want in zip(CategoryCounts._fields, found, official) if got != want]
    return "ok" if not diffs else "differs: " + ", ".join(diffs)


def compare_with_official(dataset: str, found: dict[str, CategoryCounts],
                          categories: list[str] | None = None) -> list[CountRow]:
    """One row per category found or officially expected (restricted to ``categories`` when given)."""
    reference = OFFICIAL_COUNTS.get(dataset)
    expected = reference or {}
    names = set(found) | {c for c in expected if categories is None or c in categories}
    return [CountRow(c, found.get(c), expected.get(c), _status(found.get(c), expected.get(c), reference is not None))
            for c in sorted(names)]


def _fmt(counts: CategoryCounts | None) -> list[str]:
    return ["-"] * 3 if counts is None else [str(v) for v in counts]


def format_count_table(rows: list[CountRow]) -> str:
    """Plain aligned text: category, train good, test good, test defective, official (train/good/defective), status."""
    header = ["category", "train good", "test good", "test defective", "official", "status"]
    body = [[r.category, *_fmt(r.found), "/".join(_fmt(r.official)) if r.official else "-", r.status] for r in rows]
    totals = [sum(r.found[i] for r in rows if r.found) for i in range(3)]
    official_rows = [r.official for r in rows if r.official]
    official_total = "/".join(str(sum(o[i] for o in official_rows)) for i in range(3)) if official_rows else "-"
    body.append(["TOTAL", *map(str, totals), official_total, ""])
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary_line(dataset: str, rows: list[CountRow]) -> str:
    """One line of totals and, where official counts exist, whether any category deviates (named), so the
    verdict is readable without the table."""
    found = [r.found for r in rows if r.found]
    train = sum(c.train_good for c in found)
    test_good, test_bad = sum(c.test_good for c in found), sum(c.test_defective for c in found)
    head = (f"{dataset}: {len(found)} categories, {train} train / {test_good + test_bad} test "
            f"({test_good} good + {test_bad} defective)")
    if dataset not in OFFICIAL_COUNTS:
        return f"{head}; no official counts to compare with"
    bad = [r.category for r in rows if r.deviates]
    if not bad:
        return f"{head}; all categories match the official counts"
    return f"{head}; WARNING: {len(bad)} of {len(rows)} categories deviate from the official counts: {', '.join(bad)}"
