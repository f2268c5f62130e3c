# Config validation, the resolved config every CLI call reads, and the job lists (runs x datasets x seeds).
import os
import platform

import yaml
from snakemake.utils import available_cpu_count

from uasbench import layout
from uasbench.config import validate_config
from uasbench.datasets.splits import GENERATED_KIND, check_categories, dataset_root
from uasbench.pipeline.config_slices import job_settings, settings_digest
from uasbench.pipeline.jobs import prediction_jobs
from uasbench.reports.paper_protocol import run_protocols
from uasbench.errors import UasbenchError, short_message
from uasbench.yamlfile import load_yaml

try:
    for _configfile in workflow.configfiles:  # Snakemake's reader keeps the last of two equal keys: refuse them
        load_yaml(_configfile)
    validate_config(config, source="snakemake config")
except UasbenchError as err:
    raise WorkflowError(short_message(err))

# Reproducible CPU numerics: every x86-64 CPU runs the same (AVX2) kernels of torch, oneDNN and MKL, so a trained
# model and the golden numbers do not depend on whether the machine has AVX-512 or is an Intel or AMD part.
# Set any of these variables yourself to override; GPU runs (device: cuda) are left alone.
if config["device"] != "cuda" and platform.machine().lower() in ("x86_64", "amd64"):
    for _name, _value in (("ATEN_CPU_CAPABILITY", "avx2"), ("ONEDNN_MAX_CPU_ISA", "AVX2"), ("MKL_CBWR", "AVX2")):
        os.environ.setdefault(_name, _value)

# Every path of results/ and reports/ comes from uasbench.layout, the module the commands read them with.
REPORT_DIR = layout.report_dir(config)
JOB = layout.job_key("{run}", "{dataset}", "{seed}")  # a prediction job's path parts, as wildcards
GPU = 1 if config["device"] == "cuda" else 0
UAS = "python -m uasbench"  # works in the venv and in the conda env (run from the repo root)



# Every missing or incomplete input (dataset roots counted against the official counts, prompt files, COCO, weights)
# in one message before the first job; inputs the DAG fetches itself (`fetch: true`) are left to the fetch jobs.
if not os.environ.get("UASBENCH_SKIP_ROOT_CHECK") and workflow.is_main_process:
    from uasbench.inputs.preflight import require_inputs
    from uasbench.inputs.workflow import fetched_sources

    try:
        require_inputs(config, workflow.configfiles[-1] if workflow.configfiles else "config/config.yaml",
                       frozenset(fetched_sources(config)))
        for _dataset in config["datasets"]:  # a misspelt category would drop out of the mean
            if dataset_root(config, _dataset).is_dir():  # one the DAG fetches is checked by its jobs
                check_categories(config, _dataset)
    except UasbenchError as err:
        raise WorkflowError(short_message(err))

# Every CLI call reads this file, so --config overrides on the command line reach the commands too.
# It is rewritten only when its content changes, keeping a second invocation a no-op. Its path never changes, so
# each rule also passes `settings`: a digest of the config keys its job reads (uasbench.pipeline.config_slices).
# Snakemake records every job's params and reruns a job whose params changed, and the jobs downstream of it.
_resolved = layout.resolved_config(config)
RESOLVED_CONFIG = str(_resolved)
_text = yaml.safe_dump(dict(config), sort_keys=False)  # keep the run order: it is the table row order
if not _resolved.exists() or _resolved.read_text() != _text:
    _resolved.parent.mkdir(parents=True, exist_ok=True)
    _tmp = _resolved.with_name(_resolved.name + ".tmp")
    _tmp.write_text(_text)
    os.replace(_tmp, _resolved)


JOBS = prediction_jobs(config)  # (run, dataset, prompt seed), as `uasbench run` lists them too
DATASET_NAMES = sorted(config["datasets"])
# The same predictions once more under the protocol of each paper table a run is compared with (Δ columns).
PAPER_JOBS = [
    (protocol, run, dataset, seed)
    for run, dataset, seed in JOBS
    for protocol in run_protocols(config).get(run, [])
]


def dataset_marker(dataset):
    """The file whose existence means the dataset is ready (generated ones are built by a rule)."""
    if config["datasets"][dataset]["kind"] == GENERATED_KIND:
        return [layout.dataset_marker(config, dataset)]
    return fetch_markers(dataset)  # workflow/rules/fetch.smk: the download stamps, when the config fetches


# Threads for the multi-threaded rules (train, latency): the cores `--cores all` means; Snakemake caps them at --cores.
# Not workflow.cores: that is undefined without --cores (snakemake --report, --summary) and the parse would fail.
MAX_THREADS = available_cpu_count()

# SLURM (workflow/profiles/slurm): sbatch needs the user's account and partition, which the profile reads from these
# variables. Checked once the executor is known (onstart, before the first submission), so an unset one is this
# message rather than an unexpanded "$VAR" handed to sacctmgr/sbatch or a guessed account.
SLURM_VARIABLES = {"slurm_account": "UASBENCH_SLURM_ACCOUNT", "slurm_partition": "UASBENCH_SLURM_PARTITION"}


def unset_slurm_resources(rules):
    """The SLURM resources (of SLURM_VARIABLES) some rule lacks; an empty account is a choice (no accounts)."""
    unset = set()
    for rule in rules:
        for name in SLURM_VARIABLES:
            resource = rule.resources.get(name)
            raw = None if resource is None else resource.raw  # None for a function: given
            value = "" if raw is None else os.path.expandvars(str(raw)).strip()
            if resource is None or "$" in value or (name == "slurm_partition" and raw is not None and not value):
                unset.add(name)
    return sorted(unset)


def check_slurm_resources():
    if workflow.executor_plugin is None or workflow.executor_plugin.name != "slurm" or not workflow.is_main_process:
        return
    unset = unset_slurm_resources({job.rule for job in workflow.dag.needrun_jobs() if not workflow.is_local(job.rule)})
    if unset:
        raise WorkflowError(
            f"SLURM needs your {' and '.join(n.removeprefix('slurm_') for n in unset)}: "
            f"export {' '.join(SLURM_VARIABLES[n] + '=...' for n in unset)} (workflow/profiles/slurm reads them; "
            "`sinfo -s` lists the partitions, `sacctmgr show associations user=$USER format=account` your accounts; "
            "UASBENCH_SLURM_ACCOUNT= (empty) on a cluster without accounts)"
        )


def check_pretrained_weights():
    """A config that claims pretrained weights stops before its first job when one resolves to random (each job's
    command checks again). Here, not at parse time: resolving weights imports torch, which a parse (a dry run, the
    report) must not pay for. UASBENCH_SKIP_ROOT_CHECK=1 skips it, as it skips the input preflight."""
    if os.environ.get("UASBENCH_SKIP_ROOT_CHECK") or not workflow.is_main_process:
        return
    from uasbench.pipeline.weights import check_needs, config_needs

    try:
        check_needs(config_needs(config, refusable_only=True))
    except UasbenchError as err:
        raise WorkflowError(str(err))


onstart:
    check_slurm_resources()
    check_pretrained_weights()

CONDA_ENV = "../envs/uasbench.yaml"
