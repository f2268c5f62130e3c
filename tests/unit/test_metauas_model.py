"""MetaUAS network: parameter counts, output contract, frozen encoder, alignment maths, fusion, decoders."""

from __future__ import annotations

import itertools

import pytest
import torch

from uasbench.backbones import create_backbone
from uasbench.errors import ConfigError
from uasbench.methods import create
from uasbench.methods.base import count_parameters
from uasbench.methods.metauas import MetaUASModel
from uasbench.methods.metauas.alignment import FeatureAlignment, alignment_weights, fuse

SIZE = 64  # smallest input that keeps all five stages (/32 → 2×2)


def small_model(**options) -> MetaUASModel:
    """The real factory with the small Lite0 encoder (random weights) keeps these tests fast."""
    torch.manual_seed(0)
    return MetaUASModel(create_backbone("tf_efficientnet_lite0", taps="metauas", pretrained=False), **options)


@pytest.fixture(scope="module")
def model() -> MetaUASModel:
    """The default configuration (soft, cat, UNet), shared by the tests that only run it."""
    return small_model()


def images(batch: int, seed: int, size: int = SIZE) -> torch.Tensor:
    return torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_official_configuration_has_the_papers_parameter_counts():
    method = create("metauas", pretrained_backbone=False)  # b4, soft, cat, unet, 3 FAM layers
    counts = method.parameter_counts()
    assert abs(counts["total"] - 22.13e6) <= 0.01e6
    assert abs(counts["learnable"] - 4.58e6) <= 0.01e6
    # The exact split computed from the official code (reference notes §1.7)
    model = method.model
    assert count_parameters(model.decoder)["learnable"] == 4_466_588
    assert count_parameters(model.alignment)["learnable"] == 115_052
    assert count_parameters(model.head)["learnable"] == 49
    assert counts["learnable"] == 4_581_689
    assert count_parameters(model.encoder) == {"total": 17_548_616, "learnable": 0}


def test_eval_gives_a_probability_map_and_train_the_logits_of_it(model):
    query, prompt = images(2, 1), images(2, 2)
    model.eval()
    maps = model(query, prompt)
    assert maps.shape == (2, 1, SIZE, SIZE)
    assert maps.min() >= 0 and maps.max() <= 1
    model.train()
    for module in model.decoder.modules():  # same BN statistics as eval, everything else in train mode
        module.eval()
    logits = model(query, prompt)
    assert not torch.allclose(logits, maps)  # not squashed
    torch.testing.assert_close(logits.sigmoid(), maps)
    model.eval()


def test_encoder_stays_frozen_and_in_eval_mode_while_training(model):
    model.zero_grad(set_to_none=True)
    model.train()
    assert model.training and model.decoder.training
    assert not any(m.training for m in model.encoder.modules())
    assert not any(p.requires_grad for p in model.encoder.parameters())
    stats_before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    model(images(2, 1), images(2, 2)).mean().backward()
    assert all(p.grad is None for p in model.encoder.parameters())
    assert all(p.grad is not None for p in model.alignment.parameters())
    for key, value in model.encoder.state_dict().items():
        assert torch.equal(value, stats_before[key]), key  # BN running stats untouched
    model.eval().zero_grad(set_to_none=True)


def test_encode_then_forward_from_features_equals_forward_and_prompt_batch_one_is_shared(model):
    query, prompt = images(3, 1), images(1, 2)
    with torch.no_grad():
        direct = model(query, prompt.expand(3, -1, -1, -1))
        cached = model.forward_from_features(model.encode(query), model.encode(prompt))
    torch.testing.assert_close(cached, direct)
    assert not any(f.requires_grad for f in model.encode(query))


def _reduce_by_hand(layer: FeatureAlignment, x: torch.Tensor) -> torch.Tensor:
    weight, bias = layer.reduce.weight[:, :, 0, 0], layer.reduce.bias
    return torch.einsum("oc,bchw->bohw", weight, x) + bias[None, :, None, None]


def test_soft_alignment_equals_a_hand_computation():
    torch.manual_seed(3)
    layer = FeatureAlignment(4, mode="soft", fusion="cat")
    query, prompt = torch.randn(1, 4, 2, 3), torch.randn(1, 4, 3, 2)
    q, k = _reduce_by_hand(layer, query)[0], _reduce_by_hand(layer, prompt)[0]
    expected = torch.zeros(4, 2, 3)
    prompt_positions = list(itertools.product(range(3), range(2)))
    for i, j in itertools.product(range(2), range(3)):
        scores = torch.stack([(q[:, i, j] * k[:, y, x]).sum() for y, x in prompt_positions])  # no scaling
        weights = torch.exp(scores - scores.max()) / torch.exp(scores - scores.max()).sum()
        expected[:, i, j] = sum(w * prompt[0, :, y, x] for w, (y, x) in zip(weights, prompt_positions))
    with torch.no_grad():
        torch.testing.assert_close(layer.align(query, prompt)[0], expected)
        torch.testing.assert_close(layer(query, prompt), torch.cat([query, expected[None]], dim=1))


