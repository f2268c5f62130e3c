# The seven paper metrics per category and their mean, under the configured protocol.


rule evaluate:
    input:
        f"{RESULTS}/predictions/{{dataset}}/{{run}}/seed{{seed}}/meta.json",
    output:
        f"{RESULTS}/metrics/{{dataset}}/{{run}}/seed{{seed}}.json",
    params:
        preddir=lambda wc: f"{RESULTS}/predictions/{wc.dataset}/{wc.run}/seed{wc.seed}",
        protocol=config.get("metric_protocol", "official"),
    log:
        f"{RESULTS}/logs/evaluate/{{dataset}}/{{run}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/evaluate/{{dataset}}/{{run}}/seed{{seed}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
    conda:
        CONDA_ENV
    shell:
        "{UAS} evaluate --pred {params.preddir:q} --out {output:q} --protocol {params.protocol} > {log:q} 2>&1"


METRIC_FILES = [f"{RESULTS}/metrics/{d}/{r}/seed{s}.json" for r, d, s in JOBS]


rule evaluate_paper_protocol:
    input:
        f"{RESULTS}/predictions/{{dataset}}/{{run}}/seed{{seed}}/meta.json",
    output:
        f"{RESULTS}/metrics_{{protocol}}/{{dataset}}/{{run}}/seed{{seed}}.json",
    wildcard_constraints:
        protocol="[a-z]+-compat",
    params:
        preddir=lambda wc: f"{RESULTS}/predictions/{wc.dataset}/{wc.run}/seed{wc.seed}",
    log:
        f"{RESULTS}/logs/evaluate_{{protocol}}/{{dataset}}/{{run}}/seed{{seed}}.log",
    threads: 1
    resources:
        mem_mb=4000,
    conda:
        CONDA_ENV
    shell:
        "{UAS} evaluate --pred {params.preddir:q} --out {output:q} --protocol {wildcards.protocol} > {log:q} 2>&1"


PAPER_METRIC_FILES = [f"{RESULTS}/metrics_{p}/{d}/{r}/seed{s}.json" for p, r, d, s in PAPER_JOBS]
