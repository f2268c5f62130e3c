"""OneNIP (Gao, ECCV'24): UniAD's reconstruction transformer guided by ONE normal image prompt.

``create("onenip")`` is the official configuration: the bidirectional prompt decoder, the restoration stream on
CutPaste/DRAEM synthetic anomalies and the refiner, trained with MSE + 0.5·Dice. Ablation switches (Tab 4a–c):
``prompt`` = "dynamic" (bidirectional decoder) | "static" (UniAD's query decoder fed the prompt, Eq. 2) | "none"
(UniAD's learned queries), ``restoration``, ``refiner``, ``encoder_layers``/``decoder_layers``, ``dice_weight`` (λ).

Anomaly map = 0.5·rec + 0.5·((max_rec + min_rec)/2)·refiner (Eq. 10 as coded). ``normalizer`` picks where
min/max come from:

* ``"test-set"`` (official, TRANSDUCTIVE): over all reconstruction maps of the predicted dataset's test set.
  :meth:`predict` then returns the reconstruction maps and keeps the refiner maps; the pipeline's
  :meth:`finalize_dataset` call fuses them once the whole test set is known.
* ``"train-set"``: over normal training images, recorded in the model's ``train_rec_range`` buffer during the
  last training epoch (or by :meth:`calibrate_normalizer`); each batch is fused on its own.

``result_tags`` names the normaliser so every result can be labelled with it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from uasbench.errors import ConfigError
from uasbench.methods.reconstruction import training
from uasbench.methods.reconstruction.method import (
    DEFAULT_IMAGE_SIZE,
    TRAINING_ONLY_OPTIONS,
    ReconstructionMethod,
    split_options,
)
from uasbench.methods.reconstruction.model import ReconstructionConfig, fuse_maps, image_scores
from uasbench.methods.reconstruction.uniad import UNIAD_OPTIONS
from uasbench.methods.registry import register_method

PROMPT_DECODERS = {"dynamic": "bidirectional", "static": "static", "none": "query"}
NORMALIZERS = {"test-set": "test-set min/max of the reconstruction map (transductive, official)",
               "train-set": "normal-training-image min/max of the reconstruction map (non-transductive)"}
ONENIP_OPTIONS = UNIAD_OPTIONS + ("restoration", "refiner", "dice_weight")
DEFAULT_PROMPT, DEFAULT_RESTORATION, DEFAULT_REFINER = "dynamic", True, True


def training_streams(options: dict[str, Any]) -> tuple[bool, bool, bool]:
    """(uses a prompt, restoration stream, refiner) of an onenip config's options, with the constructor defaults."""
    prompt = options.get("prompt", DEFAULT_PROMPT)
    if prompt not in PROMPT_DECODERS:
        raise ConfigError(f"onenip option prompt={prompt!r} is not one of {', '.join(PROMPT_DECODERS)}")
    return (prompt != "none", bool(options.get("restoration", DEFAULT_RESTORATION)),
            bool(options.get("refiner", DEFAULT_REFINER)))


