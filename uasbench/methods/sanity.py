"""Sanity baselines shown in every table: a learned method that does not beat them is visible at once.

``prompt-diff``: blurred absolute difference between the query and its normal prompt, either in pixels (mean |Δ| over
RGB) or in encoder features (L2 over channels of each level's difference, upsampled bilinearly and averaged over
levels). With k > 1 prompts each pixel keeps its smallest difference. Gaussian σ = 4 as PatchCore; image score =
map max. ``random``: i.i.d. uniform maps and scores seeded by (seed, query content) (chance level).
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from uasbench.errors import ConfigError
from uasbench.methods.base import Method, WeightParameters, WeightRequest
from uasbench.methods.memory import CategoryMemory, FitsMemory, check_image_batch, content_key
from uasbench.methods.patchcore.method import gaussian_smooth
from uasbench.methods.registry import register_method


class PixelSpace(nn.Module):
    """Identity 'encoder' of the pixel-space difference: a single level, the RGB image itself."""

    strides = (1,)

    def forward(self, images01: torch.Tensor) -> list[torch.Tensor]:
        return [images01]


class FeatureSpace(nn.Module):
    """A frozen factory backbone; returns its feature levels for images in [0, 1]."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    @torch.no_grad()
    def forward(self, images01: torch.Tensor) -> list[torch.Tensor]:
        return [level.float() for level in self.backbone(self.backbone.normalize(images01))]


def level_distance(query_level: torch.Tensor, prompt_level: torch.Tensor, space: str) -> torch.Tensor:
    """(B, h, w) per-location distance; query (B, C, h, w), prompt (1, C, h', w') resized to the query's grid."""
    if prompt_level.shape[-2:] != query_level.shape[-2:]:
        prompt_level = F.interpolate(prompt_level, size=query_level.shape[-2:], mode="bilinear", align_corners=False)
    difference = query_level - prompt_level
    return difference.abs().mean(dim=1) if space == "pixel" else difference.norm(dim=1)


@register_method("prompt-diff")
class PromptDifference(FitsMemory, Method):
    """Query − prompt difference map: no learning, no matching, no alignment."""

    shots = 1
    image_score_rule = "max"
    weight_parameters = WeightParameters("backbone", "backbone", "weights", "pretrained")

    @classmethod
    def weight_requests(cls, options: dict[str, Any]) -> list[WeightRequest]:
        """Only the feature space has a network."""
        return super().weight_requests(options) if cls.bound_options(options)["space"] == "feature" else []

    def __init__(self, space: str = "pixel", backbone: str = "tf_efficientnet_lite0", taps: str = "metauas",
                 weights: str | None = None, pretrained: bool = True, smoothing_sigma: float = 4.0) -> None:
        if space not in ("pixel", "feature"):
            raise ConfigError(f"prompt-diff: space must be 'pixel' or 'feature', got {space!r}")
        self.space = space
        self.smoothing_sigma = smoothing_sigma
        if space == "pixel":
            self.model: nn.Module = PixelSpace()
            self.weight_source = "none"
        else:
            from uasbench.backbones import create_backbone

            network = create_backbone(backbone, taps=taps, weights=weights, pretrained=pretrained)
            self.model = FeatureSpace(network).eval()
            self.weight_source = getattr(network, "weight_source", "random")
        self._memory: CategoryMemory[list[list[torch.Tensor]]] = CategoryMemory(self._encode_prompts, "prompt-diff")

    def _device(self) -> torch.device:
        parameter = next(self.model.parameters(), None)
        return parameter.device if parameter is not None else torch.device("cpu")

    @torch.no_grad()
    def _encode_prompts(self, prompts01: torch.Tensor) -> list[list[torch.Tensor]]:
        """One list of levels (each (1, C, h, w)) per prompt image."""
        levels = self.model(prompts01.to(self._device()))
        return [[level[i:i + 1] for level in levels] for i in range(len(prompts01))]

    @torch.no_grad()
    def predict(self, query: torch.Tensor, prompt: torch.Tensor | None = None,
                category: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        query = check_image_batch(query, "prompt-diff query")
        size = tuple(query.shape[-2:])
        query_levels = self.model(query.to(self._device()))
        maps = torch.empty(len(query), *size)
        for members, prompts_levels in self._memory.groups(prompt, category, len(query)):
            rows = members.to(query_levels[0].device)
            group_levels = [level[rows] for level in query_levels]
            per_prompt = [torch.stack([F.interpolate(level_distance(q, p, self.space)[:, None], size=size,
                                                     mode="bilinear", align_corners=False)[:, 0]
                                       for q, p in zip(group_levels, prompt_levels)]).mean(0)
                          for prompt_levels in prompts_levels]
            maps[members] = torch.stack(per_prompt).amin(0).cpu().float()
        maps = gaussian_smooth(maps, self.smoothing_sigma).float()
        return maps, maps.flatten(1).amax(1)


@register_method("random")
class RandomScores(Method):
    """Chance level: uniform random maps and image scores, drawn from (seed, the query's content), so a query gets
    the same numbers whatever batch it comes in."""

    shots = 0

    def __init__(self, seed: int = 0) -> None:
        self.model = nn.Identity()
        self.weight_source = "none"
        self.seed = seed

    @torch.no_grad()
    def predict(self, query: torch.Tensor, prompt: torch.Tensor | None = None,
                category: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        query = check_image_batch(query, "random query")
        height, width = query.shape[-2:]
        maps, scores = [], []
        for image in query:
            key = hashlib.sha1(f"{self.seed}:{content_key(image)}".encode()).hexdigest()
            generator = torch.Generator().manual_seed(int(key[:8], 16))
            maps.append(torch.rand(height, width, generator=generator))
            scores.append(torch.rand((), generator=generator))
        return torch.stack(maps), torch.stack(scores)
