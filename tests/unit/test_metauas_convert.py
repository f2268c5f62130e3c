"""Official MetaUAS checkpoint → uasbench: key names, exact round trip of the outputs, and bad checkpoints.

``OfficialLayoutMetaUAS`` below is an independent test fixture written from the official module tree
(gaobb/MetaUAS metauas.py + the smp fork @0092ee4 it pins): same attribute names, same forward maths. Its state
dict therefore has the official key layout, and its forward is the reference the converted model must match.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from uasbench.cli import main as cli_main
from uasbench.errors import CheckpointError
from uasbench.methods import create
from uasbench.methods.metauas.convert import (
    convert_official_checkpoint,
    official_to_uasbench,
    read_state_dict,
    uasbench_to_official,
)

SIZE = 64
MEAN, STD = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])


class _Conv2dReLU(nn.Sequential):  # smp base/modules.py Conv2dReLU with BN
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class _SCSEModule(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.cSE = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c // 16, 1), nn.ReLU(),
                                 nn.Conv2d(c // 16, c, 1), nn.Sigmoid())
        self.sSE = nn.Sequential(nn.Conv2d(c, 1, 1), nn.Sigmoid())

    def forward(self, x):
        return x * self.cSE(x) + x * self.sSE(x)


class _Attention(nn.Module):
    def __init__(self, use: bool, c: int) -> None:
        super().__init__()
        self.attention = _SCSEModule(c) if use else nn.Identity()

    def forward(self, x):
        return self.attention(x)


class _DecoderBlock(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int) -> None:
        super().__init__()
        self.conv1 = _Conv2dReLU(cin + cskip, cout)
        self.attention1 = _Attention(cskip > 0, cin + cskip)
        self.conv2 = _Conv2dReLU(cout, cout)
        self.attention2 = _Attention(cskip > 0, cout)

    def forward(self, x, skip=None):
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        if skip is not None:
            x = self.attention1(torch.cat([x, skip], dim=1))
        return self.attention2(self.conv2(self.conv1(x)))


class _UnetDecoder(nn.Module):  # num_coam_layers=3 doubles the head and the first two skips
    def __init__(self) -> None:
        super().__init__()
        self.center = nn.Identity()
        ins, skips, outs = [896, 256, 128, 64, 64], [320, 112, 32, 48, 0], [256, 128, 64, 64, 48]
        self.blocks = nn.ModuleList(_DecoderBlock(*c) for c in zip(ins, skips, outs))

    def forward(self, *features):
        features = features[1:][::-1]
        x, skips = self.center(features[0]), features[1:]
        for i, block in enumerate(self.blocks):
            x = block(x, skips[i] if i < len(skips) else None)
        return x


class _AlignmentLayer(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.dimensionality_reduction = nn.Conv2d(c, c // 2, 1, bias=True)

    def forward(self, q, p):
        Q, K = self.dimensionality_reduction(q), self.dimensionality_reduction(p)
        attention = torch.einsum("bcij,bckl->bijkl", Q, K).flatten(3).softmax(dim=3)
        return torch.einsum("bijp,bcp->bcij", attention, p.flatten(2))


class _AlignmentModule(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.alignment_layer = _AlignmentLayer(c)

    def forward(self, q, p):
        return torch.cat([q, self.alignment_layer(q, p)], dim=1)


class OfficialLayoutMetaUAS(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        from efficientnet_pytorch import EfficientNet

        self.encoder = EfficientNet.from_name("efficientnet-b4")
        del self.encoder._fc
        self.decoder = _UnetDecoder()
        self.alignment = nn.ModuleList(_AlignmentModule(c) for c in (448, 160, 56))
        self.mask_head = nn.Conv2d(48, 1, 1)

    def encode(self, x):  # smp EfficientNetEncoder: identity, stem, blocks split at (6, 10, 22, 32)
        e = self.encoder
        x = (x - MEAN.view(1, 3, 1, 1)) / STD.view(1, 3, 1, 1)
        y = e._swish(e._bn0(e._conv_stem(x)))
        feats = [x, y]
        for start, stop in ((0, 6), (6, 10), (10, 22), (22, 32)):
            for block in e._blocks[start:stop]:
                y = block(y)  # eval mode: drop-connect is a no-op
            feats.append(y)
        return feats

    def forward(self, query, prompt):
        qf, pf = self.encode(query), self.encode(prompt)
        for i, module in enumerate(self.alignment):
            qf[-(i + 1)] = module(qf[-(i + 1)], pf[-(i + 1)])
        return self.mask_head(self.decoder(*qf)).sigmoid()


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """A randomly initialised official-layout model (BN statistics randomised too) and its checkpoint file."""
    torch.manual_seed(0)
    reference = OfficialLayoutMetaUAS()
    with torch.no_grad():
        for module in reference.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
        reference.mask_head.weight.mul_(20)  # spread the random-init map so the comparison below is sharp
    reference.eval()
    path = tmp_path_factory.mktemp("official") / "metauas-256.ckpt"
    torch.save(reference.state_dict(), path)
    return reference, path


def test_official_key_names_as_read_in_the_official_source(official):
    reference, _ = official
    keys = set(reference.state_dict())
    for key in ("encoder._conv_stem.weight", "encoder._bn0.running_var", "encoder._blocks.31._project_conv.weight",
                "encoder._conv_head.weight", "encoder._bn1.num_batches_tracked",
                "alignment.0.alignment_layer.dimensionality_reduction.weight",
                "alignment.2.alignment_layer.dimensionality_reduction.bias",
                "decoder.blocks.0.conv1.0.weight", "decoder.blocks.0.conv1.1.running_mean",
                "decoder.blocks.0.attention1.attention.cSE.1.weight",
                "decoder.blocks.3.attention2.attention.sSE.0.bias",
                "decoder.blocks.4.conv2.1.weight", "mask_head.weight", "mask_head.bias"):
        assert key in keys, key
    assert not any(k.startswith(("encoder._fc", "decoder.blocks.4.attention", "decoder.center")) for k in keys)
    assert sum(k.startswith("encoder.") for k in keys) == 704  # lukemelas B4 state dict without _fc
    # our model exported through the inverse map has exactly the official key set and shapes
    model = create("metauas", pretrained_backbone=False).model
    exported = uasbench_to_official(model.state_dict(), model)
    assert {k: tuple(v.shape) for k, v in exported.items()} == {k: tuple(v.shape)
                                                                for k, v in reference.state_dict().items()}


def test_converted_checkpoint_reproduces_the_official_outputs(official, tmp_path):
    reference, path = official
    out = tmp_path / "metauas-256.pt"
    counts = convert_official_checkpoint(path, out)
    assert counts["tensors"] == len(reference.state_dict())
    assert abs(counts["parameters"] - 22.13e6) <= 0.01e6
    method = create("metauas", checkpoint=out)  # no ImageNet weights needed: the checkpoint has the encoder
    assert method.weight_source == f"checkpoint {out}"
    encoder_bn = method.model.encoder._blocks[5]._bn1.running_mean
    torch.testing.assert_close(encoder_bn, reference.encoder._blocks[5]._bn1.running_mean)
    torch.manual_seed(1)
    query, prompt = torch.rand(2, 3, SIZE, SIZE), torch.rand(2, 3, SIZE, SIZE)
    with torch.no_grad():
        expected = reference(query, prompt)
    maps, scores = method.predict(query, prompt)
    torch.testing.assert_close(maps, expected[:, 0], atol=1e-5, rtol=1e-4)
    assert expected.std() > 1e-2  # the reference map is not constant, so the comparison means something


def test_checkpoint_of_another_model_is_rejected_naming_keys(tmp_path):
    from torchvision.models import resnet18

    path = tmp_path / "resnet.ckpt"
    torch.save(resnet18().state_dict(), path)
    with pytest.raises(CheckpointError, match=r"not an official MetaUAS checkpoint.*conv1\.weight"):
        convert_official_checkpoint(path, tmp_path / "out.pt")
    assert not (tmp_path / "out.pt").exists()


def test_missing_extra_and_misshaped_keys_are_named(official):
    reference, _ = official
    model = create("metauas", pretrained_backbone=False).model
    state = dict(reference.state_dict())
    del state["decoder.blocks.0.conv1.0.weight"]
    state["decoder.blocks.7.conv1.0.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError) as err:
        official_to_uasbench(state, model)
    message = str(err.value)
    assert "1 missing keys: decoder.blocks.0.conv1.0.weight" in message
    assert "1 unexpected keys: decoder.blocks.7.conv1.0.weight" in message
    state = dict(reference.state_dict(), **{"mask_head.weight": torch.zeros(1, 64, 1, 1)})
    with pytest.raises(CheckpointError, match=r"wrong shape: head\.weight \(1, 64, 1, 1\) != \(1, 48, 1, 1\)"):
        official_to_uasbench(state, model)
    state = {k: v for k, v in reference.state_dict().items() if not k.startswith("encoder._blocks.3.")}
    with pytest.raises(CheckpointError, match=r"official names of the missing keys: encoder\._blocks\.3\."):
        official_to_uasbench(state, model)


def test_unsafe_or_malformed_files_are_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        read_state_dict(tmp_path / "absent.ckpt")
    unsafe = tmp_path / "unsafe.ckpt"
    torch.save({"model": nn.Linear(2, 2)}, unsafe)  # a pickled module needs weights_only=False
    with pytest.raises(CheckpointError, match="weights_only=True"):
        read_state_dict(unsafe)
    not_a_dict = tmp_path / "list.ckpt"
    torch.save([torch.zeros(1)], not_a_dict)
    with pytest.raises(CheckpointError, match="not a state dict"):
        read_state_dict(not_a_dict)
    lightning = tmp_path / "lightning.ckpt"
    torch.save({"state_dict": {"mask_head.bias": torch.zeros(1)}, "epoch": 3}, lightning)
    assert set(read_state_dict(lightning)) == {"mask_head.bias"}


def test_uasbench_checkpoint_with_wrong_keys_is_refused(tmp_path):
    path = tmp_path / "partial.pt"
    torch.save({"head.weight": torch.zeros(1, 48, 1, 1)}, path)
    with pytest.raises(CheckpointError, match=r"missing keys: alignment\.0\.reduce\.bias"):
        create("metauas", checkpoint=path)


def test_cli_converts_and_reports_errors(official, tmp_path, capsys):
    _, path = official
    out = tmp_path / "cli.pt"
    assert cli_main(["convert", "metauas-official", str(path), str(out)]) == 0
    assert out.is_file() and "22.13M" in capsys.readouterr().out
    bad = tmp_path / "bad.ckpt"
    torch.save({"foo.weight": torch.zeros(1)}, bad)
    assert cli_main(["convert", "metauas-official", str(bad), str(tmp_path / "x.pt")]) == 2
    assert "foo.weight" in capsys.readouterr().err