@register_method("onenip")
class OneNIP(ReconstructionMethod):
    """One normal prompt per query (prompt batch of 1 or one per query)."""

    shots = 1
    #: what ``**options`` accepts, so a config is checked without building the model (uasbench.methods.registry)
    extra_options = ONENIP_OPTIONS + TRAINING_ONLY_OPTIONS
    trainable = True
    train_defaults = training.TRAIN_DEFAULTS
    training_loss = staticmethod(training.training_loss)

    @staticmethod
    def training_dataset(config: dict[str, Any], entry: dict[str, Any]) -> training.ReconstructionTrainingSet:
        """Unified training items with the prompt, synthetic anomaly and calibration flag the options ask for."""
        return training.unified_training_set(config, entry, training_streams(dict(entry.get("options") or {})))

    @staticmethod
    def total_epochs_matter(entry: dict[str, Any]) -> bool:
        """The refiner calibrates in the last epoch, so a resume may not change ``epochs`` (it would calibrate
        twice, or never); see uasbench.training.loop."""
        return training_streams(dict(entry.get("options") or {}))[2]

    def __init__(self, backbone: str = "efficientnet_b4", backbone_weights: str | None = None,
                 pretrained_backbone: bool = True, image_size: int = DEFAULT_IMAGE_SIZE,
                 checkpoint: str | os.PathLike | None = None, prompt: str = DEFAULT_PROMPT,
                 restoration: bool = DEFAULT_RESTORATION, refiner: bool = DEFAULT_REFINER,
                 normalizer: str = "test-set", **options: Any) -> None:
        if prompt not in PROMPT_DECODERS:
            raise ConfigError(f"onenip option prompt={prompt!r} is not one of {', '.join(PROMPT_DECODERS)}")
        if normalizer not in NORMALIZERS:
            raise ConfigError(f"onenip option normalizer={normalizer!r} is not one of {', '.join(NORMALIZERS)}")
        arch = split_options("onenip", options, ONENIP_OPTIONS + ("prompt", "normalizer"))
        config = ReconstructionConfig(image_size=int(image_size), decoder=PROMPT_DECODERS[prompt],
                                      restoration=bool(restoration), refiner=bool(refiner), **arch)
        super().__init__(config, backbone, backbone_weights, pretrained_backbone, checkpoint)
        self.normalizer = normalizer
        self.shots = 1 if config.uses_prompt else None
        self.result_tags = {"normalizer": normalizer if config.refiner else "none (no refiner)",
                            "prompt_decoder": config.decoder}
        self._pending_refiner_maps: dict[str | None, list[torch.Tensor]] = {}

    # -- the non-transductive normaliser -------------------------------------------------------------
    @torch.no_grad()
    def calibrate_normalizer(self, normal_images: torch.Tensor, prompts: torch.Tensor | None,
                             batch_size: int = 16) -> tuple[float, float]:
        """Reset ``train_rec_range`` to the min/max reconstruction map of ``normal_images`` (training normals)."""
        if self.model.refiner is None:
            raise ConfigError("onenip without the refiner has no fused map to normalise")
        self.model.train_rec_range.copy_(torch.tensor([float("inf"), float("-inf")]))
        device = self.model.device
        for i in range(0, len(normal_images), batch_size):
            p = None if prompts is None else prompts[i:i + batch_size].to(device)
            self.model.update_train_range(normal_images[i:i + batch_size].to(device), p)
        low, high = self.model.train_rec_range.tolist()
        return low, high

    def _train_range(self) -> tuple[float, float]:
        low, high = self.model.train_rec_range.tolist()
        if not np.isfinite([low, high]).all():
            raise ConfigError("onenip normalizer='train-set' but the model holds no training-image range "
                              "(train it with uasbench, or call calibrate_normalizer on normal training images)")
        return low, high

    # -- maps ----------------------------------------------------------------------------------------
    def _maps(self, rec: torch.Tensor, ref: torch.Tensor | None, category: str | None) -> torch.Tensor:
        if ref is None:
            return rec
        if self.normalizer == "train-set":
            return fuse_maps(rec, ref, *self._train_range())
        self._pending_refiner_maps.setdefault(category, []).append(ref.float().cpu())
        return rec

    def finalize_dataset(self, results: dict[str, dict[str, Any]]) -> None:
        """Test-set normaliser: fuse every category's kept refiner maps with the min/max of ALL reconstruction
        maps in ``results``, then recompute the image scores (rewrites ``maps`` and ``scores`` in place)."""
        pending, self._pending_refiner_maps = self._pending_refiner_maps, {}
        if self.model.refiner is None or self.normalizer != "test-set":
            return
        missing = sorted(set(results) - set(pending))
        if missing:
            raise ConfigError(f"onenip finalize_dataset: no refiner maps were kept for categories {missing} "
                              f"(predict was not called for them with this method object)")
        low = min(float(np.min(r["maps"])) for r in results.values())
        high = max(float(np.max(r["maps"])) for r in results.values())
        for category, result in results.items():
            ref = torch.cat(pending[category]).numpy()
            if ref.shape != result["maps"].shape:
                raise ConfigError(f"onenip finalize_dataset: category {category!r} has {ref.shape} refiner maps "
                                  f"but {result['maps'].shape} reconstruction maps")
            rec = torch.from_numpy(np.asarray(result["maps"], np.float32))
            fused = fuse_maps(rec, torch.from_numpy(ref), low, high)
            result["maps"] = fused.numpy().astype(np.float32)
            result["scores"] = image_scores(fused).numpy().astype(np.float32)
        self.result_tags = {**self.result_tags, "normalizer_range": [low, high]}
