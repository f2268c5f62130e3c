"""``uasbench evaluate``: metrics of a predictions directory -> metrics.json (per category + mean + protocol)."""

from __future__ import annotations

import argparse
from pathlib import Path

from uasbench.cli._common import add_command
from uasbench.metrics.protocols import PROTOCOLS, get_protocol

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
    parser = add_command(subparsers, "evaluate", "compute the seven metrics of a predictions directory",
                         _run, description=_DESCRIPTION)
    parser.add_argument("--pred", required=True, type=Path, help="predictions directory (<category>.npz + meta.json)")
    parser.add_argument("--out", required=True, type=Path, help="metrics JSON file to write")
    parser.add_argument("--protocol", default="official", choices=sorted(PROTOCOLS),
                        help="metric definitions to use")
    parser.add_argument("--image-score", default=None, choices=("given", "max", "avgpool16"),
                        help="image score: the file's 'scores', the max of each map, or the max of its "
                             "16x16 average-pooled map (UniAD/OneNIP); default: 'given', but the protocol's own "
                             "score for uniad-compat (avgpool16)")


def _run(args: argparse.Namespace) -> int:
    from uasbench import __version__
    from uasbench.io import write_json
    from uasbench.metrics import evaluate_categories, results_to_dataframe
    from uasbench.predictions import read_run_meta, run_categories

    run_meta = read_run_meta(args.pred)
    if args.image_score is None:
        own = get_protocol(args.protocol).image_score
        args.image_score = "given" if own == "max" else own
    categories = run_categories(args.pred, run_meta)
    meta = {**run_meta, "evaluation": {"pred_dir": str(args.pred), "image_score": args.image_score,
                                       "uasbench_version": __version__}}
    result = evaluate_categories(_category_inputs(args.pred, categories, args.image_score),
                                 protocol=args.protocol, meta=meta, progress=True)
    write_json(args.out, result.to_dict())
    table = results_to_dataframe(result) * 100
    print(f"protocol: {result.protocol}   image score: {args.image_score}   (values in %)")
    print(table.to_string(float_format=lambda v: f"{v:.1f}", na_rep="nan"))
    print(f"wrote {args.out}")
    return 0


def _category_inputs(pred_dir: Path, categories: list[str], image_score: str):
    """Load one category at a time so memory holds a single category's maps."""
    import warnings

    from uasbench.metrics import CategoryInput, derive_image_scores
    from uasbench.predictions import load_category_predictions

    for category in categories:
        pred = load_category_predictions(pred_dir, category)
        scores = pred.scores if image_score == "given" else derive_image_scores(pred.maps, image_score)
        labels = pred.labels.astype(bool)
        empty_anomalous = int((labels & ~pred.masks.reshape(len(pred), -1).any(axis=1)).sum())
        positive_normal = int((~labels & pred.masks.reshape(len(pred), -1).any(axis=1)).sum())
        if empty_anomalous or positive_normal:
            warnings.warn(f"{category}: {empty_anomalous} anomalous-labelled images have an empty mask and "
                          f"{positive_normal} normal-labelled images a non-empty one; image metrics use the "
                          "file's labels", stacklevel=2)
        yield category, CategoryInput(pred.maps, pred.masks, scores, labels)
