# Parameter counts and forward latency per run (MetaUAS Tab 2), on the device at hand.


rule latency:
    input:
        predict_inputs_any=lambda wc: (
            [layout.model_file(config, config["runs"][wc.run]["model"])]
            if "model" in config["runs"][wc.run]
            else []
        ),
    output:
        layout.efficiency_file(config, "{run}"),
    params:
        cfg=RESOLVED_CONFIG,
        settings=lambda wc: settings_digest(config, "latency", run=wc.run),
    log:
        layout.log_file(config, "efficiency", "{run}"),
    benchmark:
        layout.benchmark_file(config, "efficiency", "{run}")
    threads: MAX_THREADS
    resources:
        gpu=GPU,
        mem_mb=8000,
    conda:
        CONDA_ENV
    shell:
        "{UAS} bench latency {wildcards.run:q} --config {params.cfg} --out {output:q} --device {config[device]} "
        "--threads {threads} > {log:q} 2>&1"


EFFICIENCY_FILES = [layout.efficiency_file(config, r) for r in config["runs"]]
