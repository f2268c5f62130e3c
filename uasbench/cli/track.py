"""``uasbench track``: log the workflow's metrics, parameter counts and latency to MLflow."""

from __future__ import annotations

import argparse

from uasbench.cli.common import add_command, add_config_argument


def run(args: argparse.Namespace) -> int:
    from uasbench.config import load_config
    from uasbench.pipeline.track import track_all
    from uasbench.tracking import ui_command

    config = load_config(args.config)
    logged = track_all(config, args.out)
    print(f"logged {len(logged)} runs; open the UI with:\n  {ui_command(config)}\n"
          "and pick an experiment's runs table (search e.g. metrics.P_AP > 0.2)")
    return 0


def register(subparsers) -> None:
    p = add_command(subparsers, "track", "log every metrics file (+ params, latency, tags) to MLflow, one run per "
                    "(run, dataset, seed)", run,
                    description="Reads <results_dir>/metrics/<dataset>/<run>/seed<S>.json and efficiency/<run>.json and "
                    "and each trained model's train_summary.json, and logs them to the MLflow store (sqlite under results/ unless mlflow.tracking_uri is set). Logging a key "
                    "again replaces its run, so there is always exactly one run per (run, dataset, seed).")
    add_config_argument(p)
    p.add_argument("--out", required=True, help="JSON list of the logged run ids")
