"""Metrics of one predictions folder, shared by ``uasbench evaluate`` and ``uasbench run`` (one code path, so a
user's own run is scored exactly like the workflow's)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Iterator

from uasbench.errors import UasbenchError
from uasbench.metrics.protocols import get_protocol


def default_image_score(protocol: str, method: str | None = None) -> str:
    """The image score ``protocol`` reads for predictions of ``method`` (a registry name, or None if unknown).

    ``official``: the file's own scores ("given"). A paper evaluator's protocol scores every image by its own rule
    from the map (metauas-compat: max, uniad-compat: avgpool16); where the method's own score is that very rule
    (``Method.image_score_rule``) the file's float32 scores are those numbers without the float16 ties of the stored
    map, so "given"; otherwise the rule applied to the stored map (PatchCore, CLIP, WinCLIP(+), ...)."""
    chosen = get_protocol(protocol)
    if not chosen.scores_from_maps:
        return "given"
    return "given" if method_image_score_rule(method) == chosen.image_score else chosen.image_score


def method_image_score_rule(method: str | None) -> str | None:
    """The method's declared ``image_score_rule`` (its catalog entry: no model code imported); None for no method or
    one this installation cannot load (then the evaluator's rule is applied to the stored map, which is what the
    evaluator itself does)."""
    if not isinstance(method, str) or not method:
        return None
    from uasbench.methods.registry import method_spec

    try:
        return method_spec(method).image_score_rule
    except UasbenchError:
        return None


def evaluate_predictions(pred_dir: str | Path, out: str | Path, protocol: str = "official",
                         image_score: str | None = None, progress: bool = True) -> Any:
    """Evaluate every category of ``pred_dir``, write the result atomically to ``out`` and return it."""
    from uasbench import __version__
    from uasbench.io import write_json
    from uasbench.metrics import evaluate_categories
    from uasbench.predictions import read_run_meta, run_categories

    pred_dir = Path(pred_dir)
    run_meta = read_run_meta(pred_dir)
    image_score = image_score or default_image_score(protocol, run_meta.get("method"))
    categories = run_categories(pred_dir, run_meta)
    meta = {**run_meta, "evaluation": {"pred_dir": str(pred_dir), "image_score": image_score,
                                       "uasbench_version": __version__}}
    result = evaluate_categories(category_inputs(pred_dir, categories, image_score), protocol=protocol, meta=meta,
                                 progress=progress)
    write_json(out, result.to_dict())
    return result


def format_result(result: Any, image_score: str) -> str:
    """The table ``uasbench evaluate`` prints: protocol and image score, then each category and the mean in %."""
    from uasbench.metrics import results_to_dataframe

    table = results_to_dataframe(result) * 100
    return (f"protocol: {result.protocol}   image score: {image_score}   (values in %)\n"
            + table.to_string(float_format=lambda v: f"{v:.1f}", na_rep="nan"))


def category_inputs(pred_dir: Path, categories: list[str], image_score: str) -> Iterator[tuple[str, Any]]:
    """Load one category at a time so memory holds a single category's maps."""
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
