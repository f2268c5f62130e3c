# One job per (run, dataset, prompt seed): maps + image scores as float16 npz per category.


def predict_inputs(wc):
    run = config["runs"][wc.run]
    inputs = list(dataset_marker(wc.dataset))
    if "model" in run:
        inputs.append(layout.model_file(config, run["model"]))
    return inputs


rule predict:
    input:
        predict_inputs,
    output:
        layout.prediction_meta(config, "{run}", "{dataset}", "{seed}"),
    params:
        cfg=RESOLVED_CONFIG,
        settings=lambda wc: settings_digest(config, "predict", run=wc.run, dataset=wc.dataset),
        outdir=lambda wc: str(layout.prediction_dir(config, wc.run, wc.dataset, wc.seed)),
    log:
        layout.log_file(config, "predict", *JOB),
    benchmark:
        layout.benchmark_file(config, "predict", *JOB)
    threads: 1
    resources:
        gpu=GPU,
        mem_mb=4000,
    conda:
        CONDA_ENV
    shell:
        "{UAS} predict {wildcards.run:q} --config {params.cfg} --dataset {wildcards.dataset} --seed {wildcards.seed} "
        "--out {params.outdir:q} --device {config[device]} --threads {threads} > {log:q} 2>&1"
