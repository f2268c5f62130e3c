"""Is an input on disk complete? Benchmark folders are counted per category against the official counts (so an
empty or half-extracted copy fails); other folders against the file count in the source table."""

from __future__ import annotations

from pathlib import Path

from uasbench.errors import UasbenchError
from uasbench.inputs.sources import Source


def dataset_problem(kind: str, root: Path, categories: list[str] | None = None) -> str | None:
    """None when ``root`` holds every official category of ``kind`` with the official image counts, else why not."""
    from uasbench.datasets.benchmarks.counts import OFFICIAL_COUNTS, compare_with_official, count_samples
    from uasbench.datasets.benchmarks.registry import load_dataset

    if not root.is_dir():
        return "does not exist"
    if kind not in OFFICIAL_COUNTS:
        return None
    try:
        samples = load_dataset(kind, root, categories=categories, validate=False)
    except UasbenchError as err:
        return f"incomplete: {err}"
    wanted = categories or list(OFFICIAL_COUNTS[kind])
    bad = [f"{r.category} ({r.status})" for r in compare_with_official(kind, count_samples(samples), wanted)
           if r.deviates and r.category in wanted]
    return f"incomplete: {'; '.join(bad)}" if bad else None


def folder_problem(source: Source, folder: Path) -> str | None:
    """None when ``folder`` holds the source's expected file count (or any file when none is recorded)."""
    if not folder.is_dir():
        return "does not exist"
    if source.expect_files is None:
        return None if any(folder.iterdir()) else "is empty"
    found = sum(1 for _ in folder.glob(source.expect_glob))
    if found != source.expect_files:
        return f"incomplete: {found} files match {source.expect_glob!r}, a complete copy has {source.expect_files}"
    return None


def source_problem(source: Source, folder: Path) -> str | None:
    """Completeness of an extracted source: official counts for a benchmark, the file count otherwise."""
    if source.kind == "dataset" and source.expect_files is None:
        return dataset_problem(source.provides, folder)
    if source.archive is not None or source.manual:
        return folder_problem(source, folder)
    missing = [f.path for f in source.files if not (folder / f.path).is_file()]
    return f"missing {len(missing)} of {len(source.files)} files (first: {missing[0]})" if missing else None
