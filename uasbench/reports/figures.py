"""Figures: a qualitative grid like MetaUAS Fig 3 (image, ground truth, each method's map) and a metric bar chart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from uasbench import layout
from uasbench.io import atomic_path
from uasbench.reports.tables import mean_std


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: Path) -> Path:
    fig.tight_layout()
    with atomic_path(path) as tmp:  # creates the folder; no half-written PNG survives a crash
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def bar_chart(df: pd.DataFrame, dataset: str, runs: list[str], path: Path,
              metrics: tuple[str, ...] = ("I-AUROC", "P-AP")) -> Path | None:
    sub = df[df["dataset"] == dataset]
    runs = [r for r in runs if r in set(sub["run"])]
    if not runs:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 + 0.6 * len(runs) * len(metrics), 4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        stats = [mean_std(sub[sub["run"] == r][metric]) for r in runs]
        means = [100 * m for m, _ in stats]
        stds = [100 * (s or 0.0) for _, s in stats]
        colors = ["#bbbbbb" if r in ("random", "prompt-diff", "prompt-diff-feat") else "#3b75af" for r in runs]
        ax.bar(range(len(runs)), means, yerr=stds, color=colors, capsize=3)
        ax.set_xticks(range(len(runs)), runs, rotation=45, ha="right", fontsize=8)
        ax.set_ylabel(f"{metric} (%)")
        ax.set_title(f"{dataset}: {metric} (grey = sanity baselines)", fontsize=9)
    return _save(plt, fig, path)


def qualitative_figure(config: dict, dataset: str, runs: list[str], path: Path, max_categories: int = 8) -> Path | None:
    """One anomalous test image per category: image | ground truth | each run's map (its first seed)."""
    from uasbench.predictions import load_predictions

    loaded = {}
    for run in runs:
        seeds = layout.find_predictions(config, run, dataset)
        if seeds:
            loaded[run] = load_predictions(seeds[0])[0]
    if not loaded:
        return None
    return map_grid(loaded, f"{dataset} ({config['tier']} tier): maps scaled per category to the run's 1–99.9 "
                            "percentile", path, max_categories)


def heatmap_figure(pred_dir: Path, path: Path, max_categories: int = 4) -> Path:
    """The qualitative figure of one predictions folder (query | ground truth | map), e.g. an MLflow run's artifact."""
    from uasbench.predictions import load_category_predictions, read_run_meta, run_categories

    meta = read_run_meta(pred_dir)  # only the categories drawn are loaded (a paper-scale run holds GBs of maps)
    preds = {c: load_category_predictions(pred_dir, c) for c in sorted(run_categories(pred_dir, meta))[:max_categories]}
    title = f"{meta.get('run', '?')} on {meta.get('dataset', '?')}, seed {meta.get('seed', '?')}"
    return map_grid({str(meta.get("run", "map")): preds}, title, path, max_categories)


def map_grid(loaded: dict, title: str, path: Path, max_categories: int = 8) -> Path:
    """Rows of categories: the first anomalous test image, its ground truth and each run's map (min-max to the
    run's 1–99.9 percentile within the category, so maps of different scales look alike)."""
    from uasbench.datasets import read_image

    first = next(iter(loaded.values()))
    categories = sorted(first)[:max_categories]
    plt = _plt()
    ncols = 2 + len(loaded)
    fig, axes = plt.subplots(len(categories), ncols, figsize=(1.6 * ncols, 1.6 * len(categories)), squeeze=False)
    for i, cat in enumerate(categories):
        ref = first[cat]
        idx = int(np.argmax(np.asarray(ref.labels) > 0)) if np.any(np.asarray(ref.labels) > 0) else 0
        size = ref.masks.shape[-1]
        panels = [("image", read_image(ref.paths[idx], size), None), ("ground truth", ref.masks[idx], "gray")]
        for run, preds in loaded.items():
            m = preds[cat].maps[idx].astype(np.float32)
            lo, hi = np.percentile(preds[cat].maps.astype(np.float32), [1, 99.9])
            panels.append((run, np.clip((m - lo) / max(hi - lo, 1e-8), 0, 1), "jet"))
        for j, (name, img, cmap) in enumerate(panels):
            ax = axes[i, j]
            ax.imshow(img, cmap=cmap, vmin=0 if cmap else None, vmax=1 if cmap else None)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(name, fontsize=7)
            if j == 0:
                ax.set_ylabel(cat, fontsize=7)
    fig.suptitle(title, fontsize=8)
    return _save(plt, fig, path)
