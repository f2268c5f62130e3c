"""Official count table, per-category comparison, and the ``uasbench data check`` command."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.layouts import make_btad, make_mvtec
from uasbench.cli import main
from uasbench.datasets.benchmarks.counts import (
    OFFICIAL_COUNTS,
    CategoryCounts,
    compare_with_official,
    format_count_table,
    summary_line,
)

# (classes, train, test good, test defective) as stated in the issue / reference sheet §3
DOCUMENTED_TOTALS = {"mvtec": (15, 3629, 467, 1258), "visa": (12, 8659, 962, 1200), "btad": (3, 1799, 451, 290),
                     "goodsad": (6, 3137, 1328, 1659)}


@pytest.mark.parametrize("dataset", sorted(DOCUMENTED_TOTALS))
def test_per_category_table_adds_up_to_documented_totals(dataset):
    table = OFFICIAL_COUNTS[dataset]
    summed = (len(table), *(sum(c[i] for c in table.values()) for i in range(3)))
    assert summed == DOCUMENTED_TOTALS[dataset]


def test_documented_test_totals():
    assert {d: sum(c.test for c in OFFICIAL_COUNTS[d].values()) for d in OFFICIAL_COUNTS} == {
        "mvtec": 1725, "visa": 2162, "btad": 741, "goodsad": 2987}


def test_compare_flags_each_deviating_category():
    official = OFFICIAL_COUNTS["btad"]
    found = {"01": official["01"], "02": CategoryCounts(398, 30, 200), "04": CategoryCounts(1, 1, 1)}
    rows = {r.category: r for r in compare_with_official("btad", found)}
    assert rows["01"].status == "ok" and not rows["01"].deviates
    assert rows["02"].status == "differs: train good 398 (official 399)" and rows["02"].deviates
    assert rows["03"].status == "missing" and rows["03"].found is None
    assert rows["04"].status == "not an official category"
    assert "3 of 4 categories deviate" in summary_line("btad", list(rows.values()))


def test_category_filter_limits_missing_rows():
    rows = compare_with_official("mvtec", {"bottle": OFFICIAL_COUNTS["mvtec"]["bottle"]}, categories=["bottle"])
    assert [(r.category, r.status) for r in rows] == [("bottle", "ok")]
    assert summary_line("mvtec", rows).endswith("all categories match the official counts")


def test_folder_has_no_reference():
    rows = compare_with_official("folder", {"a": CategoryCounts(1, 2, 3)})
    assert rows[0].status == "-" and not rows[0].deviates
    assert "no official counts" in summary_line("folder", rows)
    table = format_count_table(rows)
    assert table.splitlines()[0].split() == ["category", "train", "good", "test", "good", "test", "defective",
                                             "official", "status"]
    assert table.splitlines()[-1].split() == ["TOTAL", "1", "2", "3", "-"]


def test_cli_check_matching_category_is_ok(tmp_path, capsys):
    official = OFFICIAL_COUNTS["mvtec"]["toothbrush"]  # the smallest class: 60 / 12 / 30
    make_mvtec(tmp_path, spec={"toothbrush": (official.train_good, official.test_good,
                                              {"defective": official.test_defective})}, size=(8, 8))
    code = main(["data", "check", "--dataset", "mvtec", "--root", str(tmp_path), "--categories", "toothbrush",
                 "--json", str(tmp_path / "out" / "counts.json")])
    out = capsys.readouterr().out
    assert code == 0
    assert "toothbrush  60          12         30              60/12/30  ok" in out
    assert "all categories match the official counts" in out
    report = json.loads((tmp_path / "out" / "counts.json").read_text())
    assert report["deviating"] == [] and report["categories"][0]["found"]["train_good"] == 60


def test_cli_check_warns_on_deviation_and_missing_categories(tmp_path, capsys):
    make_btad(tmp_path)
    assert main(["data", "check", "--dataset", "btad", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "differs: train good 2 (official 400), test good 1 (official 21), test defective 2 (official 49)" in out
    assert "WARNING: 3 of 3 categories deviate" in out


def test_cli_check_layout_error_exits_2_naming_the_file(tmp_path, capsys):
    make_mvtec(tmp_path)
    mask = tmp_path / "cable" / "ground_truth" / "bent_wire" / "000_mask.png"
    mask.unlink()
    assert main(["data", "check", "--dataset", "mvtec", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "missing mask" in err and str(tmp_path / "cable" / "test" / "bent_wire" / "000.png") in err


def test_cli_check_missing_root_exits_2(tmp_path, capsys):
    assert main(["data", "check", "--dataset", "visa", "--root", str(tmp_path / "absent")]) == 2
    assert "dataset root not found" in capsys.readouterr().err
