"""``uasbench evaluate``: metrics of a predictions directory -> metrics.json (per category + mean + protocol)."""

from __future__ import annotations

import argparse
from pathlib import Path

from uasbench.cli._common import add_command

_DESCRIPTION = """\
Compute I-AUROC, I-AP, I-F1max, P-AUROC, P-AP, P-F1max and P-AUPRO for every <category>.npz of a
predictions directory (see uasbench/predictions.py) and their mean over categories, write them
atomically to --out as {"protocol", "per_category", "mean", "meta"} (NaN is written as null) and print
the table in percent. Image labels are the file's 'labels'; pixels of all images are pooled per category.
Protocols: 'official' = MVTec AD definitions (exact AUPRO, no AUROC flip); 'metauas-compat' = the
MetaUAS evaluator (per-category min-max, AUROC flip, CFlow-style AUPRO) for like-for-like comparison
with the paper's numbers."""


def register(subparsers) -> None:
    parser = add_command(subparsers, "evaluate", "compute the seven metrics of a predictions directory",
                         _run, description=_DESCRIPTION)
    parser.add_argument("--pred", required=True, type=Path, help="predictions directory (<category>.npz + meta.json)")
    parser.add_argument("--out", required=True, type=Path, help="metrics JSON file to write")
    parser.add_argument("--protocol", default="official", choices=("official", "metauas-compat"),
                        help="metric definitions to use")
    parser.add_argument("--image-score", default="given", choices=("given", "max", "avgpool16"),
                        help="image score: the file's 'scores', the max of each map, or the max of its "
                             "16x16 average-pooled map (UniAD/OneNIP)")


def _run(args: argparse.Namespace) -> int:
    from uasbench import __version__
    from uasbench.io import write_json
    from uasbench.metrics import evaluate_categories, results_to_dataframe
    from uasbench.predictions import list_categories, read_run_meta

    run_meta = read_run_meta(args.pred)
    categories = list_categories(args.pred)
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
