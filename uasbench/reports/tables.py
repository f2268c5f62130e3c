"""Summaries (mean ± std over prompt seeds) and renderers to Markdown, LaTeX, HTML, CSV and a JSON sidecar.

Markdown, LaTeX and HTML print the formatted cells ("61.1 ± 2.0"); CSV is for programs: the numbers behind each
formatted cell in numeric ``<column>`` (mean) and ``<column>_std`` columns, tier/protocol as columns, no banner
(the banner lines go to the ``.json`` sidecar).
"""

from __future__ import annotations

import html
import json
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


MISSING = "–"


class Stat(str):
    """A formatted cell that keeps the numbers it shows, so the CSV gets floats while Markdown stays as it was."""

    mean: float
    std: float | None

    def __new__(cls, text: str, mean: float | None = None, std: float | None = None) -> Stat:  # defaults: pickle
        cell = super().__new__(cls, text)
        cell.mean = math.nan if mean is None else float(mean)
        cell.std = None if std is None else float(std)
        return cell


NO_NUMBER = Stat(MISSING, None)  # a number that is missing: "–" in text, empty in the CSV


def mean_std(values: pd.Series) -> tuple[float, float | None]:
    v = values.dropna().astype(float)
    if v.empty:
        return math.nan, None
    return float(v.mean()), (float(v.std(ddof=1)) if len(v) > 1 else None)


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_percent(mean: float, std: float | None) -> Stat:
    """A fraction as "61.1 ± 2.0" (percent); the cell keeps 100 * mean and 100 * std unrounded."""
    if _missing(mean):
        return Stat(MISSING, None)
    return Stat(f"{100 * mean:.1f}" + (f" ± {100 * std:.1f}" if std is not None else ""), 100 * mean,
                None if std is None else 100 * std)


def fmt_plain(value: float, digits: int = 2) -> Stat:
    return Stat(MISSING, None) if _missing(value) else Stat(f"{value:.{digits}f}", value)


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


def _esc(cell: object) -> str:
    return html.escape(str(cell))


def to_html(table: Table) -> str:
    """A standalone page (what Snakemake's report shows; it does not render Markdown)."""
    rows = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>\n" for row in table.rows)
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{_esc(table.title)}</title>\n<style>table{{border-collapse:collapse}}"
            "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td:first-child{text-align:left}</style>"
            f"</head><body>\n<h3>{_esc(table.title)}</h3>\n"
            + "".join(f"<p><em>{_esc(n)}</em></p>\n" for n in table.notes)
            + "<table>\n<thead><tr>" + "".join(f"<th>{_esc(c)}</th>" for c in table.columns) + "</tr></thead>\n"
            + f"<tbody>\n{rows}</tbody>\n</table>\n</body></html>\n")


def _is_numeric(cells: list[object]) -> bool:
    return any(isinstance(c, Stat) for c in cells) and all(isinstance(c, Stat) or c == MISSING for c in cells)


def numeric_frame(table: Table, meta: dict[str, str] | None = None) -> pd.DataFrame:
    """Formatted number columns become float ``<column>`` and, where any cell has one, ``<column>_std``."""
    out: dict[str, list] = {}
    for j, column in enumerate(table.columns):
        cells = [row[j] for row in table.rows]
        if not _is_numeric(cells):
            out[column] = cells
            continue
        out[column] = [c.mean if isinstance(c, Stat) else math.nan for c in cells]
        if any(isinstance(c, Stat) and c.std is not None for c in cells):
            out[f"{column}_std"] = [c.std if isinstance(c, Stat) and c.std is not None else math.nan for c in cells]
    for key, value in (meta or {}).items():
        out[key] = [value] * len(table.rows)
    return pd.DataFrame(out, columns=list(out))


def to_csv(table: Table, meta: dict[str, str] | None = None) -> str:
    """Machine-readable: one header line, numbers as numbers (empty = missing), ``meta`` as constant columns."""
    return numeric_frame(table, meta).to_csv(index=False, float_format="%.4f")


def to_json(table: Table, meta: dict[str, str] | None = None) -> str:
    """The CSV's sidecar: title, banner notes and metadata, which a CSV has no place for."""
    return json.dumps({"title": table.title, **(meta or {}), "notes": table.notes,
                       "numbers": "as the Markdown shows them (percent for metrics, ms for latency), unrounded; "
                                  "<column>_std is the sample std over prompt seeds, empty for one seed"},
                      ensure_ascii=False, indent=2) + "\n"
