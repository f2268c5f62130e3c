"""Shared UniAD/OneNIP parts on tiny shapes: neighbour mask, position embedding, neck, jitter, layers, refiner."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from uasbench.errors import ConfigError
from uasbench.methods.reconstruction.decoders import QueryDecoder
from uasbench.methods.reconstruction.mfcn import MultiScaleConcat
from uasbench.methods.reconstruction.refiner import Refiner, dice_loss
from uasbench.methods.reconstruction.transformer import (
    EncoderLayer,
    LearnedPositionEmbedding,
    add_feature_jitter,
    neighbour_mask,
    neighbour_window,
)


def official_mask_loop(h: int, w: int, hm: int, wm: int) -> np.ndarray:
    """Transcription of the official ``Transformer.generate_mask`` loop (True where the official mask is -inf)."""
    mask = np.zeros((h, w, h, w), dtype=bool)
    for i in range(h):
        for j in range(w):
            mask[i, j, max(i - hm // 2, 0):min(i + hm // 2 + 1, h), max(j - wm // 2, 0):min(j + wm // 2 + 1, w)] = True
    return mask.reshape(h * w, h * w)


@pytest.mark.parametrize("h, w, hm, wm", [(8, 8, 4, 4), (14, 14, 7, 7), (5, 7, 2, 4), (16, 16, 8, 8)])
def test_neighbour_mask_matches_the_official_loop(h, w, hm, wm):
    assert np.array_equal(neighbour_mask((h, w), (hm, wm)).numpy(), official_mask_loop(h, w, hm, wm))


@pytest.mark.parametrize("image_size, window_side", [(128, 5), (224, 7), (256, 9), (320, 11)])
def test_window_follows_the_input_size(image_size, window_side):
    f = image_size // 16
    mask = neighbour_mask((f, f), (neighbour_window(f),) * 2)
    centre = (f // 2) * f + f // 2
    assert int(mask[centre].sum()) == window_side ** 2
    assert bool(mask[centre, centre])  # a token never sees itself


def test_masked_positions_receive_zero_attention_weight():
    torch.manual_seed(0)
    mask = neighbour_mask((4, 4), (2, 2))
    attn = nn.MultiheadAttention(8, 2).eval()
    x = torch.randn(16, 3, 8)
    _, weights = attn(x, x, x, attn_mask=mask, need_weights=True, average_attn_weights=False)
    assert torch.all(weights[..., mask] == 0)
    assert torch.all(weights[..., ~mask] > 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones_like(weights.sum(-1)))


def test_a_mask_hiding_everything_is_refused():
    with pytest.raises(ConfigError, match="hides every position"):
        neighbour_mask((2, 2), (4, 4))


def test_position_embedding_is_column_then_row_table():
    pos = LearnedPositionEmbedding((3, 5), 4)
    table = pos()
    assert table.shape == (15, 8)
    r, c = 2, 3
    torch.testing.assert_close(table[r * 5 + c], torch.cat([pos.col_embed.weight[c], pos.row_embed.weight[r]]))
    weights = pos.row_embed.weight.detach()
    assert 0 <= float(weights.min()) and float(weights.max()) < 1


def test_neck_equals_official_upsampling_and_concat():
    torch.manual_seed(0)
    channels, strides = (24, 32, 56, 160), (2, 4, 8, 16)
    taps = [torch.randn(2, c, 224 // s, 224 // s) for c, s in zip(channels, strides)]
    neck = MultiScaleConcat(channels, strides)
    expected = torch.cat([nn.UpsamplingBilinear2d(scale_factor=s / 16)(t) for t, s in zip(taps, strides)], 1)
    out = neck(taps, 224)
    assert neck.out_channels == 272 and out.shape == (2, 272, 14, 14)
    torch.testing.assert_close(out, expected)


def test_feature_jitter_scale_and_switches():
    tokens = torch.randn(64, 32, 272)
    assert add_feature_jitter(tokens, 20.0, 0.0) is tokens
    torch.manual_seed(1)
    noisy = add_feature_jitter(tokens, 20.0, 1.0)
    ratio = (noisy - tokens) / (tokens.norm(dim=-1, keepdim=True) / 272 * 20.0)
    assert abs(float(ratio.std()) - 1.0) < 0.02 and abs(float(ratio.mean())) < 0.02
    torch.manual_seed(1)
    torch.testing.assert_close(add_feature_jitter(tokens, 20.0, 1.0), noisy)


def test_encoder_layer_equals_torch_post_norm_layer_without_positions():
    torch.manual_seed(0)
    ours = EncoderLayer(16, 4, 32, 0.1).eval()
    ref = nn.TransformerEncoderLayer(16, 4, 32, 0.1, activation="relu", norm_first=False).eval()
    ref.self_attn.load_state_dict(ours.self_attn.state_dict())
    for name in ("linear1", "linear2"):
        getattr(ref, name).load_state_dict(getattr(ours.ffn, name).state_dict())
    ref.norm1.load_state_dict(ours.norm1.state_dict())
    ref.norm2.load_state_dict(ours.norm2.state_dict())
    x = torch.randn(9, 2, 16)
    mask = neighbour_mask((3, 3), (1, 1))
    torch.testing.assert_close(ours(x, torch.zeros(9, 1, 16), mask), ref(x, src_mask=mask))


def test_query_decoder_learned_tables_or_static_prompt():
    torch.manual_seed(0)
    learned = QueryDecoder(2, 16, 4, 32, 0.0, num_queries=9).eval()
    static = QueryDecoder(2, 16, 4, 32, 0.0, num_queries=None).eval()
    assert [p.shape for n, p in learned.named_parameters() if "learned_embed" in n] == [torch.Size([9, 16])] * 2
    assert not any("learned_embed" in n for n, _ in static.named_parameters())
    image, pos = torch.randn(9, 2, 16), torch.randn(9, 1, 16)
    assert learned(image, pos, None).shape == (9, 2, 16)
    with pytest.raises(ValueError, match="prompt"):
        static(image, pos, None)
    a, b = torch.randn(9, 2, 16), torch.randn(9, 2, 16)
    assert not torch.allclose(static(image, pos, None, a), static(image, pos, None, b))


def test_refiner_shapes_and_parameter_count():
    refiner = Refiner(272)
    assert sum(p.numel() for p in refiner.parameters()) == 592_769
    assert refiner(torch.randn(2, 272, 14, 14)).shape == (2, 1, 56, 56)
    assert list(refiner.state_dict())[:2] == ["upconv1.0.weight", "upconv1.1.weight"]


def test_dice_loss_formula():
    p = torch.tensor([[0.5, 1.0, 0.0, 0.25]])
    t = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    expected = 1 - (0.5 + 1.0 + 1) / ((0.25 + 1 + 0.0625) + 2 + 1)
    torch.testing.assert_close(dice_loss(p, t), torch.tensor(expected))
    # the official numerator has no factor 2: a perfect map of n positives scores 1 - (n + 1) / (2n + 1), not 0
    assert float(dice_loss(t, t)) == pytest.approx(1 - 3 / 5)
    assert float(dice_loss(torch.zeros(1, 4), torch.zeros(1, 4))) == pytest.approx(0.0)  # normal image, empty map
    assert float(dice_loss(1 - t, t)) == pytest.approx(1 - 1 / 5)
