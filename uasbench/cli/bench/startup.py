"""``uasbench bench startup``: start-up time and heavy imports of the commands that compute nothing."""

from __future__ import annotations

import argparse
from pathlib import Path

from uasbench.cli.common import add_command, add_config_argument, positive_int

_DESCRIPTION = """\
Time, as fresh processes, 'uasbench --help' (target 0.5 s), the start-up of two non-compute jobs ('uasbench
evaluate --help', 'uasbench track --help', target 1 s each) and a dry run of the config's DAG ('snakemake -n',
target 3 s): one warm-up run, then --repeats timed runs each; prints the min (the figure on a shared machine) and
the median, whether the min meets the target, and which of torch, timm, open_clip, torchvision and mlflow each
command imported (none should). Run it from the repository root (the Snakefile's folder)."""


def register(group_subparsers) -> None:
    """Add ``bench startup``: the config of the dry run, the repository folder, repeats and a JSON output."""
    parser = add_command(group_subparsers, "startup", "time the start-up of --help, non-compute jobs and a dry run",
                         run, description=_DESCRIPTION)
    add_config_argument(parser)
    parser.add_argument("--workdir", type=Path, default=Path("."), help="repository root holding the Snakefile")
    parser.add_argument("--repeats", type=positive_int, default=5, help="timed runs of each command")
    parser.add_argument("--out", type=Path, default=None, help="also write the report as JSON here")


def run(args: argparse.Namespace) -> int:
    """Time the probes and print the table (exit 0: on a shared machine a missed target is a figure, not a failure)."""
    from uasbench.io import write_json
    from uasbench.pipeline.bench_startup import bench_startup, format_startup

    report = bench_startup(args.config, args.workdir, args.repeats)
    print(format_startup(report))
    if args.out is not None:
        write_json(args.out, report)
    return 0
