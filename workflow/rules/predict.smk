# One job per (run, dataset, prompt seed): maps + image scores as float16 npz per category.


def predict_inputs(wc):
    run = config["runs"][wc.run]
    inputs = list(dataset_marker(wc.dataset))
    if "model" in run:
        inputs.append(f"{RESULTS}/models/{run['model']}/model.pt")
    return inputs


rule predict:
    input:
        predict_inputs,
    output:
        f"{RESULTS}/predictions/{{dataset}}/{{run}}/seed{{seed}}/meta.json",
    params:
        cfg=RESOLVED_CONFIG,
        outdir=lambda wc: f"{RESULTS}/predictions/{wc.dataset}/{wc.run}/seed{wc.seed}",
    log:
        f"{RESULTS}/logs/predict/{{dataset}}/{{run}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/predict/{{dataset}}/{{run}}/seed{{seed}}.tsv"
    threads: 1
    resources:
        gpu=GPU,
        mem_mb=4000,
    conda:
        CONDA_ENV
    shell:
        "{UAS} predict {wildcards.run:q} --config {params.cfg} --dataset {wildcards.dataset} --seed {wildcards.seed} "
        "--out {params.outdir:q} --device {config[device]} --threads {threads} > {log:q} 2>&1"
