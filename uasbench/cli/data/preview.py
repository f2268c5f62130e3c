"""``uasbench data preview``: a PNG contact sheet of a dataset with its masks drawn on."""

from __future__ import annotations

import argparse

from uasbench.cli.common import RawDefaultsFormatter, add_command, positive_int, seed_int

DESCRIPTION = """\
Draw a PNG grid to check generated data by eye; masks are shown as red fills/contours.
  synthetic-ad:      test images of an MVTec-layout --root | ground truth overlaid (~3/4 anomalous)
  change-pairs:      prompt | query (change outlined) | change mask, from a make-change-pairs --root
  anomaly-synthesis: OneNIP anomaly synthesis on normal train images of --root (skimage photos without
                     --root) -> image | synthesized | mask"""


def register(group_subparsers) -> None:
    """Add ``data preview``; the preview kinds come from the package, so the choices stay in one place."""
    from uasbench.datasets import PREVIEW_KINDS

    parser = add_command(group_subparsers, "preview", "write a PNG grid of samples with mask overlays",
                         run, description=DESCRIPTION)
    parser.formatter_class = RawDefaultsFormatter
    parser.add_argument("--kind", required=True, choices=PREVIEW_KINDS, help="what to preview")
    parser.add_argument("--root", help="dataset folder (optional only for anomaly-synthesis)")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--n", type=positive_int, default=16, help="number of samples")
    parser.add_argument("--seed", type=seed_int, default=0, help="which samples / which synthesis")
    parser.add_argument("--cell", type=positive_int, default=128, help="side of each panel in pixels")
    parser.add_argument("--dataset", default="mvtec", help="loader name for --root (synthetic-ad, anomaly-synthesis)")
    parser.add_argument("--augmented", action="store_true",
                        help="change-pairs: show training items after the CYWS augmentation (seeded by --seed)")


def run(args: argparse.Namespace) -> int:
    """Write the PNG grid, so generated or downloaded data can be checked by eye before a long run."""
    from uasbench.datasets.preview import write_preview

    height, width = write_preview(args.kind, args.out, root=args.root, n=args.n, seed=args.seed, cell=args.cell,
                                  dataset=args.dataset, augmented=args.augmented)
    print(f"wrote {args.out} ({width}x{height})")
    return 0
