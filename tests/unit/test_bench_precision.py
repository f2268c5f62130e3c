"""``uasbench bench precision``: variants parsed strictly, timed side by side, the network restored after each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from uasbench.cli import main as cli_main
from uasbench.errors import ConfigError
from uasbench.methods import create
from uasbench.pipeline.bench_precision import bench_precisions
from uasbench.precision import Execution

SMALL_METAUAS = {"backbone": "tf_efficientnet_lite0", "decoder_channels": [128, 64, 32, 32, 16]}
CONFIG = {"tier": "test", "datasets": {"d": {"image_size": 64}},
          "runs": {"metauas": {"method": "metauas", "options": SMALL_METAUAS},
                   "diff": {"method": "prompt-diff", "options": {"space": "pixel"}}}}


def test_parse_variant_and_its_label():
    assert Execution.parse("fp32") == Execution()
    assert Execution.parse("bf16+cl+compile") == Execution("bf16", channels_last=True, compile=True)
    assert Execution.parse("tf32+compile+cl").label == "tf32+cl+compile"  # one spelling in meta, tags and tables
    assert Execution.of_run({"precision": "bf16", "channels_last": True}, compile=True).label == "bf16+cl+compile"
    assert Execution.of_run({"channels_last": True}, channels_last=False).label == "fp32"  # a flag overrides the run
    for bad in ("fp16", "bf16+fast", "fp32+cl+cl"):
        with pytest.raises(ConfigError):
            Execution.parse(bad)


def test_variants_side_by_side_with_their_difference_from_the_reference():
    torch.manual_seed(0)
    report = bench_precisions(CONFIG, "metauas", torch.device("cpu"), ["fp32", "tf32", "fp32+cl"], batch_size=2,
                              rounds=2, repeats=1, warmup=0)
    rows = {r["variant"]: r for r in report["variants"]}
    assert list(rows) == ["fp32", "tf32", "fp32+cl"] and report["reference"] == "fp32"
    assert rows["fp32"]["speedup"] == 1.0 and rows["fp32"]["max_abs_diff"] == 0.0
    assert rows["tf32"]["max_abs_diff"] == 0.0  # no tensor cores on a CPU: tf32 computes fp32
    assert 0.0 <= rows["fp32+cl"]["max_abs_diff"] < 1e-5 and rows["fp32+cl"]["channels_last"]
    assert all(len(r["round_medians_ms"]) == 2 and r["ms_per_image"] > 0 for r in rows.values())
    assert report["image_size"] == 64 and report["batch_size"] == 2


def test_network_is_restored_after_a_variant():
    method = create("metauas", **SMALL_METAUAS)
    model = method.model
    with Execution(channels_last=True).applied(method, torch.device("cpu")):
        assert any(p.dim() == 4 and p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous()
                   for p in model.parameters())
    assert method.model is model and all(p.is_contiguous() for p in model.parameters())


def test_methods_without_a_network_take_precisions_only(tmp_path, capsys):
    class NoNetwork:
        model = None

    cpu = torch.device("cpu")
    with pytest.raises(ConfigError, match="no network"), Execution(compile=True).applied(NoNetwork(), cpu):
        pass
    out = tmp_path / "precision.json"
    config = Path(__file__).resolve().parents[2] / "config" / "ci.yaml"
    assert cli_main(["bench", "precision", "prompt-diff", "--config", str(config), "--device", "cpu", "--variants",
                     "fp32", "tf32", "--batch-size", "1", "--rounds", "1", "--repeats", "1", "--out", str(out)]) == 0
    assert "vs fp32" in capsys.readouterr().out
    assert [r["variant"] for r in json.loads(out.read_text())["variants"]] == ["fp32", "tf32"]
