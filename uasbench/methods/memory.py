"""The per-category memory store shared by the one-shot methods (PatchCore, WinCLIP+, prompt-diff) and the input
check they use: a memory is built once per category from its k prompt images, or once per distinct prompt image."""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from typing import Any, Callable, ClassVar, Generic, TypeVar

import torch

from uasbench.errors import ConfigError, DataError

MemoryT = TypeVar("MemoryT")

def check_image_batch(images: torch.Tensor, what: str) -> torch.Tensor:
    """Validate an RGB batch (B, 3, H, W) of floats in [0, 1]; a single (3, H, W) image becomes a batch of one."""
    if not isinstance(images, torch.Tensor):
        raise DataError(f"{what}: expected a torch.Tensor, got {type(images).__name__}")
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[0] == 0:
        raise DataError(f"{what}: expected shape (B, 3, H, W) with B >= 1, got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise DataError(f"{what}: expected float images in [0, 1], got dtype {images.dtype}")
    low, high = float(images.min()), float(images.max())
    if low < -1e-4 or high > 1.0 + 1e-4 or not math.isfinite(low + high):
        raise DataError(f"{what}: pixel values must lie in [0, 1], got range [{low:.4g}, {high:.4g}]")
    return images


class CategoryMemory(Generic[MemoryT]):
    """Per-category memory of a one-shot method, built once from the category's k normal images by ``fit``.

    ``groups`` tells which memory each query of a batch uses: with no prompt batch, the category's fitted memory for
    every query; with a prompt batch, query i's memory is built from prompt image i alone (cached by content, so a
    repeated prompt is encoded once). Either way a query's map never depends on the batch around it.
    """

    def __init__(self, build: Callable[[torch.Tensor], MemoryT], method: str, cache_size: int = 32) -> None:
        self._build = build
        self._method = method
        self._by_category: dict[str, MemoryT] = {}
        self._by_prompt: OrderedDict[str, MemoryT] = OrderedDict()
        self._cache_size = cache_size

    def fit(self, normal_images: torch.Tensor | None, category: str | None) -> None:
        if normal_images is None:
            raise DataError(f"{self._method}: fit() needs k >= 1 normal images of category {category!r}, got None")
        images = check_image_batch(normal_images, f"{self._method} normal images")
        self._by_category[str(category)] = self._build(images)

    def fitted(self, category: str | None) -> MemoryT:
        """The memory ``fit`` built for ``category``."""
        if str(category) not in self._by_category:
            known = ", ".join(sorted(self._by_category)) or "none"
            raise ConfigError(f"{self._method}: no memory for category {category!r} (fitted: {known}); "
                              f"call fit() with its normal images or pass a prompt")
        return self._by_category[str(category)]

    def groups(self, prompt: torch.Tensor | None, category: str | None,
               num_queries: int) -> list[tuple[torch.Tensor, MemoryT]]:
        """[(query indices, memory)]: the fitted memory for all queries, or one memory per distinct prompt image."""
        if prompt is None:
            return [(torch.arange(num_queries), self.fitted(category))]
        prompt = check_image_batch(prompt, f"{self._method} prompt")
        if len(prompt) != num_queries:
            raise DataError(f"{self._method}: {len(prompt)} prompt images for {num_queries} queries "
                            f"(one prompt per query, or none to use the fitted memory)")
        members: OrderedDict[str, list[int]] = OrderedDict()
        for i in range(num_queries):
            members.setdefault(content_key(prompt[i]), []).append(i)
        return [(torch.tensor(indices), self._prompt_memory(key, prompt[indices[0]:indices[0] + 1]))
                for key, indices in members.items()]

    def _prompt_memory(self, key: str, image: torch.Tensor) -> MemoryT:
        if key in self._by_prompt:
            self._by_prompt.move_to_end(key)
        else:
            self._by_prompt[key] = self._build(image)
            while len(self._by_prompt) > self._cache_size:
                self._by_prompt.popitem(last=False)
        return self._by_prompt[key]


def content_key(image: torch.Tensor) -> str:
    """A digest of one image's shape, dtype and values (identical prompts share one memory)."""
    array = image.detach().cpu().contiguous().numpy()
    return hashlib.sha1(f"{array.shape}{array.dtype}".encode() + array.tobytes()).hexdigest()


class FitsMemory:
    """Mixin (before ``Method``) of the one-shot methods whose ``fit`` only builds the category's
    :class:`CategoryMemory` (``self._memory``) from its k normal images."""

    uses_memory: ClassVar[bool] = True
    _memory: CategoryMemory[Any]

    def fit(self, normal_images: torch.Tensor | None, category: str | None = None) -> None:
        """Build ``category``'s memory from its normal images (B, 3, H, W) in [0, 1]."""
        self._memory.fit(normal_images, category)
