"""``uasbench bench latency RUN``: forward latency and parameter counts of a configured run (MetaUAS Tab 2)."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    import torch

    from uasbench.config import load_config
    from uasbench.devices import resolve_device
    from uasbench.efficiency import bench_method
    from uasbench.io import write_json
    from uasbench.pipeline.methods import build_run_method

    config = load_config(args.config)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.run not in config["runs"]:
        from uasbench.errors import ConfigError
        raise ConfigError(f"unknown run {args.run!r}; configured runs: {', '.join(sorted(config['runs']))}")
    run_cfg = config["runs"][args.run]
    device = resolve_device(args.device)
    method, info = build_run_method(config, run_cfg, device)
    datasets = run_cfg.get("datasets", list(config["datasets"]))
    size = args.image_size or config["datasets"][datasets[0]].get("image_size", 256)
    eff = config.get("efficiency", {})
    batch_sizes = args.batch_sizes or eff.get("batch_sizes", [1, 32])
    result = bench_method(method, size, batch_sizes, device, warmup=eff.get("warmup", 2), repeats=eff.get("repeats", 5))
    result.update({"run": args.run, "method": run_cfg["method"], "tier": config["tier"]})
    write_json(args.out, result)
    for batch, stats in result["latency_ms"].items():
        print(f"{args.run}: batch {batch} @ {size}px on {device}: median {stats['median']:.1f} ms "
              f"({stats['median'] / int(batch):.2f} ms/image)")
    p = result["params"]
    print(f"{args.run}: {p['total'] / 1e6:.2f}M parameters ({p['learnable'] / 1e6:.2f}M learnable), "
          f"weights: {result['weight_source']}")
    return 0


def register(group) -> None:
    from uasbench.cli.common import add_command, add_config_argument, positive_int

    p = add_command(group, "latency", "median forward latency (warm-up + repeats) and parameter counts of a configured run",
                    run, device=True)
    p.add_argument("run", help="key of the config's 'runs' section")
    add_config_argument(p)
    p.add_argument("--out", required=True, help="efficiency JSON")
    p.add_argument("--image-size", type=positive_int, default=None, help="input size (default: the run's first dataset)")
    p.add_argument("--batch-sizes", type=positive_int, nargs="+", default=None,
                   help="batch sizes to time (default: config efficiency.batch_sizes or 1 32)")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
