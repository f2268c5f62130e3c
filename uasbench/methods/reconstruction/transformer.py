"""Transformer parts shared by UniAD and OneNIP (zhiyuanyou/UniAD @a5b9d9d, gaobb/OneNIP @e93dec5).

Layouts follow the official code: tokens are (HW, B, C) and attention is ``nn.MultiheadAttention`` with
``batch_first=False``, so parameter names and shapes match the released checkpoints. Layers are post-norm
(``normalize_before: False`` in both official configs); positional embeddings are added to queries and keys only.
"""

from __future__ import annotations

import torch
from torch import nn

from uasbench.errors import ConfigError


def neighbour_window(feature_size: int) -> int:
    """The official ``neighbor_size`` = feature_size // 2 (auto-set from the input size in ``update_config``)."""
    return feature_size // 2


def neighbour_mask(feature_size: tuple[int, int], neighbour_size: tuple[int, int]) -> torch.Tensor:
    """Bool (HW, HW) attention mask, True = may NOT attend: each token is blind to the (2·⌊n/2⌋+1)² window
    around itself (itself included, clipped at the borders), so it must be reconstructed from context."""
    h, w = feature_size
    half_h, half_w = neighbour_size[0] // 2, neighbour_size[1] // 2
    rows = torch.arange(h).repeat_interleave(w)
    cols = torch.arange(w).repeat(h)
    near_rows = (rows[:, None] - rows[None, :]).abs() <= half_h
    near_cols = (cols[:, None] - cols[None, :]).abs() <= half_w
    mask = near_rows & near_cols
    if bool(mask.all(dim=1).any()):
        raise ConfigError(f"neighbour mask {neighbour_size} hides every position of a {h}x{w} feature map; "
                          f"use a larger image or a smaller window")
    return mask


def add_feature_jitter(tokens: torch.Tensor, scale: float, prob: float) -> torch.Tensor:
    """UniAD feature jitter: with probability ``prob`` add N(0, 1)·(‖token‖₂ / C)·scale to every token.

    Uses the torch RNG (the official code draws the coin from Python's ``random``), so training is reproducible
    from the torch seed alone.
    """
    if prob <= 0 or scale <= 0 or float(torch.rand(())) > prob:
        return tokens
    norms = tokens.norm(dim=-1, keepdim=True) / tokens.shape[-1]
    return tokens + torch.randn_like(tokens) * norms * scale


class LearnedPositionEmbedding(nn.Module):
    """DETR-style learned 2-D embedding: (HW, 2·F) = [column table | row table], uniform[0, 1) init."""

    def __init__(self, feature_size: tuple[int, int], num_features: int = 128) -> None:
        super().__init__()
        self.feature_size = feature_size
        self.row_embed = nn.Embedding(feature_size[0], num_features)
        self.col_embed = nn.Embedding(feature_size[1], num_features)
        nn.init.uniform_(self.row_embed.weight)
        nn.init.uniform_(self.col_embed.weight)

    def forward(self) -> torch.Tensor:
        h, w = self.feature_size
        cols = self.col_embed.weight[None].expand(h, w, -1)
        rows = self.row_embed.weight[:, None].expand(h, w, -1)
        return torch.cat([cols, rows], dim=-1).flatten(0, 1)


def attention(dim: int, heads: int, dropout: float) -> nn.MultiheadAttention:
    """``nn.MultiheadAttention`` (sequence-first), the attention every official layer uses; names match the
    checkpoints."""
    return nn.MultiheadAttention(dim, heads, dropout=dropout)


def add_post_norms(layer: nn.Module, dim: int, dropout: float, count: int) -> None:
    """``norm1`` … ``norm<count>`` (LayerNorm), then ``dropout1`` … on ``layer``: the official post-norm layers'
    names, registered in their order (parameter order is what optimizer states and checkpoints follow)."""
    for index in range(1, count + 1):
        layer.add_module(f"norm{index}", nn.LayerNorm(dim))
    for index in range(1, count + 1):
        layer.add_module(f"dropout{index}", nn.Dropout(dropout))


class FeedForward(nn.Module):
    """linear → ReLU → dropout → linear (the official encoder/UniAD-decoder FFN; names match the checkpoints)."""

    def __init__(self, dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.linear1 = nn.Linear(dim, hidden)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.dropout(torch.relu(self.linear1(x))))


class EncoderLayer(nn.Module):
    """Post-norm self-attention layer: x = LN(x + attn(x+pos, x+pos, x)); x = LN(x + FFN(x))."""

    def __init__(self, dim: int, heads: int, ffn_dim: int, dropout: float) -> None:
        super().__init__()
        self.self_attn = attention(dim, heads, dropout)
        self.ffn = FeedForward(dim, ffn_dim, dropout)
        add_post_norms(self, dim, dropout, 2)

    def forward(self, x: torch.Tensor, pos: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        q = k = x + pos
        x = self.norm1(x + self.dropout1(self.self_attn(q, k, value=x, attn_mask=mask, need_weights=False)[0]))
        return self.norm2(x + self.dropout2(self.ffn(x)))


class Encoder(nn.Module):
    """A stack of post-norm layers without a final norm (the official ``encoder_norm`` is None when post-norm)."""

    def __init__(self, depth: int, dim: int, heads: int, ffn_dim: int, dropout: float) -> None:
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(dim, heads, ffn_dim, dropout) for _ in range(depth))

    def forward(self, x: torch.Tensor, pos: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, pos, mask)
        return x
