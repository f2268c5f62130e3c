"""``uasbench report``: every configured paper table (Markdown, LaTeX, CSV), figures and an index, per tier."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from uasbench import layout
from uasbench.io import write_text
from uasbench.reports.collect import METRICS, categories_of, collect_runs, efficiency_for
from uasbench.reports.paper_protocol import config_tables, metric_column, paper_row, table_protocol
from uasbench.reports.tables import (MISSING, NO_NUMBER, Table, fmt_percent, fmt_plain, mean_std, to_csv, to_html,
                                     to_json, to_latex, to_markdown)

DEFAULT_COLUMNS = list(METRICS)
TIER_NOTES = {
    "paper": "reproduction at paper scale",
    "custom": "your own data and weights ('uasbench run'): not the papers' datasets, NOT comparable to their numbers",
    "embedded": "scaled-down run on generated data and shipped/random weights; NOT comparable to the papers' numbers",
    "ci": "tiny CI regression run on generated data; NOT comparable to the papers' numbers",
}
PAPER_DATASET_OF_KIND = {"mvtec": "mvtec", "visa": "visa", "goodsad": "goods", "btad": "btad"}


def banner(config: dict, df: pd.DataFrame) -> list[str]:
    protocols = ", ".join(sorted(df["metric_protocol"].unique()))
    notes = [f"config tier: {config['tier']} — " + TIER_NOTES.get(config["tier"], TIER_NOTES["embedded"]),
             f"metric protocol: {protocols}"]
    random_runs = sorted(df.loc[df["weight_source"].str.contains("random"), "run"].unique())
    if random_runs:
        notes.append("RANDOM backbone weights (results not meaningful as a method comparison): "
                     + ", ".join(random_runs))
    # fp32 (the published numerics) goes unsaid; any other precision the predictions record is named with its runs
    if "precision" in df:
        reduced = df[df["precision"] != "fp32"].groupby("precision")["run"].unique()
        notes += [f"precision {name} (not fp32): {', '.join(sorted(runs))}" for name, runs in sorted(reduced.items())]
    return notes


def _run_label(config: dict, run: str) -> str:
    return config["runs"][run].get("label", run)


def metrics_table(config: dict, df: pd.DataFrame, spec: dict, datasets: list[str], title: str) -> Table:
    """One row per run; a run's results come from the first of ``datasets`` it was evaluated on (the paper's
    Tab 1 mixes resolutions: MetaUAS at 256/512, UniAD at 224, all under one dataset)."""
    cols = spec.get("columns", DEFAULT_COLUMNS)
    rows = []
    for run in spec["runs"]:
        for ds in datasets:
            sub = df[(df["run"] == run) & (df["dataset"] == ds)]
            if not sub.empty:
                break
        else:
            continue
        cells = [fmt_percent(*mean_std(sub[c])) if c in sub else NO_NUMBER for c in cols]
        rows.append([_run_label(config, run), config["runs"][run]["prompt"], config["datasets"][ds]["image_size"],
                     len(sub),
                     ", ".join(sorted(sub["weight_source"].unique()))] + cells)
    return Table(title, ["Method", "Prompt", "Input", "Seeds", "Weights"] + cols, rows,
                 banner(config, df[df["dataset"].isin(datasets)]))


def dataset_groups(config: dict, datasets: list[str]) -> dict[str, list[str]]:
    """Datasets reproducing the same paper dataset (e.g. mvtec-256 and mvtec-224) share one table."""
    groups: dict[str, list[str]] = {}
    for ds in datasets:
        groups.setdefault(config["datasets"][ds].get("paper_dataset") or ds, []).append(ds)
    return groups


def per_category_table(config: dict, df: pd.DataFrame, spec: dict, dataset: str, metric: str) -> Table:
    runs = [r for r in spec["runs"] if not df[(df["run"] == r) & (df["dataset"] == dataset)].empty]
    rows = []
    for cat in categories_of(df, dataset) + ["mean"]:
        col = metric if cat == "mean" else f"cat.{cat}.{metric}"
        rows.append([cat] + [fmt_percent(*mean_std(df[(df["run"] == r) & (df["dataset"] == dataset)][col]))
                             if col in df else NO_NUMBER for r in runs])
    return Table(f"{spec['title']} on {dataset} — {metric}", ["Category"] + [_run_label(config, r) for r in runs],
                 rows, banner(config, df[df["dataset"] == dataset]))


def efficiency_table(config: dict, df: pd.DataFrame, spec: dict) -> Table:
    """MetaUAS Tab 2: parameters, input size and forward time per run, beside the paper's V100 time where the run
    names its paper row; the precision column says which numerics were timed."""
    rows = []
    for run in spec["runs"]:
        eff = efficiency_for(config, run)
        if not eff:
            continue
        sub = df[df["run"] == run]
        lat = eff.get("latency_ms", {})
        per_image = {b: s["median"] / int(b) for b, s in lat.items()}
        params = f"{eff['params']['total'] / 1e6:.1f} ({eff['params']['learnable'] / 1e6:.1f})"
        rows.append([_run_label(config, run), params,
                     eff["image_size"], fmt_plain(lat.get("1", {}).get("median"), 1),
                     " / ".join(f"{v:.1f}@b{b}" for b, v in sorted(per_image.items(), key=lambda x: int(x[0]))),
                     fmt_plain(paper_latency(config["runs"][run].get("paper_row")), 1),
                     eff.get("precision", "fp32"), eff.get("device", "?"),
                     eff.get("weight_source", "?")] + [fmt_percent(*mean_std(sub[c])) if c in sub else NO_NUMBER
                                                       for c in ("I-AUROC", "P-AUROC", "P-AP")])
    notes = banner(config, df) + ["latency: median wall-clock ms of one forward (after warm-up, CUDA synchronised) "
                                  "on the device named; the paper's column is MetaUAS Tab 2 (one V100, batch 32, "
                                  "ms per image)"]
    return Table(spec["title"], ["Method", "All params M (learnable)", "Input", "ms @ b1", "ms/image",
                                 "Paper ms/image (V100 b32)", "Precision", "Device", "Weights",
                                 "I-AUROC", "P-AUROC", "P-AP"], rows, notes)


def paper_latency(row_id: str | None) -> float | None:
    """MetaUAS Tab 2's forward time of the row ``row_id`` (None when the row is not in that table)."""
    from uasbench.errors import ConfigError
    from uasbench.reports.paper_numbers import lookup

    if not row_id:
        return None
    try:
        return lookup("metauas", "metauas_tab2", "mvtec", row_id, "latency_ms")
    except ConfigError:
        return None


