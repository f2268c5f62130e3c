"""``uasbench run``: evaluate one method on your own MVTec-layout folder in one command (custom tier)."""

from __future__ import annotations

import argparse

from uasbench.cli.common import (
    RawDefaultsFormatter,
    add_batch_size_argument,
    add_command,
    non_negative_int,
    positive_int,
)
from uasbench.datasets.splits import DATASET_KINDS, GENERATED_KIND
from uasbench.pipeline.jobs import PROMPT_MODES

LAYOUTS = tuple(kind for kind in DATASET_KINDS if kind != GENERATED_KIND)  # the kinds of a folder of your own

_DESCRIPTION = """\
Data check + predict + evaluate + table for one method on a folder in the MVTec layout
(<category>/train/good/, <category>/test/{good,<defect>}/, <category>/ground_truth/<defect>/<stem>_mask.png).
Writes <out>/predictions/, <out>/metrics/ (the seven metrics per category and their mean, one file per seed),
<out>/tables/main_<dataset>.md/.csv (+ .tex/.html/.json) and per-category tables, and <out>/config.yaml
(the custom-tier config it ran: 'uasbench track --config <out>/config.yaml' logs it to MLflow)."""


def run(args: argparse.Namespace) -> int:
    """Check, predict, evaluate and tabulate a method on the user's own folder in one call, printing the
    data check and the tables it wrote."""
    from uasbench.devices import resolve_device
    from uasbench.pipeline.run import custom_config, parse_options, run_custom

    config = custom_config(args.root, args.method, args.out, checkpoint=args.checkpoint, prompt=args.prompt,
                           options=parse_options(args.options), seeds=args.seeds, image_size=args.image_size,
                           kind=args.layout)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    written = run_custom(config, resolve_device(args.device), batch_size=args.batch_size, protocol=args.protocol)
    for dataset, counts in written["counts"].items():
        print(f"data check of {dataset}:\n{counts}\n")
    for path in written["tables"]:
        print(path.read_text())
        print(f"wrote {path} (and .csv, .tex, .html, .json beside it)")
    return 0


def register(subparsers) -> None:
    """Add ``run``: the folder, the method and its options, prompt mode, seeds, layout and protocol."""
    from uasbench.metrics.protocols import DEFAULT_PROTOCOL, PROTOCOLS

    p = add_command(subparsers, "run", "evaluate a method on your own MVTec-layout folder (check, predict, evaluate, "
                    "table)", run, description=_DESCRIPTION, device=True)
    p.formatter_class = RawDefaultsFormatter
    p.add_argument("--root", required=True, help="your dataset folder (one sub-folder per category)")
    p.add_argument("--method", required=True, help="method name, e.g. metauas, onenip, uniad, patchcore, "
                   "prompt-diff, random (or an installed plug-in's)")
    p.add_argument("--out", required=True, help="output folder (predictions, metrics, tables, config.yaml)")
    p.add_argument("--checkpoint", default=None, help="model weights for metauas / onenip / uniad "
                   "(a 'uasbench convert' output); same as --options checkpoint=FILE")
    p.add_argument("--prompt", default=None, choices=PROMPT_MODES,
                   help="prompt mode (default: random for one-prompt methods, none for zero-/full-shot ones)")
    p.add_argument("--options", nargs="+", default=None, metavar="KEY=VALUE",
                   help="method options, as key=value pairs or one JSON object, e.g. backbone=tf_efficientnet_lite0")
    p.add_argument("--seeds", nargs="+", type=non_negative_int, default=[1],
                   help="prompt seeds (default: 1); a prompt mode that draws no prompt (none, best-match) runs "
                   "once, as seed 0, like the workflow")
    p.add_argument("--image-size", type=positive_int, default=None, help="input size (default: 256)")
    p.add_argument("--layout", default="folder", choices=LAYOUTS,
                   help="folder naming rules (default: folder = masks <stem>_mask.png or <stem>.png)")
    p.add_argument("--protocol", default=DEFAULT_PROTOCOL, choices=sorted(PROTOCOLS),
                   help="metric definitions (default: official)")
    add_batch_size_argument(p)
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
