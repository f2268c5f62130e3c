"""The numbers the MetaUAS and OneNIP papers print, as one long table, so measured results can be set beside them.

The data live in ``paper_numbers.yaml`` next to this module (typed in from the paper texts; its header explains the
layouts). :func:`load_paper_numbers` expands it into one record per printed number and validates it;
:func:`lookup` fetches a single value.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import pandas as pd

from uasbench.errors import ConfigError, echo
from uasbench.yamlfile import load_yaml

DEFAULT_PATH = Path(__file__).with_name("paper_numbers.yaml")

COLUMNS = ("paper", "table", "dataset", "row", "category", "column", "value", "std",
           "shot", "input_size", "note", "ambiguous")
KEY = ("paper", "table", "dataset", "row", "category", "column")
PAPERS = ("metauas", "onenip")
METRIC_COLUMNS = frozenset({"I-AUROC", "I-AP", "I-F1max", "P-AUROC", "P-AP", "P-F1max", "P-AUPRO"})
OTHER_COLUMNS = frozenset({"params_total_M", "params_learnable_M", "latency_ms", "input_size"})
DEFAULT_KEYS = ("dataset", "input_size", "shot", "note", "ambiguous")

_MEAN_STD = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*±\s*(\d+(?:\.\d+)?)\s*$")


def parse_cell(cell: Any, where: str) -> tuple[float, float | None] | None:
    """Turn one printed cell (number, "v±s" or null) into (value, std); None means "not printed"."""
    if cell is None:
        return None
    if isinstance(cell, bool):
        raise ConfigError(f"{where}: boolean {echo(cell)} is not a number")
    if isinstance(cell, (int, float)):
        return float(cell), None
    if isinstance(cell, str):
        match = _MEAN_STD.match(cell)
        if match:
            return float(match.group(1)), float(match.group(2))
    raise ConfigError(f"{where}: cannot read cell {echo(cell)} (expected a number, 'v±s' or null)")


def _merge_notes(*notes: Any) -> str | None:
    parts = [str(n).strip() for n in notes if n]
    return " | ".join(parts) if parts else None


def _cell_record(cell: Any, where: str, base: dict[str, Any]) -> dict[str, Any] | None:
    """One record for one cell; a mapping cell carries its own ambiguous/note flags."""
    note, ambiguous = base.get("note"), bool(base.get("ambiguous", False))
    if isinstance(cell, dict):
        unknown = set(cell) - {"v", "ambiguous", "note"}
        if "v" not in cell or unknown:
            raise ConfigError(f"{where}: a mapping cell needs key 'v' and only v/ambiguous/note, got {sorted(cell)}")
        note = _merge_notes(note, cell.get("note"))
        ambiguous = ambiguous or bool(cell.get("ambiguous", False))
        cell = cell["v"]
    parsed = parse_cell(cell, where)
    if parsed is None:
        return None
    value, std = parsed
    return {**base, "value": value, "std": std, "note": note, "ambiguous": ambiguous}


def _row_cells(table: dict[str, Any], row: dict[str, Any], where: str) -> list[tuple[str, str, Any]]:
    """(row id, column id, cell) triples of one YAML row, for either layout (see the YAML header)."""
    columns = row.get("columns", table.get("columns"))
    values = row.get("values")
    if not isinstance(columns, list) or not isinstance(values, list):
        raise ConfigError(f"{where}: needs a 'columns' list (row or table) and a 'values' list")
    methods = table.get("methods")
    if methods is None:
        if "row" not in row:
            raise ConfigError(f"{where}: missing 'row' id")
        groups = [(str(row["row"]), values)]
    else:
        if len(values) != len(methods):
            raise ConfigError(f"{where}: {len(values)} value groups for {len(methods)} methods")
        groups = list(zip((str(m) for m in methods), values))
    triples = []
    for row_id, cells in groups:
        if not isinstance(cells, list) or len(cells) != len(columns):
            raise ConfigError(f"{where} [{row_id}]: expected {len(columns)} cells for {columns}, got {echo(cells)}")
        triples.extend((row_id, str(col), cell) for col, cell in zip(columns, cells))
    return triples


def _table_records(table_id: str, table: dict[str, Any], source: Path) -> list[dict[str, Any]]:
    where_table = f"{source}: tables.{table_id}"
    paper = table.get("paper")
    if paper not in PAPERS or not table_id.startswith(f"{paper}_"):
        raise ConfigError(f"{where_table}: paper must be one of {PAPERS} and prefix the table id, got {echo(paper)}")
    rows = table.get("rows")
    if not isinstance(rows, list) or not rows:
        raise ConfigError(f"{where_table}: 'rows' must be a non-empty list")
    records = []
    for index, row in enumerate(rows):
        where = f"{where_table}.rows[{index}]"
        if not isinstance(row, dict):
            raise ConfigError(f"{where}: each row must be a mapping")
        defaults = {k: row.get(k, table.get(k)) for k in DEFAULT_KEYS}
        defaults["note"] = _merge_notes(table.get("note"), row.get("note"))
        defaults["ambiguous"] = bool(table.get("ambiguous", False) or row.get("ambiguous", False))
        if defaults["dataset"] is None:
            raise ConfigError(f"{where}: no 'dataset' on the row or the table")
        category = row.get("category")
        for row_id, column, cell in _row_cells(table, row, where):
            if column not in METRIC_COLUMNS | OTHER_COLUMNS:
                raise ConfigError(f"{where}: unknown column id {echo(column)}")
            base = {"paper": paper, "table": table_id, "dataset": str(defaults["dataset"]), "row": row_id,
                    "category": None if category is None else str(category), "column": column,
                    "shot": None if defaults["shot"] is None else str(defaults["shot"]),
                    "input_size": defaults["input_size"], "note": defaults["note"],
                    "ambiguous": defaults["ambiguous"]}
            record = _cell_record(cell, f"{where} [{row_id} {column}]", base)
            if record is not None:
                records.append(record)
    return records


def _validate(frame: pd.DataFrame, source: Path) -> None:
    """Refuse duplicate keys and metric values outside [0, 100]: both mean a typing error in the YAML."""
    duplicated = frame[frame.duplicated(list(KEY), keep=False)]
    if not duplicated.empty:
        first = duplicated.iloc[0]
        raise ConfigError(f"{source}: duplicate key {tuple(first[k] for k in KEY)} ({len(duplicated)} rows)")
    metrics = frame[frame["column"].isin(METRIC_COLUMNS)]
    bad = metrics[(metrics["value"] < 0) | (metrics["value"] > 100)]
    if not bad.empty:
        first = bad.iloc[0]
        raise ConfigError(f"{source}: metric value {first['value']} outside [0, 100] at "
                          f"{tuple(first[k] for k in KEY)}")


def _load(path: str | Path | None) -> pd.DataFrame:
    """Cached parse, keyed on the file's identity and modification stamp so an edited file is re-read."""
    resolved = Path(path) if path is not None else DEFAULT_PATH
    try:
        stat = resolved.stat()
    except OSError as exc:
        raise ConfigError(f"{resolved}: cannot read paper-numbers file ({exc})") from exc
    return _load_cached(resolved.resolve(), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _load_cached(path: Path, _mtime_ns: int, _size: int) -> pd.DataFrame:
    document = load_yaml(path)
    tables = document.get("tables") if isinstance(document, dict) else None
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(f"{path}: top-level key 'tables' must be a non-empty mapping")
    records = [rec for table_id, table in tables.items() for rec in _table_records(str(table_id), table, path)]
    frame = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    frame["input_size"] = frame["input_size"].astype("Int64")
    frame["ambiguous"] = frame["ambiguous"].astype(bool)
    _validate(frame, path)
    return frame


def load_paper_numbers(path: str | Path | None = None) -> pd.DataFrame:
    """All printed numbers, one row each, with columns COLUMNS (value in percent for metrics, std or NaN)."""
    return _load(path).copy()


def lookup(paper: str, table: str, dataset: str, row: str, column: str, category: str | None = None,
           *, path: str | Path | None = None) -> float:
    """The single printed value for a key; raises ConfigError naming what exists when the key is absent."""
    frame = _load(path)
    selected = frame[(frame["paper"] == paper) & (frame["table"] == table) & (frame["dataset"] == dataset)
                     & (frame["row"] == row) & (frame["column"] == column)]
    selected = selected[selected["category"].isna()] if category is None else \
        selected[selected["category"] == category]
    if len(selected) != 1:
        same_table = frame[(frame["paper"] == paper) & (frame["table"] == table) & (frame["dataset"] == dataset)]
        raise ConfigError(
            f"{path or DEFAULT_PATH}: no number for paper={paper!r} table={table!r} dataset={dataset!r} row={row!r} "
            f"column={column!r} category={category!r}; rows there: {sorted(same_table['row'].unique())}, "
            f"columns: {sorted(same_table['column'].unique())}")
    return float(selected["value"].iloc[0])