def test_hard_alignment_is_one_hot_at_the_argmax_and_first_on_ties():
    gen = torch.Generator().manual_seed(4)
    q = torch.randint(-3, 4, (2, 2, 3, 3), generator=gen).float()  # integers: dot products are exact
    k = torch.randint(-3, 4, (2, 2, 3, 3), generator=gen).float()
    k[:, :, 2, 2] = k[:, :, 0, 1] = torch.tensor([5.0, 5.0])  # prompt positions 1 and 8 tie and dominate
    q[:, :, 0, 0] = 1.0  # query position 0 prefers them
    weights = alignment_weights(q, k, "hard")
    assert set(weights.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(weights.sum(-1), torch.ones(2, 9))
    dots = torch.einsum("bcq,bcp->bqp", q.flatten(2), k.flatten(2))
    assert torch.equal(weights.argmax(-1), dots.argmax(-1))
    assert weights[:, 0, 1].tolist() == [1.0, 1.0] and weights[:, 0, 8].tolist() == [0.0, 0.0]


def test_hard_alignment_copies_real_prompt_features_and_trains_no_projection():
    torch.manual_seed(4)
    layer = FeatureAlignment(4, mode="hard", fusion="cat")
    query, prompt = torch.randn(2, 4, 3, 3), torch.randn(2, 4, 3, 3, requires_grad=True)
    picked = alignment_weights(layer.reduce(query), layer.reduce(prompt), "hard").argmax(-1)
    aligned = layer.align(query, prompt)
    expected = torch.stack([prompt[b].flatten(1)[:, picked[b]] for b in range(2)]).reshape(2, 4, 3, 3)
    assert torch.equal(aligned, expected)
    aligned.sum().backward()
    assert prompt.grad is not None  # the copied values carry gradient ...
    assert layer.reduce.weight.grad is None  # ... the argmax does not


def test_no_alignment_passes_the_raw_prompt_and_has_no_parameters():
    layer = FeatureAlignment(4, mode="none", fusion="absdiff")
    query, prompt = torch.randn(1, 4, 2, 2), torch.randn(1, 4, 2, 2)
    assert count_parameters(layer)["total"] == 0
    torch.testing.assert_close(layer(query, prompt), (query - prompt).abs())
    with pytest.raises(ConfigError, match="same size"):
        layer(query, torch.randn(1, 4, 3, 3))


@pytest.mark.parametrize("fusion, factor", [("cat", 2), ("add", 1), ("absdiff", 1)])
def test_fusion_sets_the_decoder_input_channels(fusion, factor):
    model = small_model(fusion=fusion).eval()
    deep, mid, shallow = model.encoder.channels[-1], model.encoder.channels[-2], model.encoder.channels[-3]
    blocks = model.decoder.blocks
    assert blocks[0].conv1[0].in_channels == factor * deep + factor * mid
    assert blocks[1].conv1[0].in_channels == 256 + factor * shallow
    assert blocks[2].conv1[0].in_channels == 128 + model.encoder.channels[1]  # query-only skip
    assert blocks[3].conv1[0].in_channels == 64 + model.encoder.channels[0]
    assert isinstance(blocks[4].attention_in, torch.nn.Identity)  # no skip → no scSE
    q, p = torch.randn(1, 6, 2, 2), torch.randn(1, 6, 2, 2)
    assert fuse(q, p, fusion).shape[1] == factor * 6
    if fusion != "cat":  # the default model (cat) runs in the other tests
        assert model(images(1, 1), images(1, 2)).shape == (1, 1, SIZE, SIZE)


def test_fewer_alignment_layers_double_only_the_deepest_stages():
    model = small_model(num_alignment_layers=1)
    channels = model.encoder.channels
    assert len(model.alignment) == 1
    assert model.decoder.blocks[0].conv1[0].in_channels == 2 * channels[-1] + channels[-2]


@pytest.mark.parametrize("decoder, head_in", [("fpn-cat", 1024), ("fpn-add", 256)])
def test_fpn_decoders_run_at_full_resolution(decoder, head_in):
    model = small_model(decoder=decoder).eval()
    assert model.head.in_channels == head_in and model.decoder.output_stride == 4
    maps = model(images(1, 1), images(1, 2))
    assert maps.shape == (1, 1, SIZE, SIZE) and 0 <= maps.min() and maps.max() <= 1
    model.train()
    model(images(1, 1), images(1, 2)).mean().backward()  # GroupNorm/Dropout2d in training mode
    assert model.decoder.top.weight.grad is not None


@pytest.fixture(scope="module")
def method():
    return create("metauas", backbone="tf_efficientnet_lite0", pretrained_backbone=False)


def test_predict_returns_maps_and_max_scores(method):
    maps, scores = method.predict(images(2, 1), images(1, 2))
    assert maps.shape == (2, SIZE, SIZE)
    torch.testing.assert_close(scores, maps.flatten(1).max(1).values)
    assert not method.model.training


def test_bad_configurations_and_inputs_are_clear_errors(method):
    with pytest.raises(ConfigError, match="alignment='cosine'"):
        create("metauas", alignment="cosine")  # checked before any backbone is built
    with pytest.raises(ConfigError, match=r"'metauas': unknown option\(s\) temperature"):
        create("metauas", temperature=0.1)
    with pytest.raises(ConfigError, match="num_alignment_layers"):
        small_model(num_alignment_layers=0)
    with pytest.raises(ConfigError, match="needs a normal prompt"):
        method.predict(images(1, 1))
    with pytest.raises(ConfigError, match="not a multiple of 32"):
        method.predict(images(1, 1, size=70), images(1, 2, size=70))
    with pytest.raises(ConfigError, match="prompt batch 2"):
        method.predict(images(3, 1), images(2, 2))
