"""PatchCore's approximate greedy coreset (amazon-science/patchcore-inspection ``ApproximateGreedyCoresetSampler``).

Selection runs on a random bias-free linear projection of the features to 128 dims (features already of that
width are used as they are); the returned indices pick rows of the ORIGINAL features. Start: the mean Euclidean
distance of every feature to 10 random start points; each step takes the argmax and lowers every feature's value
to its distance to the newly chosen one if smaller. Local seeded generators replace the official global RNG.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from tqdm import tqdm

from uasbench.errors import ConfigError


def euclidean_to(features: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """(N, M) Euclidean distances via the ||a||² + ||b||² − 2ab expansion, clamped at 0 (as the official code)."""
    squared = (features * features).sum(1, keepdim=True) + (anchors * anchors).sum(1)[None] - 2.0 * features @ anchors.T
    return squared.clamp_min(0.0).sqrt()


def random_projection(features: torch.Tensor, dim: int, generator: torch.Generator) -> torch.Tensor:
    """Bias-free ``nn.Linear(D, dim)`` with its default init, U(−1/√D, 1/√D), drawn from ``generator``."""
    in_dim = features.shape[1]
    if in_dim == dim:
        return features
    bound = 1.0 / math.sqrt(in_dim)
    weight = (torch.rand(dim, in_dim, generator=generator, dtype=torch.float64) * 2.0 - 1.0) * bound
    return features @ weight.to(features.dtype, copy=False).to(features.device).T


def coreset_size(num_features: int, fraction: float) -> int:
    """``int(N · fraction)`` as the official sampler, but at least one point."""
    return max(1, int(num_features * fraction))


def greedy_select(features: torch.Tensor, initial_distances: torch.Tensor, count: int,
                  progress: bool = False) -> torch.Tensor:
    """Greedy k-center from ``initial_distances``: repeatedly take the farthest feature, then shrink distances."""
    distances = initial_distances.clone()
    chosen = torch.empty(count, dtype=torch.long)
    for step in tqdm(range(count), desc="coreset", disable=not progress, leave=False):
        index = int(torch.argmax(distances))
        chosen[step] = index
        distances = torch.minimum(distances, euclidean_to(features, features[index:index + 1])[:, 0])
    return chosen


def approximate_greedy_coreset(features: torch.Tensor, fraction: float = 0.1, num_start_points: int = 10,
                               projection_dim: int = 128, seed: int = 0, progress: bool = False) -> torch.Tensor:
    """Indices (int64) of the coreset of ``features`` (N, D); fraction 1.0 keeps every row in order."""
    if features.ndim != 2 or features.shape[0] == 0:
        raise ConfigError(f"coreset: features must be a non-empty (N, D) matrix, got shape {tuple(features.shape)}")
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"coreset_fraction must be in (0, 1], got {fraction}")
    num = features.shape[0]
    if fraction == 1.0:
        return torch.arange(num)
    generator = torch.Generator().manual_seed(seed)
    reduced = random_projection(features.float(), projection_dim, generator)
    starts = np.random.default_rng(seed).choice(num, size=min(num_start_points, num), replace=False)
    initial = euclidean_to(reduced, reduced[torch.as_tensor(starts)]).mean(dim=1)
    return greedy_select(reduced, initial, coreset_size(num, fraction), progress=progress)