def paper_vs_reproduced(config: dict, df: pd.DataFrame, spec: dict, name: str = "") -> Table | None:
    """Paper number, reproduced number and Δ per (run, dataset, metric); reproduced under the paper's protocol."""
    from uasbench.reports.paper_numbers import load_paper_numbers

    if not spec.get("paper_table"):
        return None
    protocol = table_protocol(name or str(spec["paper_table"]), spec)
    main_protocol = config["metric_protocol"]
    paper = load_paper_numbers()
    paper = paper[(paper["table"] == spec["paper_table"]) & paper["category"].isna()]
    rows = []
    for ds_name, ds in config["datasets"].items():
        paper_ds = ds.get("paper_dataset") or PAPER_DATASET_OF_KIND.get(ds["kind"])
        for run in spec["runs"]:
            row_id = paper_row(config, spec, run)
            if not row_id or ds_name not in config["runs"][run].get("datasets", config["datasets"]):
                continue
            sub = df[(df["run"] == run) & (df["dataset"] == ds_name)]
            score = used_image_score(sub, metric_column(protocol, "image_score", main_protocol))
            for metric in spec.get("columns", DEFAULT_COLUMNS):
                ref = paper[(paper["dataset"] == paper_ds) & (paper["row"] == row_id) & (paper["column"] == metric)]
                column = metric_column(protocol, metric, main_protocol)
                mine = mean_std(sub[column])[0] * 100 if column in sub and not sub.empty else float("nan")
                theirs = float(ref["value"].iloc[0]) if not ref.empty else float("nan")
                rows.append([_run_label(config, run), ds_name, paper_ds or "–", metric, protocol or main_protocol,
                             score if metric.startswith("I-") else "map", fmt_plain(theirs, 1), fmt_plain(mine, 1),
                             fmt_plain(mine - theirs, 1)])
    notes = banner(config, df) + [f"Reproduced and Δ use the paper's own evaluator: protocol "
                                  f"{protocol or main_protocol} (uasbench/reports/paper_protocol.py); the other "
                                  "tables use the metric protocol above",
                                  "Score (image metrics): the image score the evaluation recorded: the evaluator's "
                                  "rule on the stored map (max, avgpool16), or 'given' = the method's own float32 "
                                  "score, used only where it is exactly that rule (MetaUAS: map max; UniAD/OneNIP: "
                                  "avgpool16), which avoids the ties of the float16 map"]
    if config["tier"] != "paper":
        notes.append("this tier's datasets are not the papers' datasets: the deltas are NOT a reproduction check")
    return Table(f"Paper vs reproduced ({spec['paper_table']})", ["Method", "Dataset", "Paper dataset", "Metric",
                                                                 "Protocol", "Score", "Paper", "Reproduced", "Δ"],
                 rows, notes)


