"""``uasbench data check``: validate a benchmark folder and compare its per-category counts with the official ones."""

from __future__ import annotations

import argparse
from pathlib import Path

from uasbench.cli.common import RawDefaultsFormatter, add_command
from uasbench.datasets.benchmarks.sample import DATASETS  # light module: no numpy/PIL at --help time

DESCRIPTION = """\
Check a dataset folder before any run: every category must have train and test images, every anomalous test
image a mask (paired by the dataset's naming rule), no mask under ground_truth/ may lack its image, every image
and mask must be readable (PIL open + verify: headers, chunk checksums, truncation; no pixel decode) and each
mask must have its image's size. Then print a per-category table of train good / test good / test defective
counts next to the official counts (MVTec AD 15 classes 3,629/1,725; VisA 12 classes
8,659/2,162 from split_csv/1cls.csv; BTAD 1,799/741; GoodsAD 3,137/2,987).

Exit status: 0 when the layout is valid (count deviations are warnings in the table and the summary line),
2 on a layout error (the message names the file and the problem)."""


def register(group_subparsers) -> None:
    """Add ``data check``; the description keeps its line breaks (it lists the checks and exit statuses)."""
    parser = add_command(group_subparsers, "check", "validate a benchmark folder and print its counts vs the official",
                         run, description=DESCRIPTION)
    parser.formatter_class = RawDefaultsFormatter
    parser.add_argument("--dataset", required=True, choices=DATASETS,
                        help="layout to check; 'folder' = any folder in MVTec layout (masks <stem>_mask.png or "
                             "<stem>.png), no official counts")
    parser.add_argument("--root", required=True, type=Path, help="dataset root (VisA: the folder holding split_csv/)")
    parser.add_argument("--categories", nargs="+", default=None, metavar="NAME",
                        help="check only these categories (default: all found)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the counts and statuses as JSON (written atomically)")


def run(args: argparse.Namespace) -> int:
    """Validate every file of the folder (deep check), print the counts against the official ones and optionally
    write them as JSON; a count deviation is a warning, a broken layout an error."""
    from uasbench.datasets.benchmarks.counts import (
        compare_with_official,
        count_samples,
        format_count_table,
        summary_line,
    )
    from uasbench.datasets.benchmarks.registry import load_dataset
    from uasbench.datasets.benchmarks.validation import validate_samples

    samples = load_dataset(args.dataset, args.root, categories=args.categories, validate=False)
    validate_samples(samples, f"{args.dataset} root {args.root}", deep=True)
    rows = compare_with_official(args.dataset, count_samples(samples), args.categories)
    print(format_count_table(rows))
    print(summary_line(args.dataset, rows))
    if args.json is not None:
        from uasbench.io import write_json

        write_json(args.json, {
            "dataset": args.dataset, "root": str(args.root),
            "categories": [{"category": r.category,
                            "found": r.found._asdict() if r.found else None,
                            "official": r.official._asdict() if r.official else None,
                            "status": r.status} for r in rows],
            "deviating": [r.category for r in rows if r.deviates],
        })
    return 0
