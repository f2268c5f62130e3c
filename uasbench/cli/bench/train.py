"""``uasbench bench train MODEL``: samples/s of the training input pipeline vs the model step, to see which bounds."""

from __future__ import annotations

import argparse
from pathlib import Path

from uasbench.cli.common import (
    add_command,
    add_config_argument,
    add_threads_argument,
    add_training_execution_arguments,
    apply_threads,
    non_negative_int,
    positive_int,
)

_DESCRIPTION = """\
For a config's 'training.<MODEL>' entry, time (after warm-up batches) the data pipeline alone (DataLoader:
items, augmentation, collate, copy to the device; no model), the model step alone on one batch held on the
device (forward + loss + backward + optimizer) and both together as 'uasbench train' runs them, and name the
slower of the first two: more --workers help a data-bound run, --precision bf16/tf32 or a bigger GPU a
compute-bound one. Needs the entry's training data (e.g. results/data/change_pairs for MetaUAS). One process;
nothing is written but --out."""


def register(group_subparsers) -> None:
    """Add ``bench train``: the model key, config, workers, precision, batch size and batch counts."""
    parser = add_command(group_subparsers, "train", "samples/s of the training data pipeline vs the model step", run,
                         description=_DESCRIPTION, device=True)
    parser.add_argument("model", help="key of the config's 'training' section, e.g. metauas")
    add_config_argument(parser)
    add_training_execution_arguments(parser, "the timed steps")
    parser.add_argument("--batch-size", type=positive_int, default=None, help="default: the entry's batch size")
    parser.add_argument("--batches", type=positive_int, default=20, help="timed batches per stage")
    parser.add_argument("--warmup", type=non_negative_int, default=2,
                        help="untimed batches before each stage (the loader stages skip one more per worker)")
    add_threads_argument(parser)
    parser.add_argument("--out", type=Path, default=None, help="also write the report as JSON here")


def run(args: argparse.Namespace) -> int:
    """Time the three stages, print the table and write ``--out``."""
    from uasbench.config import load_config
    from uasbench.devices import resolve_device
    from uasbench.io import write_json
    from uasbench.pipeline.bench_train import bench_training, format_report

    apply_threads(args)
    report = bench_training(load_config(args.config), args.model, resolve_device(args.device), workers=args.workers,
                            precision=args.precision, compile=args.compile, batch_size=args.batch_size,
                            batches=args.batches,
                            warmup=args.warmup)
    print(format_report(report))
    if args.out is not None:
        write_json(args.out, report)
    return 0
