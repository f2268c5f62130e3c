"""MetaUAS feature alignment module (FAM, paper §3.2 Eqs. 3-6) and query/prompt fusion.

The official code [gaobb/MetaUAS metauas.py AlignmentLayer] reduces both feature maps with ONE shared 1×1 conv
(C → C/2, with bias), takes the raw dot product of every (query position, prompt position) pair (no 1/√d, no
temperature), and mixes the UNREDUCED prompt features with the resulting weights, giving a prompt map laid out
on the query grid. Everything here is batched: one (B, HWq, HWp) matrix per stage, no loops over positions.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from uasbench.errors import ConfigError

AlignmentMode = Literal["soft", "hard", "none"]
FusionPolicy = Literal["cat", "add", "absdiff"]
ALIGNMENT_MODES: tuple[str, ...] = ("soft", "hard", "none")
FUSION_POLICIES: tuple[str, ...] = ("cat", "add", "absdiff")


def alignment_weights(query_reduced: torch.Tensor, prompt_reduced: torch.Tensor,
                      mode: AlignmentMode) -> torch.Tensor:
    """(B, HWq, HWp) weights: row q says how much each prompt position contributes to query position q.

    soft: softmax over all prompt positions of the plain dot products (official 'sa').
    hard: one-hot at the argmax of the same dot products (the official 'ha' is broken: it reads an undefined
    name). Ties go to the FIRST maximal prompt position (``torch.argmax`` semantics), so every aligned vector
    is one real prompt feature; the official intent would have summed all tied features. The one-hot has no
    gradient, so in hard mode the reduction conv is never trained (see docs/deviations.md).
    """
    logits = torch.bmm(query_reduced.flatten(2).transpose(1, 2), prompt_reduced.flatten(2))
    if mode == "soft":
        return logits.softmax(dim=-1)
    if mode == "hard":
        return F.one_hot(logits.argmax(dim=-1), num_classes=logits.shape[-1]).to(logits.dtype)
    raise ConfigError(f"alignment weights are defined for 'soft' and 'hard', not {mode!r}")


def apply_alignment(weights: torch.Tensor, prompt: torch.Tensor, query_size: tuple[int, int]) -> torch.Tensor:
    """Mix the prompt features (B, C, Hp, Wp) with (B, HWq, HWp) weights into a (B, C, Hq, Wq) aligned prompt."""
    values = prompt.flatten(2)  # (B, C, HWp)
    aligned = torch.bmm(values, weights.transpose(1, 2))  # (B, C, HWq)
    return aligned.reshape(prompt.shape[0], prompt.shape[1], *query_size)


def fuse(query: torch.Tensor, aligned_prompt: torch.Tensor, policy: FusionPolicy) -> torch.Tensor:
    """Official fusion policies: channel concat [query, prompt], sum, or absolute difference."""
    if policy == "cat":
        return torch.cat([query, aligned_prompt], dim=1)
    if policy == "add":
        return query + aligned_prompt
    if policy == "absdiff":
        return (query - aligned_prompt).abs()
    raise ConfigError(f"unknown fusion policy {policy!r}; expected one of {FUSION_POLICIES}")


def fused_channels(channels: int, policy: FusionPolicy) -> int:
    """Channels of ``fuse(query, prompt, policy)`` for C-channel inputs."""
    return 2 * channels if policy == "cat" else channels


class FeatureAlignment(nn.Module):
    """Align one stage's prompt features to the query grid and fuse them with the query features."""

    def __init__(self, channels: int, mode: AlignmentMode = "soft", fusion: FusionPolicy = "cat") -> None:
        super().__init__()
        if mode not in ALIGNMENT_MODES:
            raise ConfigError(f"unknown alignment mode {mode!r}; expected one of {ALIGNMENT_MODES}")
        if fusion not in FUSION_POLICIES:
            raise ConfigError(f"unknown fusion policy {fusion!r}; expected one of {FUSION_POLICIES}")
        self.mode = mode
        self.fusion = fusion
        self.out_channels = fused_channels(channels, fusion)
        # One projection shared by query and prompt (official; CYWS used two). 'none' has no parameters.
        self.reduce = nn.Conv2d(channels, channels // 2, kernel_size=1, bias=True) if mode != "none" else None

    def align(self, query: torch.Tensor, prompt: torch.Tensor) -> torch.Tensor:
        """The prompt features rearranged onto the query grid (the raw prompt for mode 'none')."""
        if self.reduce is None:
            if prompt.shape[-2:] != query.shape[-2:]:
                raise ConfigError(f"alignment 'none' needs prompt and query features of the same size, got "
                                 f"{tuple(prompt.shape[-2:])} and {tuple(query.shape[-2:])}")
            return prompt
        weights = alignment_weights(self.reduce(query), self.reduce(prompt), self.mode)
        return apply_alignment(weights, prompt, (query.shape[-2], query.shape[-1]))

    def forward(self, query: torch.Tensor, prompt: torch.Tensor) -> torch.Tensor:
        return fuse(query, self.align(query, prompt), self.fusion)
