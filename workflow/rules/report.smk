# Paper tables (Markdown, LaTeX, CSV) and figures into reports/<tier>/, built from the tracked results.

REPORT_OUTPUTS = [f"{REPORT_DIR}/index.md"]
FIGURES = [f"{REPORT_DIR}/figures/{kind}_{ds}.png" for ds in DATASET_NAMES for kind in ("bars", "qualitative")]


rule report:
    input:
        logged=f"{RESULTS}/tracking/logged.json",
        metrics=METRIC_FILES,
        efficiency=EFFICIENCY_FILES,
    output:
        index=report(f"{REPORT_DIR}/index.md", category="Index"),
        tables=report(
            directory(f"{REPORT_DIR}/tables"),
            patterns=["{name}.md"],
            category="Tables",
        ),
        figures=report(FIGURES, category="Figures"),
    params:
        cfg=RESOLVED_CONFIG,
        outdir=REPORT_DIR,
    log:
        f"{RESULTS}/logs/report.log",
    conda:
        CONDA_ENV
    shell:
        "{UAS} report --config {params.cfg} --out {params.outdir} > {log:q} 2>&1"
