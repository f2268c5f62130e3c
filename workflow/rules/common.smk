# Config validation, the resolved config every CLI call reads, and the job lists (runs x datasets x seeds).
import os
import platform
from pathlib import Path

import yaml
from snakemake.utils import available_cpu_count

from uasbench.config import validate_config, dataset_root
from uasbench.reports.paper_protocol import run_protocols
from uasbench.errors import UasbenchError

try:
    validate_config(config, source="snakemake config")
except UasbenchError as err:
    raise WorkflowError(str(err))

# Reproducible CPU numerics: every x86-64 CPU runs the same (AVX2) kernels of torch, oneDNN and MKL, so a trained
# model and the golden numbers do not depend on whether the machine has AVX-512 or is an Intel or AMD part.
# Set any of these variables yourself to override; GPU runs (device: cuda) are left alone.
if config.get("device", "auto") != "cuda" and platform.machine().lower() in ("x86_64", "amd64"):
    for _name, _value in (("ATEN_CPU_CAPABILITY", "avx2"), ("ONEDNN_MAX_CPU_ISA", "AVX2"), ("MKL_CBWR", "AVX2")):
        os.environ.setdefault(_name, _value)

RESULTS = config["results_dir"]
TIER = config["tier"]
REPORT_DIR = f"reports/{TIER}"
GPU = 1 if config.get("device", "auto") == "cuda" else 0
UAS = "python -m uasbench"  # works in the venv and in the conda env (run from the repo root)

# Every CLI call reads this file, so --config overrides on the command line reach the commands too.
# It is rewritten only when its content changes, keeping a second invocation a no-op.
RESOLVED_CONFIG = f"{RESULTS}/config.resolved.yaml"
_text = yaml.safe_dump(dict(config), sort_keys=False)  # keep the run order: it is the table row order
if not Path(RESOLVED_CONFIG).exists() or Path(RESOLVED_CONFIG).read_text() != _text:
    Path(RESULTS).mkdir(parents=True, exist_ok=True)
    _tmp = Path(RESOLVED_CONFIG + ".tmp")
    _tmp.write_text(_text)
    os.replace(_tmp, RESOLVED_CONFIG)

SEEDED_PROMPTS = {"random", "random-per-image"}


def check_dataset_roots():
    for name, spec in config["datasets"].items():
        if spec["kind"] != "synthetic-ad" and not Path(spec["root"]).is_dir():
            raise WorkflowError(
                f"datasets.{name}.root = {spec['root']!r} does not exist: point it at your {spec['kind']} folder "
                f"(config: {workflow.configfiles[-1] if workflow.configfiles else 'config/config.yaml'})"
            )


def check_prompts_root():
    root = config.get("prompts_root")
    if root and not Path(root).is_dir():
        raise WorkflowError(f"prompts_root = {root!r} does not exist: point it at the official MetaUAS prompt files "
                            "(the data/ folder of github.com/gaobb/MetaUAS), or remove the key to draw prompts")


if not os.environ.get("UASBENCH_SKIP_ROOT_CHECK"):
    check_dataset_roots()
    check_prompts_root()


def run_datasets(run):
    return config["runs"][run].get("datasets", list(config["datasets"]))


def run_seeds(run):
    if config["runs"][run].get("prompt", "random") in SEEDED_PROMPTS:
        return config["runs"][run].get("seeds", config.get("prompt_seeds", [0]))
    return [0]


JOBS = [
    (run, dataset, seed)
    for run in config["runs"]
    for dataset in run_datasets(run)
    for seed in run_seeds(run)
]
DATASET_NAMES = sorted(config["datasets"])
# The same predictions once more under the protocol of each paper table a run is compared with (Δ columns).
PAPER_JOBS = [
    (protocol, run, dataset, seed)
    for run, dataset, seed in JOBS
    for protocol in run_protocols(config).get(run, [])
]


def dataset_marker(dataset):
    """The file whose existence means the dataset is ready (generated ones are built by a rule)."""
    if config["datasets"][dataset]["kind"] == "synthetic-ad":
        return [f"{RESULTS}/data/{dataset}/dataset.json"]
    return []


# Threads for the multi-threaded rules (train, latency): the cores `--cores all` means; Snakemake caps them at --cores.
# Not workflow.cores: that is undefined without --cores (snakemake --report, --summary) and the parse would fail.
MAX_THREADS = available_cpu_count()

CONDA_ENV = "../envs/uasbench.yaml"
