"""What the DAG asks a scheduler for, planned without one (`snakemake -n`, no --cores, no SLURM needed).

GPU requests follow the config's device: with `device: cuda` a training job asks for `training.<model>.gpus` GPUs
(default 1) and runs under torchrun when that is more than one; a CPU config asks for none (on a cluster without GPU
gres sbatch refuses any --gpus). Planning needs no --cores: no thread count depends on workflow.cores.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from tests.regression.test_ci_pipeline import CONFIG, ROOT


def planned_jobs(config: dict, tmp_path: Path) -> list[dict[str, str]]:
    """Each planned job's rule, wildcards, resources and shell command, from a dry run of the DAG."""
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({**config, "results_dir": str(tmp_path / "results")}, sort_keys=False))
    # --forceall: every job, whatever an earlier run left in reports/<tier> (outside results_dir) or .snakemake
    cmd = [str(Path(sys.executable).parent / "snakemake"), "-n", "-p", "--nolock", "--forceall", "--configfile",
           str(path)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", done.stdout):
        head = re.match(r"(?:local)?rule (\w+):", block)
        if head:
            fields = dict(re.findall(r"^\s*(wildcards|resources|Shell command): (.*)$", block, re.M))
            jobs.append({"rule": head.group(1), **fields})
    return jobs


def gpu_request(job: dict[str, str]) -> int:
    found = re.search(r"\bgpu=(\d+)", job.get("resources", ""))
    return int(found.group(1)) if found else 0


def launcher(shell_command: str) -> str:
    """What the train job's command runs `uasbench train` with: its shell prefix, executed by bash."""
    prefix, _, rest = shell_command.partition("$launch train ")
    assert rest, shell_command
    return subprocess.run(["bash", "-c", prefix + 'echo "$launch"'], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_cuda_training_asks_for_its_gpus_and_launches_torchrun_for_more_than_one(tmp_path):
    config = yaml.safe_load(CONFIG.read_text())
    config["device"] = "cuda"
    config["training"]["metauas"]["gpus"] = 2
    config["training"]["uniad"]["gpus"] = None  # null: the default, one
    jobs = planned_jobs(config, tmp_path)
    train = {job["wildcards"]: job for job in jobs if job["rule"] == "train"}
    assert {k: gpu_request(j) for k, j in train.items()} == {"model=metauas": 2, "model=onenip": 1, "model=uniad": 1}
    assert launcher(train["model=metauas"]["Shell command"]) == "torchrun --standalone --nproc_per_node 2 -m uasbench"
    assert launcher(train["model=onenip"]["Shell command"]) == "python -m uasbench"
    assert all(gpu_request(j) == 1 for j in jobs if j["rule"] in ("predict", "latency"))


def test_cpu_config_asks_for_no_gpu(tmp_path):
    jobs = planned_jobs(yaml.safe_load(CONFIG.read_text()), tmp_path)
    assert {j["rule"] for j in jobs} >= {"train", "predict", "latency"}
    assert [j for j in jobs if gpu_request(j)] == []
