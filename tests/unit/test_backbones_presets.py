"""Every backbone preset: channels/strides at 256 input, frozen eval behaviour, parameter counts, bad names."""

from __future__ import annotations

import logging

import pytest
import torch

from uasbench.backbones import create_backbone, get_spec, list_backbones
from uasbench.errors import ConfigError

torch.set_num_threads(2)

# (preset, taps) → (channels, strides) expected at any input whose side is a multiple of 32
EXPECTED = {
    ("efficientnet_b4", "metauas"): ((48, 32, 56, 160, 448), (2, 4, 8, 16, 32)),
    ("efficientnet_b4", "uniad"): ((24, 32, 56, 160), (2, 4, 8, 16)),
    ("efficientnet_b4", "patchcore"): ((56, 160), (8, 16)),
    ("tf_efficientnet_lite0", "metauas"): ((32, 24, 40, 112, 320), (2, 4, 8, 16, 32)),
    ("tf_efficientnet_lite0", "uniad"): ((16, 24, 40, 112), (2, 4, 8, 16)),
    ("tf_efficientnet_lite0", "patchcore"): ((40, 112), (8, 16)),
    ("efficientnet_b6", "metauas"): ((56, 40, 72, 200, 576), (2, 4, 8, 16, 32)),
    ("efficientvit_b3", "metauas"): ((32, 64, 128, 256, 512), (2, 4, 8, 16, 32)),
    ("mobilenetv2_100", "metauas"): ((16, 24, 32, 96, 320), (2, 4, 8, 16, 32)),
    ("wide_resnet50_2", "patchcore"): ((512, 1024), (8, 16)),
}


def test_every_preset_and_tap_set_is_covered():
    assert {(name, taps) for name in list_backbones() for taps in get_spec(name).taps} == set(EXPECTED)


@pytest.mark.parametrize(("name", "taps"), sorted(EXPECTED))
def test_channels_and_strides_at_256(name, taps):
    backbone = create_backbone(name, taps, pretrained=False)
    channels, strides = EXPECTED[(name, taps)]
    assert (backbone.channels, backbone.strides) == (channels, strides)
    with torch.no_grad():
        features = backbone(torch.randn(1, 3, 256, 256))
    assert [f.shape[1] for f in features] == list(channels)
    assert [tuple(f.shape[-2:]) for f in features] == [(256 // s, 256 // s) for s in strides]
    assert all(torch.isfinite(f).all() for f in features)
    if name == "efficientnet_b4":
        assert backbone.tap_names == B4_TAP_NAMES[taps]


# which stage outputs the lukemelas B4 taps are (smp stage split at blocks 6/10/22/32; UniAD blocks 1/5/9/21)
B4_TAP_NAMES = {
    "metauas": ("stem", "_blocks.5", "_blocks.9", "_blocks.21", "_blocks.31"),
    "uniad": ("_blocks.1", "_blocks.5", "_blocks.9", "_blocks.21"),
    "patchcore": ("_blocks.9", "_blocks.21"),
}


def test_b4_parameter_count_is_lukemelas_without_fc():
    backbone = create_backbone("efficientnet_b4", pretrained=False)
    assert sum(p.numel() for p in backbone.parameters()) == 17_548_616
    assert not any(k.startswith("_fc.") for k in backbone.state_dict())
    assert "_conv_head.weight" in backbone.state_dict() and "_bn1.running_var" in backbone.state_dict()
    with_fc = create_backbone("efficientnet_b4", "uniad", pretrained=False, keep_fc=True)
    assert sum(p.numel() for p in with_fc.parameters()) == 19_341_616


def test_frozen_and_stays_in_eval_mode():
    backbone = create_backbone("tf_efficientnet_lite0")
    assert backbone.taps == "metauas"  # the preset default
    parent = torch.nn.Sequential(backbone, torch.nn.Conv2d(3, 3, 1))
    parent.train()
    assert not backbone.training and not any(m.training for m in backbone.modules())
    assert parent[1].training
    assert not any(p.requires_grad for p in backbone.parameters())
    before = {k: v.clone() for k, v in backbone.state_dict().items() if "running" in k}
    backbone(torch.randn(2, 3, 64, 64))  # would update BN statistics in train mode
    assert all(torch.equal(before[k], backbone.state_dict()[k]) for k in before)


def test_normalize_uses_the_weights_statistics():
    backbone = create_backbone("tf_efficientnet_lite0")
    assert backbone.mean == (0.5, 0.5, 0.5) and backbone.std == (0.5, 0.5, 0.5)
    x01 = torch.rand(1, 3, 8, 8)
    assert torch.allclose(backbone.normalize(x01), x01 * 2 - 1)
    b4 = create_backbone("efficientnet_b4", "patchcore", pretrained=False)
    expected = (x01[:, 1] - 0.456) / 0.224
    assert torch.allclose(b4.normalize(x01)[:, 1], expected)


def test_random_weights_warn_and_are_reproducible(caplog):
    with caplog.at_level(logging.WARNING, logger="uasbench.backbones.weights"):
        first = create_backbone("mobilenetv2_100", pretrained=False)
    assert first.weight_source == "random" and first.weight_file is None
    assert "NOT meaningful" in caplog.text and "mobilenetv2_100" in caplog.text
    torch.manual_seed(123)  # the global seed must not matter: random init has its own fixed seed
    second = create_backbone("mobilenetv2_100", pretrained=False)
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"name": "resnet18"}, "unknown backbone 'resnet18'"),
    ({"name": "efficientnet_b4", "taps": "nope"}, "no taps 'nope'"),
    ({"name": "wide_resnet50_2", "taps": "metauas"}, "no taps 'metauas'"),
    ({"name": "mobilenetv2_100", "keep_fc": True}, "keep_fc"),
])
def test_bad_names_are_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        create_backbone(**{"pretrained": False, **kwargs})


def test_wrong_input_shape_is_a_clear_error():
    backbone = create_backbone("tf_efficientnet_lite0", "patchcore")
    with pytest.raises(ValueError, match=r"expects \(B, 3, H, W\)"):
        backbone(torch.randn(3, 64, 64))
