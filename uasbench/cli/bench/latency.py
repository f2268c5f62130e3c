"""``uasbench bench latency RUN``: forward latency and parameter counts of a configured run (MetaUAS Tab 2)."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    """Time the configured run's forward pass and print the table; the JSON goes to ``--out`` for the report."""
    from uasbench.config import load_config
    from uasbench.devices import resolve_device
    from uasbench.pipeline.efficiency import bench_run, format_bench

    config = load_config(args.config)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    result = bench_run(config, args.run, resolve_device(args.device), args.out, image_size=args.image_size,
                       batch_sizes=args.batch_sizes, precision=args.precision, channels_last=args.channels_last,
                       compile=args.compile)
    print(format_bench(result))
    return 0


def register(group) -> None:
    """Add ``bench latency``: the run key, output JSON, input size, batch sizes to time and CPU threads."""
    from uasbench.cli.common import add_command, add_config_argument, add_inference_execution_arguments, positive_int

    p = add_command(group, "latency", "median forward latency (warm-up + repeats) and parameter counts of a "
                    "configured run", run, device=True)
    p.add_argument("run", help="key of the config's 'runs' section")
    add_config_argument(p)
    p.add_argument("--out", required=True, help="efficiency JSON")
    p.add_argument("--image-size", type=positive_int, default=None,
                   help="input size (default: the run's first dataset)")
    p.add_argument("--batch-sizes", type=positive_int, nargs="+", default=None,
                   help="batch sizes to time (default: config efficiency.batch_sizes or 1 32)")
    add_inference_execution_arguments(p, "the timed forward passes (the run's 'precision' in the config)")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
