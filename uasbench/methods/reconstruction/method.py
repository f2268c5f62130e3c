"""Glue shared by the ``uniad`` and ``onenip`` methods: backbone choice, checkpoint loading, prediction."""

from __future__ import annotations

import os
from typing import Any

import torch

from uasbench.backbones.weights import quiet_random_weights
from uasbench.datasets.preprocessing import Preprocessing
from uasbench.errors import ConfigError
from uasbench.methods.base import Method, WeightParameters
from uasbench.methods.reconstruction.model import SCORE_POOL, ReconstructionConfig, ReconstructionNet, image_scores

#: options of a training entry that only the training hooks read; the constructor accepts and ignores them
TRAINING_ONLY_OPTIONS = ("train_prompt", "cache_features")  # (the DTD folder is data_options.dtd_dir)
DEFAULT_IMAGE_SIZE = 224


def build_backbone(name: str, weights: str | None, pretrained: bool):
    """The frozen "uniad" taps (b4 blocks 1, 5, 9, 21); lukemelas presets keep the unused ``_fc`` registered, as the
    official backbone does, so parameter totals and checkpoint keys match."""
    from uasbench.backbones import create_backbone, get_spec

    keep_fc = get_spec(name).family == "lukemelas"
    return create_backbone(name, taps="uniad", weights=weights, pretrained=pretrained, keep_fc=keep_fc)


def split_options(method: str, options: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    """Drop training-only options and reject unknown ones with a message naming them."""
    unknown = sorted(set(options) - set(allowed) - set(TRAINING_ONLY_OPTIONS))
    if unknown:
        raise ConfigError(f"unknown {method} options: {', '.join(unknown)}; known: {', '.join(sorted(allowed))}")
    return {k: v for k, v in options.items() if k in allowed}


class ReconstructionMethod(Method):
    """Builds a :class:`ReconstructionNet`; subclasses choose the decoder and how maps are post-processed."""

    weight_parameters = WeightParameters("backbone", "backbone", "backbone_weights", "pretrained_backbone")
    #: UniAD/OneNIP datasets: torchvision ``Resize`` on a PIL image (PIL bilinear, antialiased when shrinking)
    preprocessing = Preprocessing(resample="pil-bilinear")
    #: a training entry's ``image_size`` is the trained model's input size (the constructor's ``image_size``)
    entry_options = Method.entry_options + ("image_size",)
    image_score_rule = f"avgpool{SCORE_POOL}"

    def __init__(self, config: ReconstructionConfig, backbone: str, backbone_weights: str | None,
                 pretrained_backbone: bool, checkpoint: str | os.PathLike | None) -> None:
        # a checkpoint carries the backbone, so ImageNet weights would only be loaded to be overwritten
        with quiet_random_weights(when=checkpoint is not None):
            network = build_backbone(backbone, backbone_weights, pretrained_backbone and checkpoint is None)
        self.model = ReconstructionNet(network, config)
        self.weight_source = network.weight_source
        if checkpoint is not None:
            from uasbench.methods.reconstruction.convert import load_checkpoint

            load_checkpoint(self.model, checkpoint)
            self.weight_source = f"checkpoint {os.fspath(checkpoint)}"
        self.model.eval()

    @property
    def config(self) -> ReconstructionConfig:
        return self.model.config

    def _maps(self, rec: torch.Tensor, ref: torch.Tensor | None, category: str | None) -> torch.Tensor:
        return rec

    @torch.no_grad()
    def predict(self, query: torch.Tensor, prompt: torch.Tensor | None = None,
                category: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Maps (B, H, W) and image scores (B,) = max of the 16×16 average-pooled map (official ``max`` evaluator)."""
        self.model.eval()
        device = self.model.device
        if self.config.uses_prompt and prompt is None:
            raise ConfigError(f"{self.name} (decoder {self.config.decoder!r}) needs a normal prompt image per query; "
                              f"use prompt mode random-per-image, random or best-match")
        if prompt is not None and len(prompt) not in (1, len(query)):
            raise ConfigError(f"{self.name}: {len(prompt)} prompts for {len(query)} queries (need 1 or one each)")
        rec, ref = self.model.anomaly_maps(query.to(device), None if prompt is None else prompt.to(device))
        maps = self._maps(rec, ref, category)
        return maps, image_scores(maps)
