"""``uasbench evaluate``: metrics of a predictions directory -> metrics.json (per category + mean + protocol)."""

from __future__ import annotations

import argparse
from pathlib import Path

from uasbench.cli.common import add_command
from uasbench.metrics.protocols import DEFAULT_PROTOCOL, PROTOCOLS

_DESCRIPTION = """\
Compute I-AUROC, I-AP, I-F1max, P-AUROC, P-AP, P-F1max and P-AUPRO for every <category>.npz of a
predictions directory (see uasbench/predictions.py) and their mean over categories, write them
atomically to --out as {"protocol", "per_category", "mean", "meta"} (NaN is written as null) and print
the table in percent. Image labels are the file's 'labels'; pixels of all images are pooled per category.
A <category>.npz missing from, or not listed in, meta.json's categories is an error (exit 2).
Protocols: 'official' = MVTec AD definitions (exact AUPRO, no AUROC flip); 'metauas-compat' = the
MetaUAS evaluator (per-category min-max, AUROC flip, CFlow-style AUPRO) and 'uniad-compat' = the
UniAD/OneNIP evaluator (AUROC flip, image score = max of the 16x16 average-pooled map) for like-for-like
comparison with the papers' numbers (the workflow writes those to metrics_<protocol>/)."""


def register(subparsers) -> None:
    """Add ``evaluate``: predictions folder, metrics file, protocol and image-score rule."""
    parser = add_command(subparsers, "evaluate", "compute the seven metrics of a predictions directory",
                         run, description=_DESCRIPTION)
    parser.add_argument("--pred", required=True, type=Path, help="predictions directory (<category>.npz + meta.json)")
    parser.add_argument("--out", required=True, type=Path, help="metrics JSON file to write")
    parser.add_argument("--protocol", default=DEFAULT_PROTOCOL, choices=sorted(PROTOCOLS),
                        help="metric definitions to use")
    parser.add_argument("--image-score", default=None, choices=("given", "max", "avgpool16"),
                        help="image score: the file's 'scores', the max of each map, or the max of its "
                             "16x16 average-pooled map (UniAD/OneNIP); default: 'given', but the protocol's own "
                             "score for uniad-compat (avgpool16)")


def run(args: argparse.Namespace) -> int:
    """Compute the seven metrics of one predictions folder under the chosen protocol and write the metrics JSON."""
    from uasbench.pipeline.evaluate import default_image_score, evaluate_predictions, format_result

    image_score = args.image_score or default_image_score(args.protocol)
    result = evaluate_predictions(args.pred, args.out, protocol=args.protocol, image_score=image_score)
    print(format_result(result, image_score))
    print(f"wrote {args.out}")
    return 0
