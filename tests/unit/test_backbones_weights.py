"""Weight resolution: config file → torch/HF hub caches → package → random, offline, with clear errors."""

from __future__ import annotations

import logging
import socket

import pytest
import torch
from safetensors.torch import save_file

from uasbench.backbones import (
    build_network,
    clip,
    create_backbone,
    create_clip,
    describe_weight_source,
    list_backbones,
    weight_report,
)
from uasbench.backbones.clip import resolve_clip_weights
from uasbench.errors import CheckpointError, ConfigError

torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def empty_caches(tmp_path, monkeypatch):
    """Point every cache at empty temporary folders, so results do not depend on this machine."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(clip, "OPEN_CLIP_URL_CACHE", tmp_path / "clip")
    return tmp_path


def _fake_hf_snapshot(cache_root, repo_id, filename, tensors):
    """Lay out a file the way huggingface_hub caches it (refs/main → snapshots/<sha>/<file>)."""
    repo = cache_root / "hf" / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")
    (repo / "snapshots" / "0123abcd").mkdir(parents=True)
    path = repo / "snapshots" / "0123abcd" / filename
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path))
    return path


def test_lite0_resolution_order(empty_caches):
    package = create_backbone("tf_efficientnet_lite0", "patchcore")
    assert package.weight_source == "package:efficientnet-lite0"
    assert package.weight_file.endswith("efficientnet-lite0-57934424.pth")
    assert describe_weight_source("tf_efficientnet_lite0") == "package:efficientnet-lite0"

    network, _ = build_network("tf_efficientnet_lite0")
    marked = {k: v.clone() for k, v in network.state_dict().items()}
    marked["blocks.2.0.conv_pw.weight"] += 1.0  # tells the cached copy apart from the package's
    hub_file = empty_caches / "torch" / "hub" / "checkpoints" / "tf_efficientnet_lite0-0aa007d2.pth"
    hub_file.parent.mkdir(parents=True)
    torch.save(marked, hub_file)
    cached = create_backbone("tf_efficientnet_lite0", "patchcore")
    assert (cached.weight_source, cached.weight_file) == ("hub-cache", str(hub_file))
    assert torch.equal(cached.state_dict()["blocks.2.0.conv_pw.weight"], marked["blocks.2.0.conv_pw.weight"])
    assert describe_weight_source("tf_efficientnet_lite0") == "hub-cache"

    named = empty_caches / "mine.pth"
    torch.save(network.state_dict(), named)
    assert create_backbone("tf_efficientnet_lite0", weights=str(named)).weight_source == f"file:{named}"
    assert create_backbone("tf_efficientnet_lite0", pretrained=False).weight_source == "random"


def test_hf_hub_cache_is_found_offline(empty_caches):
    network, _ = build_network("mobilenetv2_100", pretrained=False)
    tensors = {k: v + 0.5 if v.is_floating_point() else v for k, v in network.state_dict().items()}
    path = _fake_hf_snapshot(empty_caches, "timm/mobilenetv2_100.ra_in1k", "model.safetensors", tensors)
    backbone = create_backbone("mobilenetv2_100")
    assert (backbone.weight_source, backbone.weight_file) == ("hub-cache", str(path))
    assert torch.equal(backbone.state_dict()["conv_stem.weight"], tensors["conv_stem.weight"])


def test_nothing_found_means_random_with_warning(caplog):
    assert describe_weight_source("efficientnet_b4") == "random"
    with caplog.at_level(logging.WARNING):
        backbone = create_backbone("efficientnet_b4", "patchcore")
    assert backbone.weight_source == "random"
    assert "RANDOM weights" in caplog.text and "NOT meaningful" in caplog.text


def test_missing_named_file_is_a_config_error_naming_it(empty_caches):
    missing = empty_caches / "does-not-exist.pth"
    with pytest.raises(ConfigError, match="does-not-exist.pth"):
        create_backbone("tf_efficientnet_lite0", weights=str(missing))
    with pytest.raises(ConfigError, match="does-not-exist.pth"):
        create_clip("clip-tiny", weights=str(missing))
    with pytest.raises(ConfigError, match="pretrained=False"):
        create_backbone("tf_efficientnet_lite0", weights=str(missing), pretrained=False)


def test_unreadable_or_mismatched_files_are_checkpoint_errors(empty_caches):
    garbage = empty_caches / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="garbage.pth"):
        create_backbone("efficientnet_b4", weights=str(garbage))
    with pytest.raises(CheckpointError, match="garbage.pth"):
        create_clip("clip-tiny", weights=str(garbage))
    lite0_file = empty_caches / "lite0.pth"
    torch.save(build_network("tf_efficientnet_lite0")[0].state_dict(), lite0_file)
    with pytest.raises(CheckpointError, match="lite0.pth"):
        create_backbone("efficientnet_b4", weights=str(lite0_file))
    with pytest.raises(CheckpointError, match="lite0.pth"):
        create_clip("clip-tiny", weights=str(lite0_file))


def test_clip_caches_are_found_without_building(empty_caches):
    assert resolve_clip_weights().source == "random"
    path = _fake_hf_snapshot(empty_caches, "timm/vit_base_patch16_plus_clip_240.laion400m_e31",
                             "open_clip_model.safetensors", {"x": torch.zeros(1)})
    assert resolve_clip_weights().path == path
    assert describe_weight_source("ViT-B-16-plus-240") == "hub-cache"
    assert resolve_clip_weights("clip-tiny").source == "random"  # no weights exist for our tiny config
    with pytest.raises(ConfigError, match="laion9000"):
        resolve_clip_weights(pretrained_tag="laion9000")
    with pytest.raises(ConfigError, match="unknown CLIP model"):
        resolve_clip_weights("ViT-Z-99")


def test_clip_url_cache_is_found(empty_caches):
    url_cache = empty_caches / "clip"
    url_cache.mkdir()
    (url_cache / "vit_b_16_plus_240-laion400m_e31-8fb26589.pt").write_bytes(b"")
    assert resolve_clip_weights().source == "hub-cache"


def test_no_network_is_touched(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    rows = weight_report()
    assert [r["preset"] for r in rows] == list_backbones() + ["ViT-B-16-plus-240", "clip-tiny"]
    assert {r["preset"]: r["source"] for r in rows}["tf_efficientnet_lite0"] == "package:efficientnet-lite0"
    create_backbone("tf_efficientnet_lite0")
    create_clip("clip-tiny")
