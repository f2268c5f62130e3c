"""``uasbench data make-change-pairs``: synthesize the MetaUAS change-segmentation training set."""

from __future__ import annotations

import argparse

from uasbench.cli.common import RawDefaultsFormatter, add_command, image_side, non_negative_int, positive_int, seed_int
from uasbench.datasets.change_pairs.sampling import DEFAULT_SAMPLING, SAMPLINGS

DESCRIPTION = """\
Synthesize prompt/query/change-mask pairs for MetaUAS training (paper §3.3): object-level changes
(instances removed by inpainting -> disappearance, the swapped pair -> appearance; instances pasted from
another image -> exchange) and local-region changes (Perlin masks filled with another image's pixels).
Without --coco-* the embedded source is used: procedural shape scenes with instance masks, textured with
the photos scikit-image ships, plus the photos themselves. Output: DIR/manifest.json and
DIR/shard-00000.npz ... (uint8 prompt, query, mask). DIR is written to a temporary folder and renamed at
the end; an existing DIR is refused unless --force."""


def register(group_subparsers) -> None:
    """Add ``data make-change-pairs``: size, change kinds, COCO or embedded source, inpainter and workers."""
    parser = add_command(group_subparsers, "make-change-pairs", "synthesize MetaUAS change-segmentation pairs",
                         run, description=DESCRIPTION)
    parser.formatter_class = RawDefaultsFormatter
    parser.add_argument("--out", required=True, help="output folder (must not exist unless --force)")
    parser.add_argument("--seed", type=seed_int, default=0, help="pair i is drawn from the seed and i alone")
    parser.add_argument("--n-pairs", type=positive_int, default=2000, help="number of pairs to synthesize")
    parser.add_argument("--image-size", type=image_side, default=128, help="side of the square images in pixels")
    parser.add_argument("--kinds", default="object,local",
                        help="comma list of change kinds: object, local or both (MetaUAS Tab. 3c); "
                             "with both, each pair picks one with p=0.5")
    parser.add_argument("--val-fraction", type=float, default=0.05, help="fraction of pairs in the fixed val split")
    parser.add_argument("--coco-images", help="COCO image folder (e.g. train2017); needs --coco-annotations")
    parser.add_argument("--coco-annotations", help="COCO instances json (e.g. instances_train2017.json)")
    parser.add_argument("--inpainter", default="telea",
                        help="inpainting method for object removal: telea or ns (OpenCV), or a registered name")
    parser.add_argument("--sampling", choices=SAMPLINGS, default=DEFAULT_SAMPLING,
                        help="paper: each pair changes its own source image, drawn without replacement (MetaUAS "
                             "appendix: one synthesized image per image); legacy: every image drawn with "
                             "replacement. Both: object vs local p=0.5, paste vs inpainted removal p=0.5")
    parser.add_argument("--shard-size", type=positive_int, default=256, help="pairs per .npz shard")
    parser.add_argument("--workers", type=non_negative_int, default=None,
                        help="processes that synthesize and write shards in parallel, a whole shard each (default: "
                             "one per available core; 0 or 1 = this process; at most one per shard, see "
                             "--shard-size); the output is the same for any number")
    parser.add_argument("--force", action="store_true", help="replace an existing --out folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Synthesize the change pairs MetaUAS trains on, from COCO when given, else from the embedded photos."""
    import time

    from uasbench.datasets.change_pairs.generate import generate_change_pairs
    from uasbench.datasets.change_pairs.sources import CocoSource, EmbeddedSource
    from uasbench.errors import ConfigError

    if bool(args.coco_images) != bool(args.coco_annotations):
        raise ConfigError("--coco-images and --coco-annotations must be given together")
    if args.coco_images:
        source = CocoSource(args.coco_images, args.coco_annotations, args.image_size)
        info = {"name": "coco", "images": args.coco_images, "annotations": args.coco_annotations}
    else:
        source = EmbeddedSource(args.image_size)
        info = {"name": "embedded"}
    start = time.perf_counter()
    manifest = generate_change_pairs(args.out, source, n_pairs=args.n_pairs, seed=args.seed,
                                     image_size=args.image_size, kinds=args.kinds, val_fraction=args.val_fraction,
                                     inpainter=args.inpainter, shard_size=args.shard_size, force=args.force,
                                     source_info=info, progress=not args.quiet, workers=args.workers,
                                     sampling=args.sampling)
    counts = manifest["counts"]
    print(f"wrote {counts['total']} pairs ({counts['split']}, {counts['change']}) to {args.out} "
          f"in {time.perf_counter() - start:.1f} s")
    return 0
