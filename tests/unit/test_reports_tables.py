"""Table summaries and renderers: mean ± std over seeds, and the output formats agree on content."""

import io
import json
import math

import pandas as pd

from uasbench.reports.tables import (
    Table,
    fmt_percent,
    fmt_plain,
    mean_std,
    to_csv,
    to_html,
    to_json,
    to_latex,
    to_markdown,
)


def test_mean_std_over_seeds_uses_sample_std_and_ignores_nan():
    mean, std = mean_std(pd.Series([0.90, 0.92, float("nan"), 0.94]))
    assert math.isclose(mean, 0.92) and math.isclose(std, 0.02)
    assert mean_std(pd.Series([0.5])) == (0.5, None)
    assert math.isnan(mean_std(pd.Series([], dtype=float))[0])


def test_percent_formatting():
    assert fmt_percent(0.9071, 0.0069) == "90.7 ± 0.7"
    assert fmt_percent(0.5, None) == "50.0"
    assert fmt_percent(float("nan"), None) == "–"


def test_renderers_carry_notes_rows_and_escape_latex():
    table = Table("T_1 & co", ["Method", "P-AP"], [["metauas_best", "59.3 ± 1.4"]], ["tier: embedded (50% size)"])
    md, tex, csv = to_markdown(table), to_latex(table), to_csv(table)
    assert "| metauas_best | 59.3 ± 1.4 |" in md and "> tier: embedded" in md
    assert r"metauas\_best & 59.3 $\pm$ 1.4 \\" in tex and r"T\_1 \& co" in tex and r"50\%" in tex
    assert csv.splitlines()[0] == "Method,P-AP" and "metauas_best,59.3 ± 1.4" in csv  # a string cell stays text


def _main_table() -> Table:
    """Two rows of the published embedded main table (README), built the way reports/build.py builds them."""
    seeds = pd.Series([0.59, 0.62, 0.64, 0.60, 0.61])
    return Table("Main", ["Method", "Seeds", "I-AUROC", "P-AP", "ms @ b1"],
                 [["MetaUAS", 5, fmt_percent(*mean_std(seeds)), fmt_percent(0.257, None), fmt_plain(12.345, 1)],
                  ["UniAD", 1, fmt_percent(0.557, None), "–", fmt_plain(float("nan"), 1)]],
                 ["config tier: embedded", "metric protocol: official"])


def test_csv_is_machine_readable_while_markdown_keeps_its_text():
    table = _main_table()
    assert to_markdown(table).splitlines()[-2] == "| MetaUAS | 5 | 61.2 ± 1.9 | 25.7 | 12.3 |"
    text = to_csv(table, {"tier": "embedded", "metric_protocol": "official"})
    assert not any(line.startswith("#") for line in text.splitlines()) and "±" not in text
    frame = pd.read_csv(io.StringIO(text))
    assert list(frame.columns) == ["Method", "Seeds", "I-AUROC", "I-AUROC_std", "P-AP", "ms @ b1", "tier",
                                   "metric_protocol"]
    for column in ("I-AUROC", "I-AUROC_std", "P-AP", "ms @ b1"):
        assert frame[column].dtype == float, (column, frame[column].dtype)
    assert frame["I-AUROC"].tolist() == [61.2, 55.7] and math.isclose(frame["I-AUROC_std"][0], 1.9235, abs_tol=1e-4)
    assert math.isnan(frame["I-AUROC_std"][1]) and math.isnan(frame["P-AP"][1]) and frame["ms @ b1"][0] == 12.345
    assert set(frame["tier"]) == {"embedded"} and set(frame["metric_protocol"]) == {"official"}


def test_json_sidecar_and_html_carry_the_banner():
    table = _main_table()
    sidecar = json.loads(to_json(table, {"tier": "embedded"}))
    assert sidecar["tier"] == "embedded" and sidecar["notes"] == table.notes and sidecar["title"] == "Main"
    page = to_html(Table("A < B", ["Method", "P-AP"], [["x & y", fmt_percent(0.5, 0.01)]], ["tier: <ci>"]))
    assert page.startswith("<!DOCTYPE html>") and "<title>A &lt; B</title>" in page
    assert "<td>x &amp; y</td><td>50.0 ± 1.0</td>" in page and "tier: &lt;ci&gt;" in page
