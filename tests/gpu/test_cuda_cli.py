"""The commands the Snakefile's rules issue, on the GPU: data -> train (fp32, bf16) -> predict, and torchrun DDP.

Driven through ``uasbench.cli.main`` (a GPU machine may have no Snakemake), on a one-category slice
of config/ci.yaml with one training epoch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from uasbench.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _tiny_config(tmp: Path, device: torch.device, precision: str = "fp32") -> Path:
    config = yaml.safe_load((ROOT / "config" / "ci.yaml").read_text())
    config["results_dir"] = str(tmp / "results")
    config["device"] = device.type
    config["datasets"]["synthetic"]["categories"] = ["brick"]
    config["change_pairs"]["n_pairs"] = 64
    metauas = dict(config["training"]["metauas"], epochs=1, precision=precision)
    config["training"] = {"metauas": metauas}
    config["runs"] = {"metauas": config["runs"]["metauas"], "patchcore": config["runs"]["patchcore"]}
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _make_data(config_path: Path) -> None:
    config = yaml.safe_load(config_path.read_text())
    data = Path(config["results_dir"]) / "data"
    spec = config["datasets"]["synthetic"]
    assert main(["data", "make-synthetic-ad", "--out", str(data / "synthetic"), "--seed", "0", "--image-size",
                 str(spec["image_size"]), "--n-train", "2", "--n-test-good", "2", "--n-test-defect", "2",
                 "--categories", "brick"]) == 0
    assert main(["data", "make-change-pairs", "--out", str(data / "change_pairs"), "--n-pairs", "64",
                 "--image-size", str(config["change_pairs"]["image_size"]), "--quiet"]) == 0


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_train_and_predict_on_the_device(precision, tmp_path, device):
    config = _tiny_config(tmp_path, device, precision)
    _make_data(config)
    assert main(["train", "metauas", "--config", str(config), "--device", device.type]) == 0
    summary = json.loads(next((tmp_path / "results").rglob("train_summary.json")).read_text())
    assert summary["device"].startswith(device.type)
    assert all(torch.isfinite(torch.tensor(epoch["loss"])) for epoch in summary["history"])
    for run in ("metauas", "patchcore"):
        out = tmp_path / "predictions" / run
        assert main(["predict", run, "--dataset", "synthetic", "--seed", "1", "--out", str(out), "--config",
                     str(config), "--device", device.type]) == 0
        assert (out / "brick.npz").is_file()
        meta = json.loads((out / "meta.json").read_text())
        assert device.type in json.dumps(meta)
    if precision == "bf16":  # the opt-in inference execution through the CLI flags
        out = tmp_path / "predictions" / "metauas-bf16-cl"
        assert main(["predict", "metauas", "--dataset", "synthetic", "--seed", "1", "--out", str(out), "--config",
                     str(config), "--device", device.type, "--precision", "bf16", "--channels-last"]) == 0
        assert json.loads((out / "meta.json").read_text())["precision"] == "bf16+cl"


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="DDP on GPUs needs 2 CUDA devices")
def test_torchrun_trains_on_two_gpus(tmp_path, device):
    config = _tiny_config(tmp_path, device)
    _make_data(config)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "uasbench", "train", "metauas", "--config", str(config), "--device", "cuda"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert next((tmp_path / "results").rglob("model.pt")).is_file()
