"""WinCLIP (zero-shot) and WinCLIP+ (k-shot), Jeong et al. CVPR'23, as zqhang/Accurate-WinCLIP-pytorch computes them
(that reproduction supplies the WinCLIP rows of MetaUAS Table 1) — anomalib's port agrees except where noted.

Zero-shot: the image score is the class-token anomaly probability (softmax of cos/0.07 over the two compositional
prompt prototypes); every 2×2 and 3×3 window (stride one patch) gets the same probability from its window embedding,
windows are harmonically aggregated per patch, and the map is the harmonic mean of {image score, 2×2 map, 3×3 map}
on the patch grid, upsampled bilinearly.
Few-shot (+): memory = the k normal images' final-layer patch tokens (un-projected, no ln_post as in the reference)
and window embeddings per scale; association ½·min(1 − cos); window scores harmonically aggregated; few-shot map =
mean of {patch, 2×2, 3×3}; final map = mean of zero- and few-shot maps (the reference adds them: same ranking);
image score = mean of the zero-shot image score and the few-shot map's max.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch

from uasbench.errors import ConfigError
from uasbench.methods.catalog import DEFAULT_CLIP, DEFAULT_CLIP_TAG
from uasbench.methods.clip.prompts import anomaly_probability, compositional_prompts
from uasbench.methods.clip.windows import (
    DenseClipOutput,
    association_scores,
    dense_clip_forward,
    harmonic_aggregation,
    upsample_grid_maps,
    window_embeddings,
    window_patch_indices,
)
from uasbench.methods.clip.zeroshot import ClipPromptMethod
from uasbench.methods.memory import CategoryMemory, FitsMemory, check_image_batch
from uasbench.methods.registry import register_method


@dataclass(frozen=True)
class WindowedFeatures:
    """One forward of a batch: dense outputs plus one (B, n_windows, E) tensor per window scale."""

    dense: DenseClipOutput
    windows: tuple[torch.Tensor, ...]

    def select(self, members: torch.Tensor) -> "WindowedFeatures":
        """The features of the queries ``members`` (indices into the batch)."""
        dense = self.dense
        rows = members.to(dense.patch_tokens.device)
        return WindowedFeatures(
            dense=DenseClipOutput(image_embedding=dense.image_embedding[rows], patch_tokens=dense.patch_tokens[rows],
                                  patch_embeddings=dense.patch_embeddings[rows], embedded=dense.embedded[rows],
                                  grid=dense.grid),
            windows=tuple(w[rows] for w in self.windows))


@dataclass(frozen=True)
class VisualMemory:
    """WinCLIP+ memory of the k normal images: patch tokens (k·L, D) and window embeddings per scale (k·n_w, E)."""

    patch_tokens: torch.Tensor
    windows: tuple[torch.Tensor, ...]


@register_method("winclip")
class WinCLIP(ClipPromptMethod):
    """Zero-shot WinCLIP: compositional prompt ensemble + multi-scale window embeddings."""

    shots = 0

    def __init__(self, model_name: str = DEFAULT_CLIP, pretrained_tag: str | None = DEFAULT_CLIP_TAG,
                 weights: str | None = None, pretrained: bool = True, temperature: float = 0.07,
                 scales: tuple[int, ...] = (2, 3), max_window_sequences: int = 2048) -> None:
        super().__init__(model_name, pretrained_tag=pretrained_tag, weights=weights, pretrained=pretrained,
                         temperature=temperature)
        if not scales or any(int(s) < 1 for s in scales):
            raise ConfigError(f"{self.name}: scales must be window sizes >= 1 (in patches), got {scales}")
        self.scales = tuple(int(s) for s in scales)
        self.max_window_sequences = max_window_sequences
        self._window_indices: dict[tuple[int, tuple[int, int]], torch.Tensor] = {}

    def prompts(self, class_name: str) -> tuple[list[str], list[str]]:
        return compositional_prompts(class_name)

    def windows_of(self, scale: int, grid: tuple[int, int]) -> torch.Tensor:
        key = (scale, grid)
        if key not in self._window_indices:
            self._window_indices[key] = window_patch_indices(grid, scale)
        return self._window_indices[key]

    @torch.no_grad()
    def encode(self, images01: torch.Tensor) -> WindowedFeatures:
        visual = self.model.visual
        dense = dense_clip_forward(visual, images01.to(self.device()))
        windows = tuple(window_embeddings(visual, dense.embedded, self.windows_of(scale, dense.grid),
                                          self.max_window_sequences) for scale in self.scales)
        return WindowedFeatures(dense=dense, windows=windows)

    def zero_shot(self, features: WindowedFeatures, prototypes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(image scores (B,), grid maps (B, h, w)): harmonic mean of the image score and the per-scale window maps."""
        grid = features.dense.grid
        image_scores = anomaly_probability(features.dense.image_embedding, prototypes, self.temperature).double()
        inverse_sum = 1.0 / image_scores[:, None].expand(-1, grid[0] * grid[1])
        for scale, embeddings in zip(self.scales, features.windows):
            window_scores = anomaly_probability(embeddings, prototypes, self.temperature)
            inverse_sum = inverse_sum + 1.0 / harmonic_aggregation(window_scores, self.windows_of(scale, grid),
                                                                   grid[0] * grid[1])
        grid_maps = torch.nan_to_num((len(self.scales) + 1) / inverse_sum, nan=0.0, posinf=0.0, neginf=0.0)
        return image_scores, grid_maps.reshape(-1, *grid)

    def combine(self, features: WindowedFeatures, category: str | None,
                prompt: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        return self.zero_shot(features, self.prototypes(category))

    @torch.no_grad()
    def predict(self, query: torch.Tensor, prompt: torch.Tensor | None = None,
                category: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        query = check_image_batch(query, f"{self.name} query")
        image_scores, grid_maps = self.combine(self.encode(query), category, prompt)
        return upsample_grid_maps(grid_maps, tuple(query.shape[-2:])).cpu(), image_scores.float().cpu()


@register_method("winclip+")
class WinCLIPPlus(FitsMemory, WinCLIP):
    """k-shot WinCLIP+: zero-shot WinCLIP fused with the visual association to the normal images' memory."""

    shots = 1

    @cached_property
    def _memory(self) -> CategoryMemory[VisualMemory]:
        return CategoryMemory(self._build_memory, self.name)

    @torch.no_grad()
    def _build_memory(self, normal01: torch.Tensor) -> VisualMemory:
        features = self.encode(normal01)
        patch = features.dense.patch_tokens
        return VisualMemory(patch_tokens=patch.reshape(-1, patch.shape[-1]),
                            windows=tuple(w.reshape(-1, w.shape[-1]) for w in features.windows))

    def few_shot(self, features: WindowedFeatures, memory: VisualMemory) -> torch.Tensor:
        """(B, h, w): mean of the patch association map and the harmonically aggregated window association maps."""
        grid = features.dense.grid
        num_patches = grid[0] * grid[1]
        maps = [association_scores(features.dense.patch_tokens, memory.patch_tokens).double()]
        for scale, embeddings, bank in zip(self.scales, features.windows, memory.windows):
            maps.append(harmonic_aggregation(association_scores(embeddings, bank), self.windows_of(scale, grid),
                                             num_patches))
        fused = torch.nan_to_num(torch.stack(maps).mean(0), nan=0.0, posinf=0.0, neginf=0.0)
        return fused.reshape(-1, *grid)

    def few_shot_maps(self, features: WindowedFeatures, category: str | None,
                      prompt: torch.Tensor | None) -> torch.Tensor:
        """(B, h, w) few-shot maps, each query against its memory (the category's, or its own prompt's)."""
        groups = self._memory.groups(prompt, category, len(features.dense.patch_tokens))
        if len(groups) == 1:
            return self.few_shot(features, groups[0][1])
        maps = torch.empty(len(features.dense.patch_tokens), *features.dense.grid, dtype=torch.float64,
                           device=features.dense.patch_tokens.device)
        for members, memory in groups:
            maps[members.to(maps.device)] = self.few_shot(features.select(members), memory)
        return maps

    def combine(self, features: WindowedFeatures, category: str | None,
                prompt: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        few_maps = self.few_shot_maps(features, category, prompt)
        zero_image, zero_maps = self.zero_shot(features, self.prototypes(category))
        return (zero_image + few_maps.flatten(1).amax(1)) / 2.0, (zero_maps + few_maps) / 2.0

    @torch.no_grad()
    def visual_prior(self, query: torch.Tensor, prompt: torch.Tensor) -> torch.Tensor:
        """(B, H, W) few-shot (visual) map of each query against its own prompt image, upsampled to the query size:
        the visual prior MetaUAS*+ adds, "kept exactly the same as WinCLIP+" (patch + window associations)."""
        query = check_image_batch(query, f"{self.name} query")
        few_maps = self.few_shot_maps(self.encode(query), None, prompt)
        return upsample_grid_maps(few_maps, tuple(query.shape[-2:])).cpu()
