# One local job logs every metrics file and trained model to MLflow (sqlite under results/), so parallel jobs never
# race on the store.


localrules:
    track,


rule track:
    input:
        metrics=METRIC_FILES,
        paper_metrics=PAPER_METRIC_FILES,
        efficiency=EFFICIENCY_FILES,
        models=[f"{RESULTS}/models/{m}/model.pt" for m in sorted({r["model"] for r in config["runs"].values()
                                                                  if "model" in r})],
    output:
        f"{RESULTS}/tracking/logged.json",
    params:
        cfg=RESOLVED_CONFIG,
    log:
        f"{RESULTS}/logs/track.log",
    conda:
        CONDA_ENV
    shell:
        "{UAS} track --config {params.cfg} --out {output:q} > {log:q} 2>&1"
