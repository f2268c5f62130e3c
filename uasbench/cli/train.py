"""``uasbench train MODEL --config C``: train a model defined in the config's ``training`` section."""

from __future__ import annotations

import argparse

from uasbench.cli.common import add_command, add_config_argument, positive_int


def run(args: argparse.Namespace) -> int:
    from uasbench.config import load_config
    from uasbench.devices import resolve_device
    from uasbench.pipeline.train import run_training

    config = load_config(args.config)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    summary = run_training(config, args.model, resolve_device(args.device), resume=not args.no_resume, out_dir=args.out)
    last = summary["history"][-1] if summary["history"] else {}
    print(f"trained {args.model}: {len(summary['history'])} epochs, final loss {last.get('loss', float('nan')):.4f}")
    return 0


def register(subparsers) -> None:
    p = add_command(subparsers, "train", "train MetaUAS / OneNIP / UniAD as a config's 'training.<MODEL>' entry says", run,
                    description="Train one model of the config's 'training' section. Writes <out>/checkpoint.pt after every "
                    "epoch (model, optimizer, scheduler, RNG state), resumes from it by default (bit-for-bit on CPU), and "
                    "writes <out>/model.pt and train_summary.json at the end.", device=True)
    p.add_argument("model", help="key of the config's 'training' section, e.g. metauas, onenip, uniad")
    add_config_argument(p)
    p.add_argument("--out", default=None, help="output folder (default: <results_dir>/models/<MODEL>)")
    p.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint and start over")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
