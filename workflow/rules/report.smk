# Paper tables (Markdown, LaTeX, HTML, CSV) and figures into reports/<tier>/, built from the tracked results.

REPORT_OUTPUTS = [REPORT_DIR / "index.md"]
FIGURES = [REPORT_DIR / "figures" / f"{kind}_{ds}.png" for ds in DATASET_NAMES for kind in ("bars", "qualitative")]


rule report:
    input:
        logged=layout.tracking_done(config),
        metrics=METRIC_FILES,
        paper_metrics=PAPER_METRIC_FILES,
        efficiency=EFFICIENCY_FILES,
    output:
        index=report(REPORT_DIR / "index.md", caption="../report/index.rst", category="Index"),
        # The report shows HTML (not Markdown): one .html per table, written beside its .md/.tex/.csv.
        tables=report(
            directory(REPORT_DIR / "tables"),
            patterns=["{name}.html"],
            caption="../report/tables.rst",
            category="Tables",
            labels={"table": "{name}"},
        ),
        figures=report(FIGURES, caption="../report/figures.rst", category="Figures"),
    params:
        cfg=RESOLVED_CONFIG,
        settings=settings_digest(config, "report"),
        outdir=str(REPORT_DIR),
    log:
        layout.log_file(config, "report"),
    conda:
        CONDA_ENV
    shell:
        "{UAS} report --config {params.cfg} --out {params.outdir} > {log:q} 2>&1"
