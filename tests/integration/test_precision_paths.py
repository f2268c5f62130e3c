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
from uasbench.config import validate_config
from uasbench.predictions import load_category_predictions

SMALL = {"backbone": "tf_efficientnet_lite0", "decoder_channels": [32, 16, 16, 16, 16], "pretrained_backbone": False}


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("precision")
    make_mvtec(tmp / "data")
    return validate_config({"tier": "custom", "results_dir": str(tmp / "results"),
            "datasets": {"d": {"kind": "mvtec", "root": str(tmp / "data"), "image_size": 32}},
            "runs": {"m": {"method": "metauas", "options": SMALL},
                     "m-bf16": {"method": "metauas", "options": SMALL, "precision": "bf16"},
                     "m-cl": {"method": "metauas", "options": SMALL, "channels_last": True}},
            "efficiency": {"batch_sizes": [2], "warmup": 1, "repeats": 1}})


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


def test_channels_last_and_compile_predict_the_same_maps(config, tmp_path, monkeypatch):
    """The run key and the CLI flags (predict, bench latency) reach the network; fp32 maps stay equal within float
    rounding; meta, efficiency file and the banner name the variant. torch.compile is spied on and given dynamo's
    "eager" backend: the wiring is under test here, inductor's kernels are torch's (and ``bench precision`` reports
    their difference on a real device)."""
    from uasbench.pipeline.predict import run_predict
    from uasbench.reports.build import banner

    compiled_modules = []

    def spy_compile(module, **kwargs):
        compiled_modules.append(module)
        return real_compile(module, backend="eager")

    real_compile = torch.compile
    monkeypatch.setattr(torch, "compile", spy_compile)
    cpu = torch.device("cpu")
    fp32 = run_predict(config, "m", "d", 1, tmp_path / "fp32", cpu, batch_size=8)
    cl = run_predict(config, "m-cl", "d", 1, tmp_path / "cl", cpu, batch_size=8)
    assert (cl["precision"], cl["channels_last"], cl["compile"]) == ("fp32+cl", True, False) and not compiled_modules
    compiled = run_predict(config, "m-cl", "d", 1, tmp_path / "compiled", cpu, batch_size=8, compile=True)
    assert compiled["precision"] == "fp32+cl+compile" and len(compiled_modules) == 1
    reference = _maps(tmp_path / "fp32", fp32)
    for name, meta in (("cl", cl), ("compiled", compiled)):
        np.testing.assert_allclose(_maps(tmp_path / name, meta), reference, atol=1e-3)  # float16 storage
    df = pd.DataFrame({"run": ["m", "m-cl"], "metric_protocol": ["official"] * 2, "weight_source": ["package"] * 2,
                       "precision": ["fp32", "fp32+cl"]})
    assert "precision fp32+cl (not fp32): m-cl" in banner(config, df)
    import yaml

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["bench", "latency", "m-cl", "--config", str(path), "--out", str(tmp_path / "e.json"),
                 "--device", "cpu", "--no-channels-last", "--compile"]) == 0
    assert json.loads((tmp_path / "e.json").read_text())["precision"] == "fp32+compile"  # flags override the run
    assert len(compiled_modules) == 2
    assert main(["predict", "m", "--config", str(path), "--dataset", "d", "--seed", "1", "--out",
                 str(tmp_path / "p"), "--channels-last", "--device", "cpu"]) == 0
    assert json.loads((tmp_path / "p" / "meta.json").read_text())["channels_last"] is True
