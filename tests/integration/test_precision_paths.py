"""Precision reaches every path that computes maps: predictions (meta + CLI flag), bench latency, tracking tags and
tables; fp32 stays the default and bf16 stays close to it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from tests.fixtures.layouts import make_mvtec
from uasbench.cli import main
from uasbench.predictions import load_category_predictions

SMALL = {"backbone": "tf_efficientnet_lite0", "decoder_channels": [32, 16, 16, 16, 16], "pretrained_backbone": False}


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("precision")
    make_mvtec(tmp / "data")
    return {"tier": "custom", "results_dir": str(tmp / "results"),
            "datasets": {"d": {"kind": "mvtec", "root": str(tmp / "data"), "image_size": 32}},
            "runs": {"m": {"method": "metauas", "options": SMALL},
                     "m-bf16": {"method": "metauas", "options": SMALL, "precision": "bf16"}},
            "efficiency": {"batch_sizes": [2], "warmup": 1, "repeats": 1}}


def _maps(folder, meta) -> np.ndarray:
    return np.concatenate([load_category_predictions(folder, c).maps.ravel() for c in meta["categories"]])


def test_predictions_record_the_precision_and_bf16_stays_close_to_fp32(config, tmp_path):
    from uasbench.pipeline.predict import run_predict

    cpu = torch.device("cpu")
    fp32 = run_predict(config, "m", "d", 1, tmp_path / "fp32", cpu, batch_size=4)
    bf16 = run_predict(config, "m-bf16", "d", 1, tmp_path / "bf16", cpu, batch_size=4)
    flag = run_predict(config, "m", "d", 1, tmp_path / "flag", cpu, batch_size=4, precision="bf16")
    assert (fp32["precision"], bf16["precision"], flag["precision"]) == ("fp32", "bf16", "bf16")
    a, b, c = (_maps(tmp_path / n, m) for n, m in (("fp32", fp32), ("bf16", bf16), ("flag", flag)))
    np.testing.assert_array_equal(b, c)  # the run's setting and the CLI flag are the same thing
    assert 0 < np.abs(a - b).max() <= 2e-2  # bf16 really ran, and stayed close (maps in [0, 1])


def test_cli_flags_and_the_efficiency_file(config, tmp_path, capsys):
    import yaml

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["predict", "m", "--config", str(path), "--dataset", "d", "--seed", "1", "--out",
                 str(tmp_path / "p"), "--precision", "bf16", "--device", "cpu"]) == 0
    assert json.loads((tmp_path / "p" / "meta.json").read_text())["precision"] == "bf16"
    assert main(["bench", "latency", "m", "--config", str(path), "--out", str(tmp_path / "e.json"),
                 "--precision", "bf16", "--device", "cpu"]) == 0
    assert json.loads((tmp_path / "e.json").read_text())["precision"] == "bf16"
    assert "(bf16)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["predict", "m", "--config", str(path), "--dataset", "d", "--out", str(tmp_path / "q"),
              "--precision", "fp16"])


def test_table_banner_names_reduced_precision_runs_only(config):
    """The banner reads the precision the predictions recorded (a --precision flag can differ from the config)."""
    from uasbench.reports.build import banner

    df = pd.DataFrame({"run": ["m", "m-bf16"], "metric_protocol": ["official"] * 2, "weight_source": ["package"] * 2,
                       "precision": ["fp32", "bf16"]})  # as collect_runs reads it from the predictions' tag/meta
    notes = banner(config, df)
    assert "precision bf16 (not fp32): m-bf16" in notes
    assert not any("precision" in n for n in banner(config, df[df["run"] == "m"]))
