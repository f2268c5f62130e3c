"""PatchCore (Roth et al., CVPR'22) as the official amazon-science/patchcore-inspection code computes it.

Features of the stride-8 and stride-16 levels are unfolded into 3×3 neighbourhoods (zero padding), the coarse level
is bilinearly upsampled to the stride-8 grid, each level's C·9 vector is adaptive-average-pooled to 1024, the two
are concatenated and pooled to 1024 again. The memory bank is the approximate greedy coreset (10 %) of the k normal
images' patches; a query patch scores its SQUARED L2 distance to the nearest bank entry (faiss IndexFlatL2, k = 1),
the image score is the max patch score, the map is bilinearly upsampled to the query size and Gaussian-blurred
(σ = 4, scipy). MetaUAS Table 1/2 swap the WideResNet-50 for EfficientNet-b4 and use one normal image per class.
"""

from __future__ import annotations

import faiss
import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import nn

from uasbench.datasets.preprocessing import Preprocessing
from uasbench.errors import ConfigError
from uasbench.methods.base import Method, WeightParameters
from uasbench.methods.memory import CategoryMemory, FitsMemory, check_image_batch
from uasbench.methods.patchcore.coreset import approximate_greedy_coreset
from uasbench.methods.registry import register_method

#: backbone name → why it is a preset. Both are tapped at strides 8 and 16 ("patchcore" taps of the factory).
BACKBONE_PRESETS: dict[str, str] = {
    "efficientnet_b4": "MetaUAS Table 1/2 (PatchCore with the backbone swapped for EfficientNet-b4)",
    "wide_resnet50_2": "PatchCore paper / official code (layer2 + layer3)",
}
PATCHCORE_STRIDES = (8, 16)


