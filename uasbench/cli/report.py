"""``uasbench report``: paper tables (Markdown/LaTeX/CSV) and figures from the tracked results."""

from __future__ import annotations

import argparse

from uasbench.cli.common import add_command, add_config_argument


def run(args: argparse.Namespace) -> int:
    """Build the report folder (tables, figures, index.md) from what ``uasbench track`` logged."""
    from uasbench.config import load_config
    from uasbench.reports.build import build_report

    config = load_config(args.config)
    index = build_report(config, args.out)
    print(f"report written: {index}")
    return 0


def register(subparsers) -> None:
    """Add ``report``."""
    p = add_command(subparsers, "report", "build the paper tables (md/tex/csv), paper-vs-reproduced and figures", run,
                    description="Reads the runs logged to MLflow by 'uasbench track' (and efficiency JSONs) and writes "
                    "<out>/tables/*.{md,tex,csv}, <out>/figures/*.png and <out>/index.md. "
                    "One-prompt rows are mean ± std over prompt seeds; "
                    "every table states the config tier, weight sources and metric protocol.")
    add_config_argument(p)
    p.add_argument("--out", required=True, help="report folder, e.g. reports/embedded")
