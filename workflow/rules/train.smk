# Train MetaUAS (on change pairs), OneNIP and UniAD (on a dataset's normal training images).
# A killed job resumes from results/models/<model>/checkpoint.pt (written after every epoch) when rerun.


def training_inputs(wc):
    entry = config["training"][wc.model]
    data = entry.get("data", "change_pairs")
    keys = [data] if isinstance(data, str) else data
    inputs = []
    for key in keys:
        inputs += [layout.change_pairs_manifest(config)] if key == layout.CHANGE_PAIRS else dataset_marker(key)
    return inputs


def training_gpus(wc):
    """GPUs of a training entry, one torchrun process each: its `gpus` (default 1), none unless `device: cuda`."""
    return (config["training"][wc.model].get("gpus") or 1) if GPU else 0


rule train:
    input:
        training_inputs,
    output:
        layout.model_file(config, "{model}"),
    params:
        cfg=RESOLVED_CONFIG,
        settings=lambda wc: settings_digest(config, "train", model=wc.model),
    log:
        layout.log_file(config, "train", "{model}"),
    benchmark:
        layout.benchmark_file(config, "train", "{model}")
    threads: MAX_THREADS
    resources:
        gpu=training_gpus,
        mem_mb=8000,
    conda:
        CONDA_ENV
    shell:
        "launch='{UAS}'; [ {resources.gpu} -le 1 ] || "
        "launch='torchrun --standalone --nproc_per_node {resources.gpu} -m uasbench'; "
        "$launch train {wildcards.model} --config {params.cfg} --device {config[device]} "
        "--threads {threads} > {log} 2>&1"
