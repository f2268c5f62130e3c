"""Table summaries and renderers: mean ± std over seeds, and the three output formats agree on content."""

import math

import pandas as pd

from uasbench.reports.tables import Table, fmt_percent, mean_std, to_csv, to_latex, to_markdown


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
    assert csv.splitlines()[0] == "# tier: embedded (50% size)" and "metauas_best,59.3 ± 1.4" in csv
