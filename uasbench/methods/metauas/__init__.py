"""MetaUAS (Gao, NeurIPS'24): one normal prompt image + a change-segmentation network → anomaly map.

``create("metauas", backbone="efficientnet_b4", alignment="soft", fusion="cat", decoder="unet")`` is the official
configuration; ``checkpoint=`` loads a uasbench state dict (``uasbench convert metauas-official`` makes one from the
released weights). Training (``uasbench train``) runs ``uasbench.training.loop`` with the hooks of
``uasbench.methods.metauas.training``, which the class declares; this module only builds and runs the network.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from uasbench.datasets.preprocessing import Preprocessing
from uasbench.errors import ConfigError
from uasbench.methods.base import Method, WeightParameters
from uasbench.methods.metauas import training
from uasbench.methods.metauas.alignment import ALIGNMENT_MODES, FUSION_POLICIES
from uasbench.methods.metauas.decoders import DECODERS
from uasbench.methods.metauas.torch_model import MetaUASModel
from uasbench.methods.registry import register_method

__all__ = ["MetaUAS", "MetaUASModel"]


def _choice(option: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"metauas option {option}={value!r} is not one of {', '.join(choices)}")
    return value


@register_method("metauas")
class MetaUAS(Method):
    """One prompt per query (a prompt batch of 1 is shared by the whole query batch)."""

    shots = 1
    image_score_rule = "max"
    weight_parameters = WeightParameters("backbone", "backbone", "backbone_weights", "pretrained_backbone")
    #: MetaUAS ``utils/geometry.py``: kornia.augmentation.Resize with its defaults (bilinear, align_corners=True)
    preprocessing = Preprocessing(resample="kornia-bilinear")
    extra_options: tuple[str, ...] = ()  # ``**unknown`` only exists to name unknown options in its error
    trainable = True
    train_defaults = training.TRAIN_DEFAULTS
    training_dataset = staticmethod(training.training_dataset)
    training_loss = staticmethod(training.training_loss)

    def __init__(self, backbone: str = "efficientnet_b4", alignment: str = "soft", fusion: str = "cat",
                 decoder: str = "unet", num_alignment_layers: int = 3, backbone_weights: str | None = None,
                 pretrained_backbone: bool = True, checkpoint: str | os.PathLike | None = None,
                 fpn_segmentation_channels: int = 256, decoder_channels: tuple[int, ...] | list[int] | None = None,
                 freeze_encoder: bool = True, **unknown: Any) -> None:
        if unknown:
            raise ConfigError(f"unknown metauas options: {', '.join(sorted(unknown))}")
        options = {"alignment": _choice("alignment", alignment, ALIGNMENT_MODES),
                   "fusion": _choice("fusion", fusion, FUSION_POLICIES),
                   "decoder": _choice("decoder", decoder, DECODERS),
                   "num_alignment_layers": int(num_alignment_layers),
                   "fpn_segmentation_channels": int(fpn_segmentation_channels),
                   "freeze_encoder": bool(freeze_encoder)}
        if decoder_channels is not None:  # embedded tier: a narrower UNet (docs/deviations.md); default = official
            options["decoder_channels"] = tuple(int(c) for c in decoder_channels)
        from uasbench.backbones import create_backbone
        from uasbench.backbones.weights import quiet_random_weights

        # A checkpoint carries the encoder weights, so ImageNet weights would only be loaded to be overwritten.
        with quiet_random_weights(when=checkpoint is not None):
            encoder = create_backbone(backbone, taps="metauas", weights=backbone_weights,
                                      pretrained=pretrained_backbone and checkpoint is None)
        self.model = MetaUASModel(encoder, **options)
        self.weight_source = encoder.weight_source
        if checkpoint is not None:
            from uasbench.methods.metauas.convert import load_checkpoint

            load_checkpoint(self.model, checkpoint)
            self.weight_source = f"checkpoint {os.fspath(checkpoint)}"
        self.model.eval()

    @torch.no_grad()
    def predict(self, query: torch.Tensor, prompt: torch.Tensor | None = None,
                category: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Maps (B, H, W) in [0, 1] and image scores (B,) = max of each map (paper §3.4, no post-processing)."""
        if prompt is None:
            raise ConfigError("metauas needs a normal prompt image for every query (prompt=None given)")
        self.model.eval()
        device = self.model.device
        maps = self.model(query.to(device), prompt.to(device))[:, 0]
        return maps, maps.flatten(1).amax(dim=1)
