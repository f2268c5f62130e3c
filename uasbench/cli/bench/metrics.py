"""``uasbench bench metrics``: speed of the metrics vs scikit-learn + a literal MVTec AUPRO."""

from __future__ import annotations

import argparse
from pathlib import Path

from uasbench.cli.common import add_command, positive_int, seed_int

_DESCRIPTION = """\
Generate deterministic MVTec-sized synthetic predictions (15 categories, 1,725 float16 maps of 256x256,
~73% anomalous images; --scale shrinks the image counts), evaluate all seven metrics per category with
uasbench.metrics, then with the reference set (sklearn roc_auc_score + average_precision_score +
precision_recall_curve on pixels and images + a literal MVTec AUPRO), and print both times, the
speed-up, the max |difference| per metric and the peak memory. Exit code 1 if any metric differs by
more than 1e-6. The full-size reference run takes a few minutes on 2 cores."""


def register(group_subparsers) -> None:
    """Add ``bench metrics``: data size, seed and whether to run the slow reference set."""
    parser = add_command(group_subparsers, "metrics", "time the metrics against scikit-learn + reference AUPRO",
                         run, description=_DESCRIPTION)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the MVTec AD test-set image count")
    parser.add_argument("--seed", type=seed_int, default=0, help="seed of the synthetic data")
    parser.add_argument("--size", type=positive_int, default=256, help="map height and width")
    parser.add_argument("--no-reference", action="store_true", help="time only the fast metrics")
    parser.add_argument("--out", type=Path, default=None, help="also write the report as JSON here")


def run(args: argparse.Namespace) -> int:
    """Benchmark the metrics; exit 1 when any value differs from the reference by more than the tolerance, so CI
    catches a fast metric that drifted."""
    from uasbench.errors import ConfigError
    from uasbench.io import write_json
    from uasbench.metrics.bench import format_report, run_benchmark

    if not args.scale > 0 or args.size < 16:
        raise ConfigError(f"--scale must be > 0 and --size >= 16 (got {args.scale}, {args.size})")
    report = run_benchmark(scale=args.scale, seed=args.seed, size=args.size, reference=not args.no_reference)
    print(format_report(report))
    if args.out is not None:
        write_json(args.out, report)
    return 0 if report.get("identical", True) else 1
