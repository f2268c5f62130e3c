"""``uasbench bench precision RUN``: a run's forward in fp32 / tf32 / bf16 (+ channels_last, + torch.compile),
timed side by side in one process, with each variant's largest map difference from fp32."""

from __future__ import annotations

import argparse
from pathlib import Path

from uasbench.cli.common import (
    add_command,
    add_config_argument,
    add_threads_argument,
    apply_threads,
    image_side,
    non_negative_int,
    positive_int,
)

_DESCRIPTION = """\
Time a configured run's forward pass (the prediction path, random inputs: one prompt and a batch of queries)
under several numerics in one process, in rounds so that every variant sees the same machine. A variant is a
precision (fp32 = the official code's numerics, tf32 = CUDA tensor cores, bf16 = bfloat16 autocast) with
optional '+cl' (channels_last weights and inputs) and '+compile' (torch.compile of the network; its first call,
reported apart, compiles). Prints ms/image, the speed-up over the first variant and the largest difference of
the maps from the first variant's. Weights are the run's (trained checkpoint, else the backbone's own; random
ones are named in the report). Nothing is written but --out."""


def register(group_subparsers) -> None:
    """Add ``bench precision``: the run key, variants, batch size, input size, rounds and repeats."""
    from uasbench.precision import DEFAULT_VARIANTS  # light: no torch at --help time

    parser = add_command(group_subparsers, "precision", "a run's forward in fp32 / tf32 / bf16 (+channels_last, "
                         "+compile) side by side", run, description=_DESCRIPTION, device=True)
    parser.add_argument("run", help="key of the config's 'runs' section, e.g. metauas")
    add_config_argument(parser)
    parser.add_argument("--variants", nargs="+", default=list(DEFAULT_VARIANTS),
                        help="variants to time; the first is the reference")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="queries per forward (paper Tab 2: 32)")
    parser.add_argument("--image-size", type=image_side, default=None,
                        help="input size (default: the run's first dataset)")
    parser.add_argument("--rounds", type=positive_int, default=3, help="times each variant is timed, interleaved")
    parser.add_argument("--repeats", type=positive_int, default=5, help="timed forwards per round (median)")
    parser.add_argument("--warmup", type=non_negative_int, default=2, help="untimed forwards per round")
    add_threads_argument(parser)
    parser.add_argument("--out", type=Path, default=None, help="also write the report as JSON here")


def run(args: argparse.Namespace) -> int:
    """Time the variants, print the table and write ``--out``."""
    from uasbench.config import load_config
    from uasbench.devices import resolve_device
    from uasbench.io import write_json
    from uasbench.pipeline.bench_precision import bench_precisions, format_precisions

    apply_threads(args)
    report = bench_precisions(load_config(args.config), args.run, resolve_device(args.device), args.variants,
                              batch_size=args.batch_size, image_size=args.image_size, rounds=args.rounds,
                              repeats=args.repeats, warmup=args.warmup)
    print(format_precisions(report))
    if args.out is not None:
        write_json(args.out, report)
    return 0
