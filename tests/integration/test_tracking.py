"""MLflow under concurrency: parallel logging jobs neither lose nor duplicate runs; re-logging a key replaces it."""

import subprocess
import sys

from uasbench.tracking import log_result, search_runs

LOG_ONE = """
import sys
from uasbench.tracking import log_result
uri, key = sys.argv[1], sys.argv[2]
log_result(uri, "uasbench/test/ds", key, {"method": key}, {"I-AUROC": 0.5, "P-AP": 0.25, "cat.a.P-AP": 0.2},
           {"method": key, "dataset": "ds"})
"""


def test_eight_parallel_jobs_give_eight_complete_runs(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    procs = [subprocess.Popen([sys.executable, "-c", LOG_ONE, uri, f"m{i}|ds|0"]) for i in range(8)]
    assert [p.wait(timeout=300) for p in procs] == [0] * 8
    runs = search_runs(uri)
    assert sorted(runs["tags.uasbench.key"]) == sorted(f"m{i}|ds|0" for i in range(8))
    assert runs[["metrics.I-AUROC", "metrics.P-AP", "metrics.cat.a.P-AP"]].notna().all().all()


def test_relogging_a_key_replaces_the_run(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    log_result(uri, "uasbench/test/ds", "m|ds|1", {}, {"I-AUROC": 0.1}, {})
    log_result(uri, "uasbench/test/ds", "m|ds|1", {}, {"I-AUROC": 0.9}, {})
    runs = search_runs(uri)
    assert len(runs) == 1 and runs["metrics.I-AUROC"].iloc[0] == 0.9
