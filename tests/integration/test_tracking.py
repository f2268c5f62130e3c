"""MLflow under concurrency: parallel logging jobs neither lose nor duplicate runs; re-logging a key replaces it.
``uasbench track`` logs the metrics files the workflow gives it, and refuses files of runs the config lacks."""

import subprocess
import sys

import pytest

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


# --- uasbench track takes the workflow's files -------------------------------------------------------------------

def _results(tmp_path, files: dict[str, str]):
    """A ci config (dataset 'd', run 'random') and metrics files ``relative path -> protocol`` under its results."""
    import json

    import yaml

    results = tmp_path / "results"
    for name, protocol in files.items():
        path = results / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"protocol": protocol, "mean": {"I-AUROC": 0.5, "P-AP": 0.25},
                                    "per_category": {"a": {"I-AUROC": 0.5, "P-AP": 0.25}}, "meta": {}}))
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"tier": "ci", "results_dir": str(results), "prompt_seeds": [0],
                                      "datasets": {"d": {"kind": "folder", "root": str(tmp_path / "data")}},
                                      "runs": {"random": {"method": "random", "prompt": "none"}}}))
    return config, results


def _track(capsys, config, out, *files):
    from uasbench.cli import main

    code = main(["track", "--config", str(config), "--out", str(out), *map(str, files)])
    return code, capsys.readouterr().err


def test_track_logs_only_the_given_files_with_their_protocol_copies(tmp_path, capsys):
    import json

    config, results = _results(tmp_path, {"metrics/d/random/seed0.json": "official",
                                          "metrics/d/random/seed1.json": "official",
                                          "metrics_uniad-compat/d/random/seed0.json": "uniad-compat"})
    out = results / "tracking" / "logged.json"
    code, err = _track(capsys, config, out, results / "metrics/d/random/seed0.json",
                       results / "metrics_uniad-compat/d/random/seed0.json")
    assert code == 0, err
    assert [r["key"] for r in json.loads(out.read_text())["runs"]] == ["random|d|seed0"]
    runs = search_runs(f"sqlite:///{results / 'mlflow.db'}")
    assert list(runs["tags.uasbench.key"]) == ["random|d|seed0"]
    assert runs["metrics.protocol.uniad-compat.P-AP"].iloc[0] == 0.25
    assert runs["tags.protocol.uniad-compat.image_score"].iloc[0] == "unknown"  # these files record none
    from uasbench.config import load_config
    from uasbench.reports.collect import collect_runs

    collected = collect_runs(load_config(config))
    assert collected[["image_score", "protocol.uniad-compat.image_score"]].values.tolist() == [["unknown", "unknown"]]
    code, err = _track(capsys, config, out)  # no files: everything under the results folder
    assert code == 0, err
    assert sorted(r["key"] for r in json.loads(out.read_text())["runs"]) == ["random|d|seed0", "random|d|seed1"]


def test_track_refuses_a_protocol_copy_without_its_metrics(tmp_path, capsys):
    config, results = _results(tmp_path, {"metrics_uniad-compat/d/random/seed0.json": "uniad-compat",
                                          "metrics/d/random/seed1.json": "official"})
    out = results / "tracking" / "logged.json"
    code, err = _track(capsys, config, out, results / "metrics_uniad-compat/d/random/seed0.json",
                       results / "metrics/d/random/seed1.json")
    assert code == 2 and str(results / "metrics_uniad-compat/d/random/seed0.json") in err and "no metrics file" in err
    assert not out.exists()


@pytest.mark.parametrize("given", [False, True], ids=["globbed", "given"])
def test_track_refuses_metrics_of_a_run_the_config_does_not_define(tmp_path, capsys, given):
    config, results = _results(tmp_path, {"metrics/d/random/seed0.json": "official",
                                          "metrics/d/removed/seed0.json": "official"})
    stale = results / "metrics" / "d" / "removed" / "seed0.json"
    out = results / "tracking" / "logged.json"
    code, err = _track(capsys, config, out, *([results / "metrics/d/random/seed0.json", stale] if given else []))
    assert code == 2 and str(stale) in err and "run 'removed'" in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and not (results / "mlflow.db").exists()
