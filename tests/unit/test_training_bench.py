"""``uasbench bench train``: the data pipeline, the model step and both, timed on a tiny MetaUAS setup."""

from __future__ import annotations

import json

import pytest
import yaml

from uasbench.cli import main


def test_bench_train_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "train", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--workers" in out and "--precision" in out and "bound" in out


def test_bench_train_reports_all_stages(tmp_path, capsys):
    pairs = tmp_path / "results" / "data" / "change_pairs"
    assert main(["data", "make-change-pairs", "--out", str(pairs), "--n-pairs", "12", "--image-size", "64",
                 "--quiet"]) == 0
    config = yaml.safe_load(open("config/config.yaml"))
    config["results_dir"] = str(tmp_path / "results")
    config["training"]["metauas"]["image_size"] = 64
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    report_path = tmp_path / "bench.json"
    assert main(["bench", "train", "metauas", "--config", str(tmp_path / "config.yaml"), "--device", "cpu",
                 "--batch-size", "2", "--batches", "2", "--warmup", "0", "--workers", "0", "--precision", "fp32",
                 "--out", str(report_path)]) == 0
    report = json.loads(report_path.read_text())
    assert (report["workers"], report["precision"], report["batch_size"]) == (0, "fp32", 2)
    for stage in ("data", "compute", "train"):
        assert report[stage]["samples"] == 4 and report[stage]["samples_per_s"] > 0
    assert report["bound_by"] in ("data", "compute")
    assert "bound by:" in capsys.readouterr().out
