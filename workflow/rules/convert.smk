import re

# The config's official checkpoints (`checkpoints:`), converted into the model files their runs name with `model:`,
# so the released weights are evaluated with no training job. Defined only when the config has checkpoints.

if config.get("checkpoints"):

    rule convert_checkpoint:
        input:
            lambda wc: config["checkpoints"][wc.model]["source"],
        output:
            layout.converted_dir(config, "{model}") / layout.MODEL_FILE,
        wildcard_constraints:
            model="|".join(re.escape(name) for name in config["checkpoints"]),
        params:
            cfg=RESOLVED_CONFIG,
        log:
            layout.log_file(config, "convert", "{model}"),
        threads: 1
        resources:
            mem_mb=8000,
        conda:
            CONDA_ENV
        shell:
            "{UAS} convert checkpoint {wildcards.model:q} --config {params.cfg} > {log:q} 2>&1"
