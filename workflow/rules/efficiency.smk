# Parameter counts and forward latency per run (MetaUAS Tab 2), on the device at hand.


rule latency:
    input:
        predict_inputs_any=lambda wc: (
            [f"{RESULTS}/models/{config['runs'][wc.run]['model']}/model.pt"]
            if "model" in config["runs"][wc.run]
            else []
        ),
    output:
        f"{RESULTS}/efficiency/{{run}}.json",
    params:
        cfg=RESOLVED_CONFIG,
    log:
        f"{RESULTS}/logs/efficiency/{{run}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/efficiency/{{run}}.tsv"
    threads: MAX_THREADS
    resources:
        gpu=GPU,
        mem_mb=8000,
    conda:
        CONDA_ENV
    shell:
        "{UAS} bench latency {wildcards.run:q} --config {params.cfg} --out {output:q} --device {config[device]} "
        "--threads {threads} > {log:q} 2>&1"


EFFICIENCY_FILES = [f"{RESULTS}/efficiency/{r}.json" for r in config["runs"]]
