"""``uasbench bench latency RUN``: forward latency and parameter counts of a configured run (MetaUAS Tab 2)."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    """Time the configured run's forward pass and print the table; the JSON goes to ``--out`` for the report."""
    from uasbench.cli.common import apply_threads
    from uasbench.config import load_config
    from uasbench.devices import resolve_device
    from uasbench.pipeline.efficiency import bench_run, format_bench

    config = load_config(args.config)
    apply_threads(args)
    result = bench_run(config, args.run, resolve_device(args.device), args.out, image_size=args.image_size,
                       batch_sizes=args.batch_sizes, precision=args.precision, channels_last=args.channels_last,
                       compile=args.compile)
    print(format_bench(result))
    return 0


def register(group) -> None:
    """Add ``bench latency``: the run key, output JSON, input size, batch sizes to time and CPU threads."""
    from uasbench.cli.common import (
        add_command,
        add_config_argument,
        add_inference_execution_arguments,
        add_threads_argument,
        image_side,
        positive_int,
    )

    p = add_command(group, "latency", "median forward latency (warm-up + repeats) and parameter counts of a "
                    "configured run", run, device=True)
    p.add_argument("run", help="key of the config's 'runs' section")
    add_config_argument(p)
    p.add_argument("--out", required=True, help="efficiency JSON")
    p.add_argument("--image-size", type=image_side, default=None,
                   help="input size (default: the run's first dataset)")
    p.add_argument("--batch-sizes", type=positive_int, nargs="+", default=None,
                   help="batch sizes to time (default: config efficiency.batch_sizes or 1 32)")
    add_inference_execution_arguments(p, "the timed forward passes (the run's 'precision' in the config)")
    add_threads_argument(p)
