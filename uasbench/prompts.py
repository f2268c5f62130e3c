"""Prompt selection for one-prompt methods: a fixed random normal image per (category, seed), or the best match.

MetaUAS (random): one normal training image per category per seed, seeds {1, 3, 5, 7, 9}; results are mean ± std over seeds.
MetaUAS* (best-match): per query, the normal training image most cosine-similar on globally average-pooled last-stage
encoder features, searched with faiss (inner product on L2-normalised vectors). The class-agnostic variant searches
one pool holding every category's normal images (the paper's limitation section).
"""

from __future__ import annotations

import zlib
from typing import Sequence

import numpy as np

from uasbench.errors import ConfigError


def random_prompt_indices(n_candidates: int, seed: int, category: str, k: int = 1) -> list[int]:
    """Deterministic k distinct indices into a category's sorted normal training images for one seed."""
    if n_candidates < k:
        raise ConfigError(f"category {category!r} has {n_candidates} normal training images, {k} prompt(s) requested")
    rng = np.random.default_rng([seed, zlib.crc32(category.encode())])
    return sorted(rng.choice(n_candidates, size=k, replace=False).tolist())


class BestMatchIndex:
    """Cosine nearest neighbour over pooled features (faiss IndexFlatIP on L2-normalised float32 vectors)."""

    def __init__(self, features: np.ndarray, labels: Sequence[str] | None = None):
        import faiss

        if features.ndim != 2 or len(features) == 0:
            raise ConfigError(f"best-match pool needs a non-empty (N, D) feature matrix, got shape {features.shape}")
        self.labels = list(labels) if labels is not None else None
        self.index = faiss.IndexFlatIP(features.shape[1])
        self.index.add(_l2_normalise(features))

    def search(self, queries: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Return (similarities, indices), each (Q, k), best first."""
        sims, idx = self.index.search(_l2_normalise(queries), k)
        return sims, idx


def _l2_normalise(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)
