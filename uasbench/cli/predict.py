"""``uasbench predict RUN``: anomaly maps and image scores of one configured run on one dataset and prompt seed."""

from __future__ import annotations

import argparse

from uasbench.cli.common import (
    add_batch_size_argument,
    add_command,
    add_config_argument,
    add_inference_execution_arguments,
    add_threads_argument,
    apply_threads,
    check_output,
    seed_int,
)
from uasbench.pipeline.jobs import PROMPT_MODES


def run(args: argparse.Namespace) -> int:
    """Predict one (run, dataset, seed) job of the workflow and write its predictions folder."""
    from uasbench.config import dataset_root, load_config
    from uasbench.devices import resolve_device
    from uasbench.pipeline.predict import run_predict

    config = load_config(args.config)
    inputs = {f"the folder of dataset {args.dataset!r}": dataset_root(config, args.dataset)} \
        if args.dataset in config["datasets"] else {}
    check_output(args.out, "--out", inputs, whole=True)
    apply_threads(args)
    meta = run_predict(config, args.run, args.dataset, args.seed, args.out, resolve_device(args.device),
                       batch_size=args.batch_size, mode=args.mode, force=args.force,
                       precision=args.precision, channels_last=args.channels_last, compile=args.compile)
    print(f"{args.run} on {args.dataset} (seed {args.seed}, prompt {meta['prompt']}, {meta['precision']}): "
          f"{meta['n_images']} images in {meta['seconds']:.1f}s -> {args.out}  [weights: {meta['weight_source']}]")
    return 0


def register(subparsers) -> None:
    """Add ``predict``: the run key, dataset, seed, output folder and prompt-mode override."""
    p = add_command(subparsers, "predict",
                    "write anomaly maps + image scores of a configured run (float16 npz per category)", run,
                    description="Run one entry of the config's 'runs' section on one dataset with one prompt seed. "
                    "Prompt modes: none (zero-shot), random (one fixed normal image per category and seed), "
                    "random-per-image (OneNIP), best-match / best-match-agnostic "
                    "(faiss cosine on pooled encoder features).",
                    device=True)
    p.add_argument("run", help="key of the config's 'runs' section, e.g. metauas, metauas-best, patchcore")
    add_config_argument(p)
    p.add_argument("--dataset", required=True, help="key of the config's 'datasets' section")
    p.add_argument("--seed", type=seed_int, default=0, help="prompt seed (MetaUAS: 1, 3, 5, 7, 9)")
    p.add_argument("--out", required=True, help="predictions folder (one <category>.npz each + meta.json); replaced "
                   "as a whole, so it must be empty, absent or an earlier prediction unless --force")
    p.add_argument("--force", action="store_true", help="replace --out even when it holds other files (never a "
                   "symbolic link, the current directory or one of its parents)")
    p.add_argument("--mode", default=None,
                   choices=PROMPT_MODES,
                   help="override the run's prompt mode")
    add_batch_size_argument(p)
    add_inference_execution_arguments(p, "the forward passes (the run's 'precision' in the config)")
    add_threads_argument(p)
