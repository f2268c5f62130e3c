# Datasets the workflow generates itself: the embedded anomaly benchmark and the change pairs MetaUAS trains on.


rule synthetic_dataset:
    output:
        layout.dataset_marker(config, "{dataset}"),
    params:
        spec=lambda wc: job_settings(config, "synthetic_dataset", dataset=wc.dataset),
        settings=lambda wc: settings_digest(config, "synthetic_dataset", dataset=wc.dataset),
        outdir=lambda wc: str(layout.dataset_dir(config, wc.dataset)),
        categories=lambda wc: (
            "--categories " + ",".join(config["datasets"][wc.dataset]["categories"])
            if config["datasets"][wc.dataset].get("categories")
            else ""
        ),
    log:
        layout.log_file(config, "data", "{dataset}"),
    benchmark:
        layout.benchmark_file(config, "data", "{dataset}")
    resources:
        mem_mb=2000,
    conda:
        CONDA_ENV
    shell:
        "{UAS} data make-synthetic-ad --out {params.outdir} --force --seed {params.spec[seed]} "
        "--image-size {params.spec[image_size]} --n-train {params.spec[n_train]} "
        "--n-test-good {params.spec[n_test_good]} --n-test-defect {params.spec[n_test_defect]} {params.categories} "
        "> {log} 2>&1"


rule change_pairs:
    input:
        lambda wc: coco_markers(),
    output:
        layout.change_pairs_manifest(config),
    params:
        spec=job_settings(config, "change_pairs"),
        settings=settings_digest(config, "change_pairs"),
        outdir=str(layout.change_pairs_dir(config)),
        inpainter=config["change_pairs"]["inpainter"],
        kinds=",".join(config["change_pairs"]["kinds"]),
        coco=lambda wc: (
            f"--coco-images {config['change_pairs']['coco_images']} "
            f"--coco-annotations {config['change_pairs']['coco_annotations']}"
            if config["change_pairs"].get("coco_images")
            else ""
        ),
    log:
        layout.log_file(config, "data", layout.CHANGE_PAIRS),
    benchmark:
        layout.benchmark_file(config, "data", layout.CHANGE_PAIRS)
    threads: MAX_THREADS  # pairs are synthesized in parallel processes, byte-identical for any count
    resources:
        mem_mb=4000,
    conda:
        CONDA_ENV
    shell:
        "{UAS} data make-change-pairs --out {params.outdir} --force --seed {params.spec[seed]} "
        "--n-pairs {params.spec[n_pairs]} --image-size {params.spec[image_size]} "
        "--kinds {params.kinds} --val-fraction {params.spec[val_fraction]} --inpainter {params.inpainter} --quiet {params.coco} "
        "--sampling {params.spec[sampling]} "
        "--workers {threads} > {log} 2>&1"
