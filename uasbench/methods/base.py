"""The interface every method of the harness shares (anomalib style: the ``nn.Module`` is kept apart from the glue)."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from uasbench.datasets.preprocessing import DEFAULT_PREPROCESSING, Preprocessing


def count_parameters(module: nn.Module) -> dict[str, int]:
    """Total and learnable (requires_grad) parameter counts, shared tensors counted once."""
    seen: set[int] = set()
    total = learnable = 0
    for p in module.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += p.numel()
        learnable += p.numel() if p.requires_grad else 0
    return {"total": total, "learnable": learnable}


class Method:
    """A method owns ``model`` (an ``nn.Module``), reports parameter counts and its backbone's weight source,
    can ``fit`` on k normal images (k = 0 for zero-shot; trainable methods train through ``uasbench.training.loop``)
    and ``predict`` anomaly maps (B, H, W) and image scores (B,) for a query batch (and a prompt batch or None).

    Images are RGB float tensors in [0, 1], shape (B, 3, H, W), resized by the loaders as ``preprocessing``
    declares; each method normalises inside.

    A trainable method declares its own wiring for ``uasbench train`` (nothing else names it): ``trainable``,
    ``train_defaults``, ``entry_options`` and the hooks ``training_dataset``, ``training_loss``,
    ``total_epochs_matter`` below.
    """

    name: ClassVar[str] = "method"
    #: number of normal images per category the method uses at test time (0 = zero-shot, None = full training set)
    shots: ClassVar[int | None] = 1
    #: False for methods that fit a memory on fixed prompts (PatchCore, WinCLIP+): no per-query prompt batches
    accepts_prompt_batch: ClassVar[bool] = True
    #: True for methods that keep a memory fitted once per category on its k prompt images (PatchCore, WinCLIP+,
    #: prompt-diff): with fixed prompts they predict from that memory and get no prompt batch
    uses_memory: ClassVar[bool] = False
    #: True for methods ``uasbench train`` trains (the only methods a config's ``training.<name>.method`` may name)
    trainable: ClassVar[bool] = False
    #: the method's TrainSpec defaults (epochs, lr, grad_clip, ...); a training entry's keys override them
    train_defaults: ClassVar[dict[str, Any]] = {}
    #: training-entry keys (besides ``options``) that become constructor arguments of the trained model
    entry_options: ClassVar[tuple[str, ...]] = ("backbone", "backbone_weights")
    #: how the official code resizes images (``uasbench.datasets.preprocessing``); a config's ``resample`` overrides
    preprocessing: ClassVar[Preprocessing] = DEFAULT_PREPROCESSING
    model: nn.Module
    weight_source: str = "random"

    @classmethod
    def entry_kwargs(cls, entry: dict[str, Any]) -> dict[str, Any]:
        """Constructor arguments of a training entry: its ``options`` plus the set keys ``entry_options`` names."""
        kwargs = dict(entry.get("options") or {})
        kwargs.update({key: entry[key] for key in cls.entry_options if entry.get(key) is not None})
        return kwargs

    @staticmethod
    def training_dataset(config: dict[str, Any], entry: dict[str, Any]) -> torch.utils.data.Dataset:
        """The training set of a config's training entry (items: whatever ``training_loss`` reads from a batch)."""
        raise NotImplementedError("this method declares no training_dataset; it is not trainable")

    @staticmethod
    def training_loss(model: nn.Module, batch: Any) -> torch.Tensor:
        """The scalar loss of one collated batch, for ``uasbench.training.loop.train``."""
        raise NotImplementedError("this method declares no training_loss; it is not trainable")

    @staticmethod
    def total_epochs_matter(entry: dict[str, Any]) -> bool:
        """True when the total epoch count shapes training (so a resume may not change ``epochs``)."""
        return False

    def parameter_counts(self) -> dict[str, int]:
        return count_parameters(self.model)

    def to(self, device: torch.device | str) -> "Method":
        self.model.to(device)
        return self

    def fit(self, normal_images: torch.Tensor | None, category: str | None = None) -> None:
        """Use k normal images of one category (memory banks, visual prompts). Default: nothing to fit."""

    def prompts_for(self, chosen: torch.Tensor, num_queries: int) -> torch.Tensor | None:
        """The prompt batch ``predict`` gets when all ``num_queries`` queries share the fixed prompts ``chosen``
        (already passed to ``fit``): none for memory methods and zero-shot ones, else the first prompt per query."""
        if self.uses_memory or not self.shots:
            return None
        return chosen[:1].expand(num_queries, -1, -1, -1)

    @torch.no_grad()
    def predict(self, query: torch.Tensor, prompt: torch.Tensor | None = None,
                category: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError
