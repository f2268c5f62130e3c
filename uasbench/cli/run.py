"""``uasbench run``: evaluate one method on your own MVTec-layout folder in one command (custom tier)."""

from __future__ import annotations

import argparse

from uasbench.cli.common import (
    RawDefaultsFormatter,
    add_batch_size_argument,
    add_command,
    add_protocol_argument,
    add_threads_argument,
    apply_threads,
    check_output,
    image_side,
    seed_int,
)
from uasbench.datasets.splits import DATASET_KINDS, GENERATED_KIND
from uasbench.pipeline.jobs import PROMPT_MODES

LAYOUTS = tuple(kind for kind in DATASET_KINDS if kind != GENERATED_KIND)  # the kinds of a folder of your own

_DESCRIPTION = """\
Data check + predict + evaluate + table for one method on a folder in the MVTec layout
(<category>/train/good/, <category>/test/{good,<defect>}/, <category>/ground_truth/<defect>/<stem>_mask.png).
Writes <out>/predictions/, <out>/metrics/ (the seven metrics per category and their mean, one file per seed),
<out>/tables/main_<dataset>.md/.csv (+ .tex/.html/.json) and per-category tables, and <out>/config.yaml
(the custom-tier config it ran: 'uasbench track --config <out>/config.yaml' logs it to MLflow).
Before any model runs it refuses an --out inside --root (or holding it), an --out that holds an earlier
call's results with other settings (the same settings again replace them) and one another call is writing
into; the tables hold only what this call computed."""


def run(args: argparse.Namespace) -> int:
    """Check, predict, evaluate and tabulate a method on the user's own folder in one call, printing the
    data check and the tables it wrote."""
    from uasbench.devices import resolve_device
    from uasbench.pipeline.run import custom_config, parse_options, run_custom

    check_output(args.out, "--out", {"--root": args.root})
    config = custom_config(args.root, args.method, args.out, checkpoint=args.checkpoint, prompt=args.prompt,
                           options=parse_options(args.options), seeds=args.seeds, image_size=args.image_size,
                           kind=args.layout, allow_random_weights=args.allow_random_weights)
    apply_threads(args)
    written = run_custom(config, resolve_device(args.device), batch_size=args.batch_size, protocol=args.protocol)
    for dataset, counts in written["counts"].items():
        print(f"data check of {dataset}:\n{counts}\n")
    for path in written["tables"]:
        print(path.read_text())
        print(f"wrote {path} (and .csv, .tex, .html, .json beside it)")
    return 0


def register(subparsers) -> None:
    """Add ``run``: the folder, the method and its options, prompt mode, seeds, layout and protocol."""
    p = add_command(subparsers, "run", "evaluate a method on your own MVTec-layout folder (check, predict, evaluate, "
                    "table)", run, description=_DESCRIPTION, device=True)
    p.formatter_class = RawDefaultsFormatter
    p.add_argument("--root", required=True, help="your dataset folder (one sub-folder per category)")
    p.add_argument("--method", required=True, help="method name, e.g. metauas, onenip, uniad, patchcore, "
                   "prompt-diff, random (or an installed plug-in's)")
    p.add_argument("--out", required=True,
                   help="output folder (predictions, metrics, tables, config.yaml), outside --root")
    p.add_argument("--checkpoint", default=None, help="model weights for metauas / onenip / uniad "
                   "(a 'uasbench convert' output); same as --options checkpoint=FILE")
    p.add_argument("--prompt", default=None, choices=PROMPT_MODES,
                   help="prompt mode (default: random for one-prompt methods, none for zero-/full-shot ones)")
    p.add_argument("--options", nargs="+", default=None, metavar="KEY=VALUE",
                   help="method options, as key=value pairs or one JSON object, e.g. backbone=tf_efficientnet_lite0")
    p.add_argument("--seeds", nargs="+", type=seed_int, default=[1],
                   help="prompt seeds (default: 1); a prompt mode that draws no prompt (none, best-match) runs "
                   "once, as seed 0, like the workflow")
    p.add_argument("--image-size", type=image_side, default=None, help="input size (default: 256)")
    p.add_argument("--layout", default="folder", choices=LAYOUTS,
                   help="folder naming rules (default: folder = masks <stem>_mask.png or <stem>.png)")
    add_protocol_argument(p, "metric definitions")
    p.add_argument("--allow-random-weights", action="store_true",
                   help="run even when the method's pretrained weights are not found (random weights: results are "
                   "not meaningful); without it such a run stops and names the missing file")
    add_batch_size_argument(p)
    add_threads_argument(p)
