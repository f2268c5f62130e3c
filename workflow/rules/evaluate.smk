# The seven paper metrics per category and their mean, under the configured protocol.


rule evaluate:
    input:
        layout.prediction_meta(config, "{run}", "{dataset}", "{seed}"),
    output:
        layout.metrics_file(config, "{run}", "{dataset}", "{seed}"),
    params:
        preddir=lambda wc: str(layout.prediction_dir(config, wc.run, wc.dataset, wc.seed)),
        protocol=config["metric_protocol"],
        settings=settings_digest(config, "evaluate"),
    log:
        layout.log_file(config, "evaluate", *JOB),
    benchmark:
        layout.benchmark_file(config, "evaluate", *JOB)
    threads: 1
    resources:
        mem_mb=4000,
    conda:
        CONDA_ENV
    shell:
        "{UAS} evaluate --pred {params.preddir:q} --out {output:q} --protocol {params.protocol} > {log:q} 2>&1"


METRIC_FILES = [layout.metrics_file(config, r, d, s) for r, d, s in JOBS]


rule evaluate_paper_protocol:
    input:
        layout.prediction_meta(config, "{run}", "{dataset}", "{seed}"),
    output:
        layout.metrics_file(config, "{run}", "{dataset}", "{seed}", protocol="{protocol}"),
    wildcard_constraints:
        protocol="[a-z]+-compat",
    params:
        preddir=lambda wc: str(layout.prediction_dir(config, wc.run, wc.dataset, wc.seed)),
    log:
        layout.log_file(config, "evaluate_{protocol}", *JOB),
    threads: 1
    resources:
        mem_mb=4000,
    conda:
        CONDA_ENV
    shell:
        "{UAS} evaluate --pred {params.preddir:q} --out {output:q} --protocol {wildcards.protocol} > {log:q} 2>&1"


PAPER_METRIC_FILES = [layout.metrics_file(config, r, d, s, protocol=p) for p, r, d, s in PAPER_JOBS]
