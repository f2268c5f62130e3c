"""``uasbench check``: every missing or incomplete input of a workflow config, in one message, before any job."""

from __future__ import annotations

import argparse

from uasbench.cli.common import add_command, add_config_argument


def register(subparsers) -> None:
    """Add ``check``."""
    parser = add_command(subparsers, "check",
                         "list every missing or incomplete input of a config (dataset roots counted against the "
                         "official counts, prompt files, COCO, weights) with its size and fetch command", run)
    add_config_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Exit 0 when every input is in place, else 2 with one line per missing input."""
    from uasbench.config import load_config
    from uasbench.inputs.preflight import require_inputs

    require_inputs(load_config(args.config), args.config)
    print(f"{args.config}: every input is in place")
    return 0
