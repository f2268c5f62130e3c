"""UniAD: parameter counts of the paper configuration, maps and scores, official-checkpoint conversion."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from uasbench.cli import main as cli_main
from uasbench.errors import CheckpointError, ConfigError
from uasbench.methods import create
from uasbench.methods.reconstruction.convert import official_to_uasbench, uasbench_to_official

# Official key names transcribed from zhiyuanyou/UniAD @a5b9d9d models/reconstructions/uniad.py (module tree of
# UniAD → Transformer → TransformerEncoder/Decoder → layers), prefixed as in ModelHelper + DDP.
ATTENTION = ("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias")
COMMON_KEYS = (["reconstruction.pos_embed.row_embed.weight", "reconstruction.pos_embed.col_embed.weight"]
               + [f"reconstruction.{p}.{t}" for p in ("input_proj", "output_proj", "transformer.decoder.norm")
                  for t in ("weight", "bias")])
ENCODER_LAYER = ([f"self_attn.{a}" for a in ATTENTION]
                 + [f"{m}.{t}" for m in ("linear1", "linear2", "norm1", "norm2") for t in ("weight", "bias")])
UNIAD_DECODER_LAYER = (["learned_embed.weight"]
                       + [f"{m}.{a}" for m in ("self_attn", "multihead_attn") for a in ATTENTION]
                       + [f"{m}.{t}" for m in ("linear1", "linear2", "norm1", "norm2", "norm3")
                          for t in ("weight", "bias")])
B4_WITHOUT_FC, B4_WITH_FC = 17_548_616, 19_341_616


def official_keys(decoder_layer: list[str], extra: list[str], depth: int = 4) -> set[str]:
    """Every key of an official DDP checkpoint: lukemelas b4 (with _fc) + the reconstruction module."""
    from efficientnet_pytorch import EfficientNet

    backbone = [f"backbone.{k}" for k in EfficientNet.from_name("efficientnet-b4").state_dict()]
    layers = [f"reconstruction.transformer.encoder.layers.{i}.{k}" for i in range(depth) for k in ENCODER_LAYER]
    layers += [f"reconstruction.transformer.decoder.layers.{i}.{k}" for i in range(depth) for k in decoder_layer]
    return {f"module.{k}" for k in backbone + COMMON_KEYS + layers + extra}


@pytest.fixture(scope="module")
def uniad_b4():
    torch.manual_seed(0)
    return create("uniad", pretrained_backbone=False)


def test_paper_parameter_counts(uniad_b4):
    counts = uniad_b4.parameter_counts()
    assert counts["learnable"] == 7_717_392  # 7.7M (MetaUAS Tab 2)
    # 27.1M in MetaUAS Tab 2 = b4 WITH its unused classifier (as the official backbone registers it) + 7.7M
    assert counts["total"] == B4_WITH_FC + 7_717_392 == 27_059_008
    backbone = uniad_b4.model.backbone
    assert sum(p.numel() for p in backbone.parameters()) == B4_WITH_FC
    fc = sum(p.numel() for n, p in backbone.named_parameters() if n.startswith("_fc."))
    assert B4_WITH_FC - fc == B4_WITHOUT_FC
    assert uniad_b4.model.neck.out_channels == 272


@pytest.mark.parametrize("size, feature", [(224, 14), (256, 16), (320, 20)])
def test_feature_size_follows_the_input(size, feature):
    model = create("uniad", backbone="tf_efficientnet_lite0", image_size=size).model
    assert model.position.row_embed.weight.shape == (feature, 128)
    assert model.decoder.layers[0].learned_embed.weight.shape == (feature * feature, 256)
    assert int(model.attn_mask.shape[0]) == feature * feature


def test_map_is_upsampled_l2_error_and_score_max_of_pooled_map():
    torch.manual_seed(0)
    method = create("uniad", backbone="tf_efficientnet_lite0", image_size=64, encoder_layers=1, decoder_layers=1)
    query = torch.rand(2, 3, 64, 64)
    maps, scores = method.predict(query, torch.rand(2, 3, 64, 64))  # the prompt is ignored
    out = method.model(query)
    error = (out.reconstructed - out.inputs).norm(dim=1, keepdim=True)
    expected = F.interpolate(error, size=(64, 64), mode="bilinear", align_corners=True)[:, 0]
    torch.testing.assert_close(maps, expected)
    torch.testing.assert_close(scores, F.avg_pool2d(expected[:, None], 16, stride=1).flatten(1).amax(1))
    torch.testing.assert_close(method.predict(query)[0], maps)


def test_wrong_input_size_and_unknown_options_are_clear_errors():
    method = create("uniad", backbone="tf_efficientnet_lite0", image_size=64, encoder_layers=1, decoder_layers=1)
    with pytest.raises(ConfigError, match=r"built for \(B, 3, 64, 64\).*got \(1, 3, 96, 96\)"):
        method.predict(torch.rand(1, 3, 96, 96))
    with pytest.raises(ConfigError, match=r"'uniad': unknown option\(s\) bogus; known: .*hidden_dim"):
        create("uniad", backbone="tf_efficientnet_lite0", bogus=1)
    with pytest.raises(ConfigError, match="multiple of 16"):
        create("uniad", backbone="tf_efficientnet_lite0", image_size=100)


def test_official_key_layout_round_trip(uniad_b4, tmp_path):
    official = uasbench_to_official(uniad_b4.model.state_dict(), "uniad")
    assert set(official) == official_keys(UNIAD_DECODER_LAYER, [])
    path = tmp_path / "ckpt.pth.tar"
    torch.save({"state_dict": official}, path)
    out = tmp_path / "uniad.pt"
    assert cli_main(["convert", "uniad-official", str(path), str(out)]) == 0
    loaded = create("uniad", pretrained_backbone=False, checkpoint=out)
    assert loaded.weight_source == f"checkpoint {out}"
    original = uniad_b4.model.state_dict()
    assert all(torch.equal(value, original[key]) for key, value in loaded.model.state_dict().items())


def test_conversion_errors_name_the_keys(uniad_b4):
    official = uasbench_to_official(uniad_b4.model.state_dict(), "uniad")
    key = "module.reconstruction.transformer.decoder.layers.2.multihead_attn.in_proj_bias"
    broken = {k: v for k, v in official.items() if k != key}
    with pytest.raises(CheckpointError, match=r"missing keys: decoder\.layers\.2\.attn_to_previous\.in_proj_bias"
                                              r".*official names.*layers\.2\.multihead_attn\.in_proj_bias"):
        official_to_uasbench(broken, "uniad", uniad_b4.model)
    extra = {**official, "module.reconstruction.query_pool.weight": torch.zeros(1)}
    with pytest.raises(CheckpointError, match=r"not an official uniad checkpoint.*reconstruction\.query_pool\.weight"):
        official_to_uasbench(extra, "uniad", uniad_b4.model)
    onenip_like = {**official, "module.reconstruction.seghead.predictor.bias": torch.zeros(1)}
    with pytest.raises(CheckpointError, match="seghead"):
        official_to_uasbench(onenip_like, "uniad", uniad_b4.model)


def test_cli_rejects_unsafe_or_foreign_files(tmp_path, capsys):
    pickle_path = tmp_path / "evil.pkl"
    torch.save({"state_dict": {"module.x": object()}}, pickle_path)
    assert cli_main(["convert", "uniad-official", str(pickle_path), str(tmp_path / "o.pt")]) == 2
    assert "weights_only=True" in capsys.readouterr().err
    foreign = tmp_path / "metauas.ckpt"
    torch.save({"encoder._conv_stem.weight": torch.zeros(1)}, foreign)
    assert cli_main(["convert", "uniad-official", str(foreign), str(tmp_path / "o.pt")]) == 2
    assert "reconstruction.pos_embed.row_embed.weight" in capsys.readouterr().err
    assert not (tmp_path / "o.pt").exists()
