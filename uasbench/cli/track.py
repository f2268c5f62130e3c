"""``uasbench track``: log the workflow's metrics, parameter counts and latency to MLflow."""

from __future__ import annotations

import argparse
from pathlib import Path

from uasbench.cli.common import add_command, add_config_argument


def run(args: argparse.Namespace) -> int:
    """Log the metrics files to MLflow and print how to open the UI on them."""
    from uasbench.config import load_config
    from uasbench.pipeline.track import track_all
    from uasbench.tracking import ui_command

    config = load_config(args.config)
    logged = track_all(config, args.out, args.metrics or None)
    print(f"logged {len(logged)} runs; open the UI with:\n  {ui_command(config)}\n"
          "and pick an experiment's runs table (search e.g. metrics.P_AP > 0.2)")
    return 0


def register(subparsers) -> None:
    """Add ``track``: the config, the output list of run ids and optionally the metrics files to log."""
    p = add_command(subparsers, "track", "log every metrics file (+ params, latency, tags) to MLflow, one run per "
                    "(run, dataset, seed)", run,
                    description="Logs the given metrics files (default: every <results_dir>/metrics/<dataset>/<run>/"
                    "seed<S>.json and metrics_<protocol>/ copy), with efficiency/<run>.json and each trained model's "
                    "train_summary.json, to the MLflow store (sqlite under results/ unless mlflow.tracking_uri is "
                    "set). A file of a run or dataset the config does not define is an error. Logging a key again "
                    "replaces its run, so there is always exactly one run per (run, dataset, seed).")
    add_config_argument(p)
    p.add_argument("--out", required=True, help="JSON list of the logged run ids")
    p.add_argument("metrics", nargs="*", type=Path, metavar="METRICS",
                   help="metrics files to log, as the workflow gives them: metrics/<dataset>/<run>/seed<S>.json and "
                        "their metrics_<protocol>/ copies (default: all of them under the config's results_dir)")
