"""MetaUAS Tab 2's MetaUAS*+ row counts and times the CLIP prior with MetaUAS: ``bench latency`` of a run with a
``clip_prior`` reports both networks' parameters and times both forwards, and its fused maps are predict's."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

from tests.fixtures.layouts import make_mvtec
from uasbench.cli import main

SMALL = {"backbone": "tf_efficientnet_lite0", "decoder_channels": [32, 16, 16, 16, 16], "pretrained_backbone": False}
PRIOR = {"clip_model": "clip-tiny", "weight": 0.5}


@pytest.fixture(scope="module")
def config_path(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prior")
    make_mvtec(tmp / "data")
    config = {"tier": "custom", "results_dir": str(tmp / "results"),
              "datasets": {"d": {"kind": "mvtec", "root": str(tmp / "data"), "image_size": 32}},
              "runs": {"m": {"method": "metauas", "options": SMALL},
                       "m-prior": {"method": "metauas", "options": SMALL, "clip_prior": PRIOR},
                       "clip": {"method": "winclip+", "options": {"model_name": "clip-tiny"}}},
              "efficiency": {"batch_sizes": [2], "warmup": 0, "repeats": 1},
              "allow_random_weights": True}  # CLIP-tiny has no pretrained weights
    path = tmp / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _bench(config_path, run, tmp_path) -> dict:
    out = tmp_path / f"{run}.json"
    assert main(["bench", "latency", run, "--config", str(config_path), "--out", str(out), "--device", "cpu"]) == 0
    return json.loads(out.read_text())


def test_prior_run_counts_both_networks(config_path, tmp_path):
    plain, prior, clip = (_bench(config_path, run, tmp_path) for run in ("m", "m-prior", "clip"))
    assert prior["params"]["total"] == plain["params"]["total"] + clip["params"]["total"] > plain["params"]["total"]
    assert prior["params"]["learnable"] == plain["params"]["learnable"] + clip["params"]["learnable"]
    assert "CLIP prior" in prior["weight_source"]


def test_timed_prior_predicts_what_predict_fuses(config_path):
    """The wrapper bench latency times computes the same fused maps as the prediction path's fusion."""
    from uasbench.config import load_config
    from uasbench.methods.clip.prior import WithClipPrior, fuse_clip_prior
    from uasbench.pipeline.efficiency import timed_run

    config, cpu = load_config(config_path), torch.device("cpu")
    _run, method, info, size = timed_run(config, "m-prior", cpu)
    assert isinstance(method, WithClipPrior) and info["weight_source"] == method.weight_source
    generator = torch.Generator().manual_seed(0)
    query, prompt = (torch.rand(3, 3, size, size, generator=generator) for _ in range(2))
    method.fit(prompt[:1], "object")
    fused, scores = method.predict(query, prompt, category="object")
    plain_maps, _ = method.method.predict(query, prompt, category="object")
    expected, expected_scores = fuse_clip_prior(PRIOR, plain_maps.numpy(), query, prompt, cpu)
    np.testing.assert_allclose(fused.numpy(), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(scores.numpy(), expected_scores, rtol=1e-6)
    assert not np.allclose(fused.numpy(), plain_maps.numpy())  # the prior changed the maps
