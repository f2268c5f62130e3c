"""The SLURM route as a new user takes it: the ci DAG through `--workflow-profile workflow/profiles/slurm`.

`make test-cluster` starts a single-node SLURM here (scripts/slurm_single_node.sh installs slurm-wlm and munge when
missing: root and apt-get), then checks, through sbatch:
1. with the account or partition unset the workflow stops before submitting anything, naming the variable to set;
2. a job runs without --cores (no thread count depends on workflow.cores);
3. the whole ci DAG (CPU config: no GPU gres asked for, no conda) reproduces tests/regression/expected_ci.json
   exactly, and `snakemake --report` works on it without --cores.
Opt-in (UASBENCH_CLUSTER_TESTS=1, which `make test-cluster` sets); skipped, saying why, where SLURM cannot be
installed or started.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.regression.test_ci_pipeline import CONFIG, GOLDEN, ROOT, snakemake

pytestmark = pytest.mark.cluster

SCRIPT = ROOT / "scripts" / "slurm_single_node.sh"
RESULTS = ROOT / "results" / "ci-cluster"
CANNOT_RUN_SLURM = (3, 4)  # the script's "cannot install" / "daemons did not come up"
SUBMITTED = "has been submitted with SLURM jobid"


def _script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """A running single-node SLURM and the profile's variables set to its partition (no accounts)."""
    if os.environ.get("UASBENCH_CLUSTER_TESTS") != "1":
        pytest.skip("SLURM pipeline test: run `make test-cluster` (or set UASBENCH_CLUSTER_TESTS=1)")
    was_running = _script("status").returncode == 0
    started = _script("start")
    if started.returncode in CANNOT_RUN_SLURM:
        pytest.skip(f"no SLURM here: {started.stderr.strip()[-600:]}")
    assert started.returncode == 0, started.stderr
    partition = started.stdout.strip().splitlines()[-1]
    shutil.rmtree(RESULTS, ignore_errors=True)  # every job through SLURM, not a rerun's "nothing to be done"
    logdir = tmp_path_factory.mktemp("slurm_logs")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("UASBENCH_SLURM_ACCOUNT", "")  # this cluster has no accounting database, hence no accounts
        env.setenv("UASBENCH_SLURM_PARTITION", partition)
        yield logdir
    if not was_running:
        _script("stop")


def profile_args(logdir: Path) -> list[str]:
    """The profile, and what this one-node test cluster needs on top of it."""
    return ["--workflow-profile", "workflow/profiles/slurm",
            "--slurm-status-command", "squeue",  # no accounting database here
            "--slurm-init-seconds-before-status-checks", "5",  # tiny jobs: notice each end within seconds, not 40 s
            "--slurm-logdir", str(logdir), "--slurm-keep-successful-logs",  # evidence of what SLURM ran
            "--set-resources", "train:mem_mb=8000",  # the profile asks 64 GB, more than this node has
            # The golden numbers come from predict on one thread (the rule's count; the local ci run): on the
            # profile's 4 (capped at --cores 2) torch's convolutions round differently (~1e-6 in MetaUAS/PatchCore).
            "--set-threads", "predict=1"]


def snakemake_without_cores(*extra: str) -> subprocess.CompletedProcess:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    cmd = [str(bin_dir / "snakemake"), "--configfile", str(CONFIG), "--nolock",
           "--config", f"results_dir={RESULTS.relative_to(ROOT)}", *extra]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)


@pytest.mark.parametrize("unset, message", [
    (("UASBENCH_SLURM_ACCOUNT", "UASBENCH_SLURM_PARTITION"),
     "SLURM needs your account and partition: export UASBENCH_SLURM_ACCOUNT=... UASBENCH_SLURM_PARTITION=..."),
    (("UASBENCH_SLURM_PARTITION",), "SLURM needs your partition: export UASBENCH_SLURM_PARTITION=..."),
])
def test_unset_account_or_partition_stops_before_any_submission(slurm, monkeypatch, unset, message):
    for name in unset:
        monkeypatch.delenv(name)
    proc = snakemake(*profile_args(slurm), results=RESULTS, wait=False)
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode != 0 and message in out, out[-3000:]
    assert SUBMITTED not in out


def test_a_job_runs_through_slurm_without_cores(slurm):
    done = snakemake_without_cores(*profile_args(slurm), "--until", "synthetic_dataset")
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert SUBMITTED in done.stdout + done.stderr
    assert list((slurm / "rule_synthetic_dataset").rglob("*.log")), "no SLURM job log for the dataset job"


@pytest.fixture(scope="module")
def cluster_results(slurm) -> str:
    return snakemake(*profile_args(slurm), results=RESULTS)


def test_ci_dag_through_slurm_matches_the_golden_numbers_exactly(slurm, cluster_results):
    from uasbench.cli import main
    from uasbench.config import load_config
    from uasbench.regression import collect_results, load_golden

    assert SUBMITTED in cluster_results
    trained = {p.parent.name for p in (slurm / "rule_train").rglob("*.log")}
    assert trained == set(load_config(CONFIG)["training"]), f"train jobs SLURM ran: {sorted(trained)}"
    code = main(["regress", "--expected", str(GOLDEN), "--config", str(CONFIG), "--results", str(RESULTS)])
    assert code == 0, "the SLURM run drifted from tests/regression/expected_ci.json (table above)"
    current = {key: run.to_json() for key, run in collect_results(RESULTS).items()}
    assert current == {key: run.to_json() for key, run in load_golden(GOLDEN).values.items()}


def test_report_needs_no_cores(cluster_results, tmp_path):
    report = tmp_path / "report.html"
    done = snakemake_without_cores("--report", str(report))
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert report.stat().st_size > 0