def used_image_score(sub: pd.DataFrame, column: str) -> str:
    """The image score(s) recorded for these results ("–" when none was recorded, e.g. tracked before it was)."""
    values = sorted({str(v) for v in sub[column].dropna()}) if column in sub else []
    return ", ".join(values) or MISSING


def write_table(out_dir: Path, name: str, table: Table, meta: dict[str, str] | None = None) -> list[Path]:
    """Markdown/LaTeX/HTML for reading, CSV (+ .json sidecar holding ``meta`` and the banner) for programs."""
    paths = []
    for ext, text in (("md", to_markdown(table)), ("tex", to_latex(table)), ("html", to_html(table)),
                      ("csv", to_csv(table, meta)), ("json", to_json(table, meta))):
        path = out_dir / layout.TABLES / f"{name}.{ext}"
        write_text(path, text)
        paths.append(path)
    return paths


def build_report(config: dict, out_dir: str | Path) -> Path:
    from uasbench.reports.figures import bar_chart, qualitative_figure

    out_dir = Path(out_dir)
    df = collect_runs(config)
    tables = config_tables(config)
    sections: list[str] = []
    meta = {"tier": config["tier"], "metric_protocol": config["metric_protocol"]}
    for name, spec in tables.items():
        datasets = spec.get("datasets", list(config["datasets"]))
        if spec.get("efficiency"):
            built = [(name, efficiency_table(config, df, spec))]
        elif spec.get("per_category"):
            built = [(f"{name}_{ds}_{m}", per_category_table(config, df, spec, ds, m))
                     for ds in datasets for m in spec.get("columns", ["I-AUROC", "P-AP"])]
        else:
            built = [(f"{name}_{members[0]}", metrics_table(config, df, spec, members,
                                                       f"{spec['title']} — {', '.join(members)}"))
                     for members in dataset_groups(config, datasets).values()]
            versus = paper_vs_reproduced(config, df, spec, name)
            if versus is not None:
                built.append((f"{name}_paper_vs_reproduced", versus))
        for table_name, table in built:
            write_table(out_dir, table_name, table, meta)
            sections.append(to_markdown(table) + f"\n(files: tables/{table_name}.md / .tex / .html / .csv + .json)\n")
    figures = []
    for ds in config["datasets"]:
        figures.append(bar_chart(df, ds, list(config["runs"]), out_dir / "figures" / f"bars_{ds}.png"))
        figures.append(qualitative_figure(config, ds, list(config["runs"]),
                                          out_dir / "figures" / f"qualitative_{ds}.png"))
    fig_md = "\n".join(f"![{p.stem}](figures/{p.name})" for p in figures if p is not None)
    index = out_dir / "index.md"
    write_text(index, f"# uasbench report — tier: {config['tier']}\n\n" + "\n".join(sections) + "\n## Figures\n\n"
               + fig_md + "\n")
    return index
