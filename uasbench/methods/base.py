"""The interface every method of the harness shares (anomalib style: the ``nn.Module`` is kept apart from the glue)."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

import torch
from torch import nn

from uasbench.datasets.preprocessing import DEFAULT_PREPROCESSING, Preprocessing
from uasbench.methods.options import DEFAULT_ENTRY_OPTIONS, entry_kwargs


@dataclass(frozen=True)
class WeightParameters:
    """Which constructor parameters of a method name its pretrained network: the backbone preset or CLIP model
    (``name``), an explicit weights file (``weights``), the pretrained flag and, for CLIP, the pretrained tag."""

    kind: str  # "backbone" (uasbench.backbones presets) | "clip" (open_clip models)
    name: str
    weights: str
    pretrained: str
    tag: str | None = None


@dataclass(frozen=True)
class WeightRequest:
    """One pretrained network a method built with given options would load (resolved by uasbench.pipeline.weights)."""

    kind: str
    name: str
    weights: str | None
    pretrained: bool
    tag: str | None = None


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
    #: True for methods that keep a memory fitted once per category on its k prompt images (PatchCore, WinCLIP+,
    #: prompt-diff): with fixed prompts they predict from that memory and get no prompt batch
    uses_memory: ClassVar[bool] = False
    #: how ``predict``'s image score derives from its own map, as a ``metrics.scores`` rule ("max", "avgpool16"),
    #: or None when it does not (PatchCore's unsmoothed patch max, CLIP's class token, ...). A paper evaluator whose
    #: rule it is then reads the float32 score instead of recomputing it from the float16-stored map
    image_score_rule: ClassVar[str | None] = None
    #: True for methods ``uasbench train`` trains (the only methods a config's ``training.<name>.method`` may name)
    trainable: ClassVar[bool] = False
    #: the method's TrainSpec defaults (epochs, lr, grad_clip, ...); a training entry's keys override them
    train_defaults: ClassVar[dict[str, Any]] = {}
    #: training-entry keys (besides ``options``) that become constructor arguments of the trained model
    entry_options: ClassVar[tuple[str, ...]] = DEFAULT_ENTRY_OPTIONS
    #: the constructor parameters naming the method's pretrained network (None: it loads no pretrained weights)
    weight_parameters: ClassVar[WeightParameters | None] = None
    #: how the official code resizes images (``uasbench.datasets.preprocessing``); a config's ``resample`` overrides
    preprocessing: ClassVar[Preprocessing] = DEFAULT_PREPROCESSING
    model: nn.Module
    weight_source: str = "random"
    #: labels every result of this method records as ``method.<key>`` (e.g. OneNIP's normaliser); a method sets
    #: its own (a new mapping, never mutating this shared empty default)
    result_tags: Mapping[str, Any] = MappingProxyType({})

    @classmethod
    def bound_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        """``options`` completed with the constructor's defaults."""
        defaults = {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
                    if p.default is not inspect.Parameter.empty}
        return {**defaults, **options}

    @classmethod
    def weight_requests(cls, options: dict[str, Any]) -> list[WeightRequest]:
        """The pretrained weights ``cls(**options)`` would resolve, found without building it, so a missing file
        stops a job before it computes; none when ``checkpoint`` is set (a checkpoint carries every weight)."""
        declared = cls.weight_parameters
        if declared is None or options.get("checkpoint") is not None:
            return []
        bound = cls.bound_options(options)
        return [WeightRequest(declared.kind, str(bound[declared.name]), bound.get(declared.weights),
                              bool(bound.get(declared.pretrained, True)),
                              bound.get(declared.tag) if declared.tag else None)]

    @classmethod
    def entry_kwargs(cls, entry: dict[str, Any]) -> dict[str, Any]:
        """Constructor arguments of a training entry: its ``options`` plus the set keys ``entry_options`` names."""
        return entry_kwargs(entry, cls.entry_options)

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

    def finalize_dataset(self, results: dict[str, dict[str, Any]]) -> None:
        """Called once after every category of a dataset is predicted, with each category's ``maps`` and
        ``scores`` (rewritten in place), for methods whose maps depend on the whole test set (OneNIP's test-set
        normaliser). Default: nothing to do."""

    @torch.no_grad()
    def predict(self, query: torch.Tensor, prompt: torch.Tensor | None = None,
                category: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError
