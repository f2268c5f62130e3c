"""Paper-vs-reproduced deltas use the paper's own evaluator (uasbench/reports/paper_protocol.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from uasbench.errors import ConfigError
from uasbench.reports.build import paper_vs_reproduced
from uasbench.reports.paper_numbers import lookup
from uasbench.reports.paper_protocol import paper_row, run_protocols, table_protocol


def _config() -> dict:
    return {"tier": "paper", "metric_protocol": "official",
            "datasets": {"mvtec-256": {"kind": "mvtec", "root": "/x", "image_size": 256, "paper_dataset": "mvtec"},
                         "mvtec-224": {"kind": "mvtec", "root": "/x", "image_size": 224, "paper_dataset": "mvtec"}},
            "runs": {"metauas": {"method": "metauas", "paper_row": "metauas", "datasets": ["mvtec-256"]},
                     "uniad": {"method": "uniad", "paper_row": "uniad", "datasets": ["mvtec-224"]},
                     "random": {"method": "random"}},
            "tables": {"t1": {"title": "T1", "paper_table": "metauas_tab1", "runs": ["metauas", "uniad", "random"]},
                       "o1": {"title": "O1", "paper_table": "onenip_tab1", "runs": ["uniad"]},
                       "eff": {"title": "E", "runs": ["metauas"], "efficiency": True}}}


def test_each_paper_table_has_its_evaluator_and_runs_get_every_protocol_they_are_compared_under():
    config = _config()
    assert table_protocol("t1", config["tables"]["t1"]) == "metauas-compat"
    assert table_protocol("o1", config["tables"]["o1"]) == "uniad-compat"
    assert table_protocol("eff", config["tables"]["eff"]) is None
    assert table_protocol("x", {"paper_table": "onenip_tab1", "paper_protocol": "official"}) == "official"
    assert run_protocols(config) == {"metauas": ["metauas-compat"], "uniad": ["metauas-compat", "uniad-compat"]}
    with pytest.raises(ConfigError, match="tables.bad.paper_table"):
        table_protocol("bad", {"paper_table": "other_tab1"})


def test_delta_reads_the_paper_protocol_metrics_not_the_official_ones():
    config = _config()
    df = pd.DataFrame({"run": ["metauas", "metauas"], "dataset": ["mvtec-256"] * 2, "seed": [1, 3],
                       "weight_source": ["file"] * 2, "metric_protocol": ["official"] * 2,
                       "I-AUROC": [0.10, 0.20], "protocol.metauas-compat.I-AUROC": [0.90, 0.92],
                       "protocol.uniad-compat.I-AUROC": [0.5, 0.5],
                       "protocol.metauas-compat.image_score": ["given", "given"], "image_score": ["given"] * 2})
    spec = {**config["tables"]["t1"], "columns": ["I-AUROC"]}
    table = paper_vs_reproduced(config, df, spec, "t1")
    frame = table.frame()
    row = frame[(frame["Method"] == "metauas") & (frame["Dataset"] == "mvtec-256")].iloc[0]
    paper = lookup("metauas", "metauas_tab1", "mvtec", "metauas", "I-AUROC")
    assert row["Protocol"] == "metauas-compat" and row["Score"] == "given"
    assert row["Reproduced"] == "91.0"
    assert float(row["Δ"]) == pytest.approx(91.0 - paper, abs=0.051)
    assert any("metauas-compat" in note for note in table.notes)
    missing = frame[(frame["Method"] == "uniad") & (frame["Dataset"] == "mvtec-224")].iloc[0]
    assert missing["Reproduced"] == "–"  # no paper-protocol result: never the official number instead


def test_track_logs_the_paper_protocol_means_beside_the_main_metrics(tmp_path):
    from uasbench.errors import DataError
    from uasbench.pipeline.track import image_score_tags, protocol_metrics

    path = tmp_path / "metrics_uniad-compat" / "mvtec-224" / "uniad" / "seed0.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"protocol": "uniad-compat", "mean": {"I-AUROC": 0.9, "P-AP": None},
                                "per_category": {"bottle": {"I-AUROC": 0.9, "P-AP": None}}}))
    assert protocol_metrics({"uniad-compat": path}) == {"protocol.uniad-compat.I-AUROC": 0.9,
                                                        "protocol.uniad-compat.P-AP": None}
    assert protocol_metrics({}) == {}
    path.write_text(json.dumps({"protocol": "uniad-compat", "mean": {"I-AUROC": 0.9},
                                "per_category": {"bottle": {"I-AUROC": 0.9}},
                                "meta": {"evaluation": {"image_score": "avgpool16"}}}))
    assert image_score_tags({"meta": {}}, {"uniad-compat": path}) == {
        "image_score": "unknown", "protocol.uniad-compat.image_score": "avgpool16"}
    path.write_text(json.dumps({"protocol": "official", "mean": {"I-AUROC": 0.9},
                                "per_category": {"bottle": {"I-AUROC": 0.9}}}))
    with pytest.raises(DataError, match="its folder says 'uniad-compat'"):
        protocol_metrics({"uniad-compat": path})


def test_protocol_copies_join_the_metrics_file_of_their_job(tmp_path):
    from uasbench import layout
    from uasbench.pipeline.track import sort_metric_files

    config = {"results_dir": str(tmp_path), "runs": {"uniad": {}}, "datasets": {"mvtec-224": {}}}
    files = [layout.metrics_file(config, "uniad", "mvtec-224", s, protocol=p)
             for s, p in [(0, None), (1, None), (0, "uniad-compat"), (0, "metauas-compat")]]
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    for given in (files, None):  # the workflow's inputs, or everything found under the results folder
        main, copies = sort_metric_files(config, given)
        assert main == {("mvtec-224", "uniad", 0): files[0], ("mvtec-224", "uniad", 1): files[1]}
        assert copies == {("mvtec-224", "uniad", 0): {"uniad-compat": files[2], "metauas-compat": files[3]}}


# Runs of config/paper.yaml that no paper table prints (ours, or a setting the papers do not report).
NO_PAPER_COUNTERPART = {"metauas-agnostic", "prompt-diff", "prompt-diff-feat", "random", "abl4-trainnorm"}


def _paper_config() -> dict:
    from uasbench.config import load_config

    return load_config(Path(__file__).resolve().parents[2] / "config" / "paper.yaml")


def _compared_runs(config: dict) -> set[tuple[str, str]]:
    """(protocol, run) of every run that has a row in a table comparing with a paper."""
    return {(table_protocol(name, spec), run) for name, spec in config["tables"].items() if spec.get("paper_table")
            for run in spec["runs"] if paper_row(config, spec, run)}


def test_every_paper_config_run_with_a_paper_counterpart_has_a_row_whose_numbers_exist():
    from uasbench.reports.build import DEFAULT_COLUMNS, PAPER_DATASET_OF_KIND

    config = _paper_config()
    compared = {run for _, run in _compared_runs(config)}
    in_paper_tables = {run for spec in config["tables"].values() if spec.get("paper_table") for run in spec["runs"]}
    assert compared == in_paper_tables - NO_PAPER_COUNTERPART
    ablations_sizes_merged = {run for run in config["runs"] if run.startswith(("abl", "onenip"))}
    assert ablations_sizes_merged - NO_PAPER_COUNTERPART <= compared
    assert NO_PAPER_COUNTERPART <= set(config["runs"])
    for name, spec in config["tables"].items():
        if not spec.get("paper_table"):
            continue
        paper = spec["paper_table"].split("_", 1)[0]
        for run in spec["runs"]:
            row = paper_row(config, spec, run)
            if run in NO_PAPER_COUNTERPART:
                assert row is None, (name, run)
                continue
            for ds in config["runs"][run]["datasets"]:
                kind = config["datasets"][ds]
                paper_ds = kind.get("paper_dataset") or PAPER_DATASET_OF_KIND[kind["kind"]]
                for column in spec.get("columns", DEFAULT_COLUMNS):
                    lookup(paper, spec["paper_table"], paper_ds, row, column)  # ConfigError when it is missing


def test_paper_rows_override_the_runs_row_only_in_their_table():
    config = _config()
    config["tables"]["ablation"] = {"title": "A", "paper_table": "metauas_tab3a", "runs": ["metauas"],
                                    "paper_rows": {"metauas": "align_soft_concat"}}
    assert paper_row(config, config["tables"]["ablation"], "metauas") == "align_soft_concat"
    assert paper_row(config, config["tables"]["t1"], "metauas") == "metauas"
    df = pd.DataFrame({"run": ["metauas"], "dataset": ["mvtec-256"], "seed": [1], "weight_source": ["file"],
                       "metric_protocol": ["official"], "protocol.metauas-compat.P-AP": [0.5]})
    frame = paper_vs_reproduced(config, df, {**config["tables"]["ablation"], "columns": ["P-AP"]}, "ablation").frame()
    assert frame[["Dataset", "Paper", "Reproduced", "Δ"]].values.tolist() == [["mvtec-256", "59.6", "50.0", "-9.6"]]


def test_paper_rows_must_name_runs_of_their_table():
    from uasbench.config import validate_config

    config = _paper_config()
    config["tables"]["metauas_tab3a"]["paper_rows"] = {"abl-b6": "effnet_b6_freeze"}
    with pytest.raises(ConfigError, match=r"tables.metauas_tab3a.paper_rows names 'abl-b6'"):
        validate_config(config)


def test_paper_dry_run_plans_the_paper_protocol_evaluation_of_every_compared_run(tmp_path, monkeypatch):
    from tests.cluster.test_gpu_requests import planned_jobs

    monkeypatch.setenv("UASBENCH_SKIP_ROOT_CHECK", "1")
    config = _paper_config()
    planned = set()
    for job in planned_jobs(config, tmp_path):
        if job["rule"] == "evaluate_paper_protocol":
            wildcards = dict(item.split("=", 1) for item in job["wildcards"].split(", "))
            planned.add((wildcards["protocol"], wildcards["run"]))
    assert planned == _compared_runs(config)
    assert ("metauas-compat", "abl-frac10") in planned and ("uniad-compat", "abl4-depth6") in planned
