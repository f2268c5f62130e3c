"""``uasbench regress``: check the reproduced numbers against a golden file (CI), or record new golden numbers."""

from __future__ import annotations

import argparse
from pathlib import Path

from uasbench.cli.common import RawDefaultsFormatter, add_command

_DESCRIPTION = """\
Compare every metric (mean and per category) of the given metrics files (default: every
<results>/metrics/<dataset>/<run>/seed<S>.json) with the golden file, within the per-metric absolute
tolerances stored in that file ("tolerances": {"P-AUPRO": 0.01, ..., "default": 0.005}). Runs in the golden
file without a metrics file, metrics files not in the golden file, missing or extra categories/metrics and a
changed metric protocol are flagged too. With --config, a metrics file of a run or dataset the config does
not define is an error (exit 2) naming the file.

Exit status: 0 = everything within tolerance (one summary line); 1 = drift (a table of what moved, worst
|delta|/tol first); 2 = unreadable input (the message names the file).

--update rewrites the golden file atomically from the current results, keeping its tolerances, and records
the reason, UTC date, git sha, package versions, config file and tier; it refuses to run without --reason."""


def register(subparsers) -> None:
    """Add ``regress``: golden file, where the results are, and ``--update --reason`` to accept new numbers."""
    parser = add_command(subparsers, "regress", "compare reproduced metrics with a golden file (or update it)",
                         run, description=_DESCRIPTION)
    parser.formatter_class = RawDefaultsFormatter
    parser.add_argument("--expected", required=True, type=Path,
                        help="golden file, e.g. tests/regression/expected_ci.json")
    parser.add_argument("--config", type=Path, default=None,
                        help="workflow config (default: none); gives the results folder and the tier, which must "
                             "match the golden file's")
    parser.add_argument("--results", type=Path, default=None,
                        help="results folder holding metrics/ (default: the config's results_dir, else results/ci)")
    parser.add_argument("metrics", nargs="*", type=Path, metavar="METRICS",
                        help="metrics files to compare, e.g. the workflow's (default: every seed<S>.json under "
                             "<results>/metrics/)")
    parser.add_argument("--update", action="store_true", help="rewrite the golden file from the current results")
    parser.add_argument("--reason", default=None, help="why the golden numbers change (required with --update)")


def run(args: argparse.Namespace) -> int:
    """Compare the results with the golden file (exit 1 on drift) or, with ``--update``, rewrite it with the
    reason recorded; a config of another tier than the golden file's is refused."""
    from uasbench import layout
    from uasbench.errors import ConfigError
    from uasbench.regression import collect_results, compare, format_comparison, load_golden, update_golden

    if args.update and not (args.reason or "").strip():
        raise ConfigError("--update needs --reason \"why the golden numbers change\" (it is recorded in the file)")
    if args.reason and not args.update:
        raise ConfigError("--reason is only used with --update")
    config = None
    if args.config is not None:
        from uasbench.config import load_config

        config = load_config(args.config)
    results_dir = args.results or (layout.results_dir(config) if config else Path("results/ci"))
    current = collect_results(results_dir, args.metrics or None, config)
    tier = config["tier"] if config else None
    if args.update:
        golden, changes = update_golden(args.expected, current, args.reason, config_path=args.config, tier=tier)
        if changes is not None:
            print(format_comparison(golden, changes, results_dir, updating=True))
        print(f"updated {golden.path}: {len(golden.values)} runs from {results_dir}; reason: "
              f"{golden.provenance['reason']}")
        return 0
    golden = load_golden(args.expected)
    recorded_tier = golden.provenance.get("tier")
    if tier is not None and recorded_tier is not None and recorded_tier != tier:
        raise ConfigError(f"{args.expected} was recorded for tier {recorded_tier!r}, but {args.config} is tier "
                          f"{tier!r}")
    result = compare(golden, current)
    print(format_comparison(golden, result, results_dir))
    return 0 if result.ok else 1
