# Train MetaUAS (on change pairs), OneNIP and UniAD (on a dataset's normal training images).
# A killed job resumes from results/models/<model>/checkpoint.pt (written after every epoch) when rerun.


def training_inputs(wc):
    entry = config["training"][wc.model]
    data = entry.get("data", "change_pairs")
    keys = [data] if isinstance(data, str) else data
    inputs = []
    for key in keys:
        inputs += [f"{RESULTS}/data/change_pairs/manifest.json"] if key == "change_pairs" else dataset_marker(key)
    return inputs


rule train:
    input:
        training_inputs,
    output:
        f"{RESULTS}/models/{{model}}/model.pt",
    params:
        cfg=RESOLVED_CONFIG,
    log:
        f"{RESULTS}/logs/train/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{model}}.tsv"
    threads: MAX_THREADS
    resources:
        gpu=GPU,
        mem_mb=8000,
    conda:
        CONDA_ENV
    shell:
        "{UAS} train {wildcards.model} --config {params.cfg} --device {config[device]} "
        "--threads {threads} > {log} 2>&1"
