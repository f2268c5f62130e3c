import re

# The config's official checkpoints (`checkpoints:`), converted into the model files their runs name with `model:`,
# so the released weights are evaluated with no training job. Defined only when the config has checkpoints.



def checkpoint_source(wc):
    """The official file; when planning without data (UASBENCH_SKIP_ROOT_CHECK) a missing one is left out."""
    source = config["checkpoints"][wc.model]["source"]
    return [] if os.environ.get("UASBENCH_SKIP_ROOT_CHECK") and not Path(source).is_file() else [source]


if config.get("checkpoints"):

    rule convert_checkpoint:
        input:
            checkpoint_source,
        output:
            layout.converted_dir(config, "{model}") / layout.MODEL_FILE,
        wildcard_constraints:
            model="|".join(re.escape(name) for name in config["checkpoints"]),
        params:
            cfg=RESOLVED_CONFIG,
            settings=lambda wc: settings_digest(config, "convert_checkpoint", model=wc.model),
        log:
            layout.log_file(config, "convert", "{model}"),
        threads: 1
        resources:
            mem_mb=8000,
        conda:
            CONDA_ENV
        shell:
            "{UAS} convert checkpoint {wildcards.model:q} --config {params.cfg} > {log:q} 2>&1"
