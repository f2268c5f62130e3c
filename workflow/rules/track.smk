# One local job logs every metrics file and trained model to MLflow (sqlite under results/), so parallel jobs never
# race on the store. It logs the metrics files given to it (its inputs), not whatever lies in results/.


localrules:
    track,


rule track:
    input:
        metrics=METRIC_FILES,
        paper_metrics=PAPER_METRIC_FILES,
        efficiency=EFFICIENCY_FILES,
        models=[layout.model_file(config, m) for m in sorted({r["model"] for r in config["runs"].values()
                                                              if "model" in r})],
    output:
        layout.tracking_done(config),
    params:
        cfg=RESOLVED_CONFIG,
        settings=settings_digest(config, "track"),
    log:
        layout.log_file(config, "track"),
    conda:
        CONDA_ENV
    shell:
        "{UAS} track --config {params.cfg} --out {output:q} {input.metrics:q} {input.paper_metrics:q} > {log:q} 2>&1"
