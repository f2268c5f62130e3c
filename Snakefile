# uasbench main workflow: `snakemake --cores all` runs the embedded default (config/config.yaml);
# `snakemake --cores all --configfile config/paper.yaml` the paper-scale reproduction.
# Every rule calls one `uasbench` CLI command; outputs go to results/, tables and figures to reports/<tier>/.
from snakemake.utils import min_version

min_version("9.0")

# `snakemake --report report.html` (after a run): this description, then the tables and figures with captions.
report: "workflow/report/workflow.rst"


# A --configfile on the command line replaces the embedded default instead of being merged into it.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/fetch.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/convert.smk"
include: "workflow/rules/predict.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/efficiency.smk"
include: "workflow/rules/track.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        REPORT_OUTPUTS,