def locally_aware_embedding(levels: list[torch.Tensor], patch_size: int = 3, pretrain_dim: int = 1024,
                            target_dim: int = 1024) -> tuple[torch.Tensor, tuple[int, int]]:
    """(B·h·w, target_dim) patch embeddings on the grid of the first (finest) level, plus that grid (h, w).

    Channel order of an unfolded vector is (C, kh, kw), as ``nn.Unfold`` gives it in the official code; upsampling the
    unfolded coarse map is the same linear operation as upsampling each of its per-offset patch maps there.
    """
    grid = tuple(levels[0].shape[-2:])
    pooled_levels = []
    for feature in levels:
        batch, channels, height, width = feature.shape
        patches = F.unfold(feature, kernel_size=patch_size, padding=(patch_size - 1) // 2)
        patches = patches.reshape(batch, channels * patch_size * patch_size, height, width)
        if (height, width) != grid:
            patches = F.interpolate(patches, size=grid, mode="bilinear", align_corners=False)
        vectors = patches.permute(0, 2, 3, 1).reshape(-1, 1, patches.shape[1])
        pooled_levels.append(F.adaptive_avg_pool1d(vectors, pretrain_dim)[:, 0])
    stacked = torch.stack(pooled_levels, dim=1).reshape(len(pooled_levels[0]), 1, -1)
    return F.adaptive_avg_pool1d(stacked, target_dim)[:, 0], grid  # type: ignore[return-value]


def select_levels_by_stride(strides: list[int] | tuple[int, ...], wanted: tuple[int, ...], backbone: str) -> list[int]:
    """Indices of the backbone levels whose strides are ``wanted`` (in that order)."""
    strides = list(strides)
    missing = [s for s in wanted if s not in strides]
    if missing:
        raise ConfigError(f"patchcore: backbone {backbone!r} has no feature level at stride(s) {missing} "
                          f"(its strides: {strides}); PatchCore needs levels at strides {list(wanted)}")
    return [strides.index(s) for s in wanted]


def build_patchcore_backbone(name: str, weights: str | None, pretrained: bool) -> tuple[nn.Module, list[int]]:
    """The factory's backbone with its "patchcore" taps (falling back to "metauas" taps), and the stride-8/16 levels."""
    from uasbench.backbones import create_backbone

    try:
        backbone = create_backbone(name, taps="patchcore", weights=weights, pretrained=pretrained)
    except ConfigError as err:
        if "patchcore" not in str(err):
            raise
        backbone = create_backbone(name, taps="metauas", weights=weights, pretrained=pretrained)
    return backbone, select_levels_by_stride(backbone.strides, PATCHCORE_STRIDES, name)


class PatchCoreEmbedder(nn.Module):
    """Frozen backbone + locally aware patch embedding; holds no learnable parameters of its own."""

    def __init__(self, backbone: nn.Module, level_indices: list[int], patch_size: int = 3,
                 embed_dim: int = 1024) -> None:
        super().__init__()
        self.backbone = backbone
        self.level_indices = list(level_indices)
        self.patch_size = patch_size
        self.embed_dim = embed_dim

    @torch.no_grad()
    def forward(self, images01: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        levels = self.backbone(self.backbone.normalize(images01))
        chosen = [levels[i].float() for i in self.level_indices]
        return locally_aware_embedding(chosen, self.patch_size, self.embed_dim, self.embed_dim)


def gaussian_smooth(maps: torch.Tensor, sigma: float) -> torch.Tensor:
    """scipy ``gaussian_filter`` (reflect, truncate 4σ) over H and W of each map (B, H, W), as the official code."""
    if sigma <= 0:
        return maps
    smoothed = ndimage.gaussian_filter(maps.detach().cpu().numpy().astype(np.float32), sigma=(0.0, sigma, sigma))
    return torch.from_numpy(smoothed).to(maps.device)


@register_method("patchcore")
class PatchCore(FitsMemory, Method):
    """One-shot PatchCore: memory bank from the k normal images of a category (built once by ``fit``), nearest-neighbour
    patch scores; a per-query prompt batch gives each query the bank of its own prompt image."""

    shots = 1
    weight_parameters = WeightParameters("backbone", "backbone", "weights", "pretrained")
    #: patchcore-inspection ``datasets/mvtec.py``: torchvision ``Resize`` on a PIL image (PIL bilinear, antialiased);
    #: its CenterCrop is not applied (the maps cover the whole image; docs/deviations.md)
    preprocessing = Preprocessing(resample="pil-bilinear")

    def __init__(self, backbone: str = "efficientnet_b4", weights: str | None = None, pretrained: bool = True,
                 coreset_fraction: float = 0.1, num_neighbours: int = 1, embed_dim: int = 1024, patch_size: int = 3,
                 smoothing_sigma: float = 4.0, seed: int = 0, progress: bool = False) -> None:
        if num_neighbours < 1:
            raise ConfigError(f"patchcore: num_neighbours must be >= 1, got {num_neighbours}")
        if not 0.0 < coreset_fraction <= 1.0:
            raise ConfigError(f"patchcore: coreset_fraction must be in (0, 1], got {coreset_fraction}")
        network, levels = build_patchcore_backbone(backbone, weights, pretrained)
        self.model = PatchCoreEmbedder(network, levels, patch_size=patch_size, embed_dim=embed_dim).eval()
        self.weight_source = getattr(network, "weight_source", "random")
        self.backbone_name = backbone
        self.coreset_fraction = coreset_fraction
        self.num_neighbours = num_neighbours
        self.smoothing_sigma = smoothing_sigma
        self.seed = seed
        self.progress = progress
        self._memory: CategoryMemory[faiss.Index] = CategoryMemory(self._build_bank, "patchcore")

    def _device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _build_bank(self, normal01: torch.Tensor) -> faiss.Index:
        features, _ = self.model(normal01.to(self._device()))
        features = features.cpu()
        keep = approximate_greedy_coreset(features, self.coreset_fraction, seed=self.seed, progress=self.progress)
        bank = np.ascontiguousarray(features[keep].numpy(), dtype=np.float32)
        index = faiss.IndexFlatL2(bank.shape[1])
        index.add(bank)
        return index

    @torch.no_grad()
    def predict(self, query: torch.Tensor, prompt: torch.Tensor | None = None,
                category: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        query = check_image_batch(query, "patchcore query")
        features, (grid_h, grid_w) = self.model(query.to(self._device()))
        queries = np.ascontiguousarray(features.cpu().numpy(), dtype=np.float32)
        queries = queries.reshape(len(query), grid_h * grid_w, -1)
        patch_scores = torch.empty(len(query), grid_h * grid_w)
        for members, index in self._memory.groups(prompt, category, len(query)):
            rows = queries[members.numpy()].reshape(-1, queries.shape[-1])
            squared_distances, _ = index.search(rows, min(self.num_neighbours, index.ntotal))
            patch_scores[members] = torch.from_numpy(squared_distances.mean(axis=1)).reshape(len(members), -1)
        patch_scores = patch_scores.reshape(len(query), grid_h, grid_w)
        image_scores = patch_scores.flatten(1).amax(dim=1)
        maps = F.interpolate(patch_scores[:, None], size=query.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
        return gaussian_smooth(maps, self.smoothing_sigma).float(), image_scores.float()
