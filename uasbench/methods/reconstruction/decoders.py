"""The two decoders: UniAD's layer-wise query decoder and OneNIP's bidirectional prompt decoder.

Both take encoder tokens (HW, B, C) and return reconstructed tokens (HW, B, C) after a final LayerNorm.
"""

from __future__ import annotations

import torch
from torch import nn

from uasbench.methods.reconstruction.transformer import FeedForward, add_post_norms, attention


class QueryDecoderLayer(nn.Module):
    """UniAD layer-wise query (LQD) layer, post-norm [UniAD models/reconstructions/uniad.py]:

    q = LN(q + attn(q+pos → encoder output)); q = LN(q + attn(q+pos → previous layer output)); q = LN(q + FFN(q)),
    where q is this layer's own learned (HW, C) query table — or, in OneNIP's "static prompt" ablation (Eq. 2),
    the encoded prompt tokens, which replace the table in every layer.
    """

    def __init__(self, dim: int, heads: int, ffn_dim: int, dropout: float, num_queries: int | None) -> None:
        super().__init__()
        self.learned_embed = nn.Embedding(num_queries, dim) if num_queries else None
        self.attn_to_encoder = attention(dim, heads, dropout)
        self.attn_to_previous = attention(dim, heads, dropout)
        self.ffn = FeedForward(dim, ffn_dim, dropout)
        add_post_norms(self, dim, dropout, 3)

    def forward(self, previous: torch.Tensor, memory: torch.Tensor, pos: torch.Tensor, mask: torch.Tensor | None,
                prompt: torch.Tensor | None = None) -> torch.Tensor:
        if prompt is not None:
            query = prompt
        elif self.learned_embed is not None:
            query = self.learned_embed.weight[:, None].expand(-1, memory.shape[1], -1)
        else:
            raise ValueError("a static-prompt decoder layer needs prompt tokens")
        out = self.attn_to_encoder(query + pos, memory + pos, value=memory, attn_mask=mask, need_weights=False)[0]
        query = self.norm1(query + self.dropout1(out))
        out = self.attn_to_previous(query + pos, previous + pos, value=previous, attn_mask=mask, need_weights=False)[0]
        query = self.norm2(query + self.dropout2(out))
        return self.norm3(query + self.dropout3(self.ffn(query)))


class QueryDecoder(nn.Module):
    """Stack of LQD layers; layer 1's "previous output" is the encoder output; final LayerNorm."""

    def __init__(self, depth: int, dim: int, heads: int, ffn_dim: int, dropout: float,
                 num_queries: int | None) -> None:
        super().__init__()
        self.layers = nn.ModuleList(QueryDecoderLayer(dim, heads, ffn_dim, dropout, num_queries) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    def forward(self, image: torch.Tensor, pos: torch.Tensor, mask: torch.Tensor | None,
                prompt: torch.Tensor | None = None) -> torch.Tensor:
        out = image
        for layer in self.layers:
            out = layer(out, image, pos, mask, prompt)
        return self.norm(out)


class PromptMLP(nn.Module):
    """OneNIP ``MLPBlock``: lin1 → ReLU → lin2 (its dropout module is never applied in the official forward)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.lin1 = nn.Linear(dim, hidden)
        self.lin2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin2(torch.relu(self.lin1(x)))


class BidirectionalDecoderLayer(nn.Module):
    """OneNIP two-way layer (post-norm, after the a6e80fa bug fix) [OneNIP models/reconstructions/onenip.py]:

    prompt = LN(prompt + attn(prompt+pos → image+pos, value image))       prompt → image, masked
    prompt = LN(prompt + MLP(prompt))
    image  = LN(image + attn(image+pos → prompt+pos, value prompt))       image → prompt, masked
    """

    def __init__(self, dim: int, heads: int, ffn_dim: int, dropout: float) -> None:
        super().__init__()
        self.cross_attn_prompt_to_image = attention(dim, heads, dropout)
        self.cross_attn_image_to_prompt = attention(dim, heads, dropout)
        self.mlp = PromptMLP(dim, ffn_dim)
        add_post_norms(self, dim, dropout, 3)

    def forward(self, prompt: torch.Tensor, image: torch.Tensor, pos: torch.Tensor,
                mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.cross_attn_prompt_to_image(prompt + pos, image + pos, value=image, attn_mask=mask,
                                              need_weights=False)[0]
        prompt = self.norm1(prompt + self.dropout1(out))
        prompt = self.norm2(prompt + self.dropout2(self.mlp(prompt)))
        out = self.cross_attn_image_to_prompt(image + pos, prompt + pos, value=prompt, attn_mask=mask,
                                              need_weights=False)[0]
        image = self.norm3(image + self.dropout3(out))
        return prompt, image


class BidirectionalDecoder(nn.Module):
    """Layers, then one unmasked prompt → image attention (add, LayerNorm); the output is the PROMPT stream."""

    def __init__(self, depth: int, dim: int, heads: int, ffn_dim: int, dropout: float) -> None:
        super().__init__()
        self.layers = nn.ModuleList(BidirectionalDecoderLayer(dim, heads, ffn_dim, dropout) for _ in range(depth))
        self.final_attn_token_to_image = attention(dim, heads, dropout)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(dim)

    def forward(self, image: torch.Tensor, pos: torch.Tensor, mask: torch.Tensor | None,
                prompt: torch.Tensor | None = None) -> torch.Tensor:
        if prompt is None:
            raise ValueError("the bidirectional decoder needs prompt tokens")
        for layer in self.layers:
            prompt, image = layer(prompt, image, pos, mask)
        out = self.final_attn_token_to_image(prompt + pos, image + pos, value=image, need_weights=False)[0]
        return self.norm(prompt + self.dropout(out))
