"""Summaries (mean ± std over prompt seeds) and renderers to Markdown, LaTeX and CSV."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd


@dataclass
class Table:
    """A rendered-agnostic table: header lines (tier, protocol, weights), column names and rows of cells."""

    title: str
    columns: list[str]
    rows: list[list[object]]
    notes: list[str] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=self.columns)


def mean_std(values: pd.Series) -> tuple[float, float | None]:
    v = values.dropna().astype(float)
    if v.empty:
        return math.nan, None
    return float(v.mean()), (float(v.std(ddof=1)) if len(v) > 1 else None)


def fmt_percent(mean: float, std: float | None) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    return f"{100 * mean:.1f}" + (f" ± {100 * std:.1f}" if std is not None else "")


def fmt_plain(value: float, digits: int = 2) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def to_markdown(table: Table) -> str:
    lines = [f"### {table.title}", ""] + [f"> {n}" for n in table.notes] + ([""] if table.notes else [])
    lines.append("| " + " | ".join(table.columns) + " |")
    lines.append("|" + "|".join("---" for _ in table.columns) + "|")
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in table.rows]
    return "\n".join(lines) + "\n"


def _tex_escape(text: object) -> str:
    s = str(text)
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"),
                 ("±", r"$\pm$"), ("–", "--"), ("→", r"$\rightarrow$")):
        s = s.replace(a, b)
    return s


def to_latex(table: Table) -> str:
    spec = "l" + "c" * (len(table.columns) - 1)
    lines = [f"% {_tex_escape(n)}" for n in table.notes]
    lines += [r"\begin{table}[t]", r"\centering", rf"\caption{{{_tex_escape(table.title)}}}",
              rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
              " & ".join(_tex_escape(c) for c in table.columns) + r" \\", r"\midrule"]
    lines += [" & ".join(_tex_escape(c) for c in row) + r" \\" for row in table.rows]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def to_csv(table: Table) -> str:
    header = "".join(f"# {n}\n" for n in table.notes)
    return header + table.frame().to_csv(index=False)
