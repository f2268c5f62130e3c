"""``uasbench train MODEL --config C``: train a model defined in the config's ``training`` section."""

from __future__ import annotations

import argparse

from uasbench.cli.common import (
    add_command,
    add_config_argument,
    add_threads_argument,
    add_training_execution_arguments,
    apply_threads,
)


def run(args: argparse.Namespace) -> int:
    """Train ``args.model``; under torchrun every rank runs this and rank 0 alone writes and prints."""
    from uasbench.config import load_config
    from uasbench.devices import resolve_device
    from uasbench.pipeline.train import run_training, with_overrides
    from uasbench.training.distributed import distributed_session

    config = with_overrides(load_config(args.config), args.model, precision=args.precision, workers=args.workers,
                            compile=args.compile)
    apply_threads(args)
    # under torchrun: join the process group, one GPU per rank; otherwise a plain one-process run
    with distributed_session(resolve_device(args.device)) as (device, dist):
        summary = run_training(config, args.model, device, resume=not args.no_resume, out_dir=args.out)
    if dist.is_main:
        last = summary["history"][-1] if summary["history"] else {}
        loss = last.get("loss", float("nan"))
        print(f"trained {args.model}: {len(summary['history'])} epochs, final loss {loss:.4f}")
    return 0


_DESCRIPTION = ("Train one model of the config's 'training' section. Writes <out>/checkpoint.pt after every epoch "
                "(model, optimizer, scheduler, RNG state), resumes from it by default (bit-for-bit on CPU), and writes "
                "<out>/model.pt and train_summary.json at the end. Several GPUs: 'torchrun --nproc_per_node N -m "
                "uasbench train MODEL --config C' (each rank takes its share of every batch; rank 0 writes the files).")


def register(subparsers) -> None:
    """Add ``train``: the model key, config, output, resume, threads, precision and loader workers."""
    p = add_command(subparsers, "train", "train MetaUAS / OneNIP / UniAD as a config's 'training.<MODEL>' entry says",
                    run, description=_DESCRIPTION, device=True)
    p.add_argument("model", help="key of the config's 'training' section, e.g. metauas, onenip, uniad")
    add_config_argument(p)
    p.add_argument("--out", default=None, help="output folder (default: <results_dir>/models/<MODEL>)")
    p.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint and start over")
    add_threads_argument(p)
    add_training_execution_arguments(p, "training")
