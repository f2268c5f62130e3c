"""``uasbench data make-synthetic-ad``: write the embedded MVTec-layout anomaly benchmark."""

from __future__ import annotations

import argparse

from uasbench.cli.common import add_command, image_side, positive_int, seed_int

_DESCRIPTION = (
    "Generate the embedded anomaly-segmentation benchmark in MVTec layout (<cat>/train/good, <cat>/test/<defect>, "
    "<cat>/ground_truth/<defect>/<stem>_mask.png with 0/255, plus dataset.json). Textures brick/grass/gravel are "
    "cut from photos bundled with scikit-image; nut/pill/screw/board are rendered with pose and lighting variation. "
    "Defects: scratches, cracks, holes, stains, missing/misplaced parts, wrong colour, with exact masks. Output is "
    "byte-identical for the same seed and arguments; it is written to a temporary directory renamed at the end."
)


def register(group_subparsers) -> None:
    """Add ``data make-synthetic-ad``: image counts per split, categories and workers."""
    parser = add_command(group_subparsers, "make-synthetic-ad", "generate the embedded MVTec-layout anomaly benchmark",
                         run, description=_DESCRIPTION)
    parser.add_argument("--out", required=True, help="output directory (refused if it exists and is not empty)")
    parser.add_argument("--seed", type=seed_int, default=0, help="generator seed")
    parser.add_argument("--image-size", type=image_side, default=256, help="square image side in pixels")
    parser.add_argument("--n-train", type=positive_int, default=30, help="train/good images per category")
    parser.add_argument("--n-test-good", type=positive_int, default=10, help="test/good images per category")
    parser.add_argument("--n-test-defect", type=positive_int, default=15,
                        help="defective test images per category, spread evenly over its defect types")
    parser.add_argument("--categories", default="all",
                        help="comma-separated subset of brick,grass,gravel,nut,pill,screw,board")
    parser.add_argument("--workers", type=positive_int, default=1,
                        help="worker processes (output does not depend on it)")
    parser.add_argument("--force", action="store_true", help="replace an existing non-empty output directory")


def run(args: argparse.Namespace) -> int:
    """Generate the embedded MVTec-layout benchmark the CI tier evaluates on (no download needed)."""
    import time

    from uasbench.datasets.synthetic_ad.generate import make_synthetic_ad

    categories = None if args.categories == "all" else [c.strip() for c in args.categories.split(",") if c.strip()]
    start = time.perf_counter()
    out = make_synthetic_ad(args.out, seed=args.seed, image_size=args.image_size, n_train=args.n_train,
                            n_test_good=args.n_test_good, n_test_defect=args.n_test_defect, categories=categories,
                            force=args.force, workers=args.workers)
    print(f"wrote {out} in {time.perf_counter() - start:.1f} s")
    return 0
