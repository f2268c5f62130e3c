"""``uasbench convert checkpoint NAME --config C``: convert a config's ``checkpoints.<NAME>`` into its model file."""

from __future__ import annotations

import argparse

from uasbench.cli.common import add_command, add_config_argument

_DESCRIPTION = """\
Convert the official checkpoint a config's 'checkpoints.<NAME>' entry names (source, converter, model options) into
the model file its runs read with 'model: NAME' (<results_dir>/converted/<NAME>/model.pt, the form 'uasbench train'
writes), so the workflow evaluates the released weights with no training. The converted weights are loaded into the
model the entry's options describe before the file is written (atomically)."""


def register(group_subparsers) -> None:
    """Add ``convert checkpoint NAME --config C [--out FILE]``."""
    parser = add_command(group_subparsers, "checkpoint", "a config's official checkpoint → the model file its runs "
                         "name (no training)", run, description=_DESCRIPTION)
    parser.add_argument("name", metavar="NAME", help="key of the config's 'checkpoints' section")
    add_config_argument(parser)
    parser.add_argument("--out", default=None, help="model file to write (default: <results_dir>/converted/NAME/"
                        "model.pt)")


def run(args: argparse.Namespace) -> int:
    """Convert and print what was written."""
    from uasbench import layout
    from uasbench.config import load_config
    from uasbench.pipeline.convert import convert_configured_checkpoint

    config = load_config(args.config)
    counts = convert_configured_checkpoint(config, args.name, args.out)  # CPU-only
    out = args.out or layout.model_file(config, args.name)
    print(f"wrote {out}: {counts['tensors']} tensors, {counts['parameters'] / 1e6:.2f}M parameters")
    return 0
