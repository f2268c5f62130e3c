"""UniAD (You et al., NeurIPS'22): one feature-reconstruction transformer for all categories, no prompt.

``create("uniad")`` is the official configuration (efficientnet_b4 blocks 1/5/9/21 → 272 ch at stride 16,
4 + 4 post-norm layers, 8 heads, FFN 1024, neighbour-masked attention, layer-wise learned queries, feature jitter
20/1.0). Anomaly map = per-position L2 reconstruction error upsampled ×16; image score = max of the 16×16
average-pooled map. Training: the hooks of ``uasbench.methods.reconstruction.training`` (MSE on the clean
features), declared on the class.
"""

from __future__ import annotations

import os
from typing import Any

from uasbench.methods.reconstruction import training
from uasbench.methods.reconstruction.method import (
    DEFAULT_IMAGE_SIZE,
    TRAINING_ONLY_OPTIONS,
    ReconstructionMethod,
    split_options,
)
from uasbench.methods.reconstruction.model import ReconstructionConfig
from uasbench.methods.registry import register_method

#: architecture options a config may set (besides backbone, backbone_weights, image_size, checkpoint)
UNIAD_OPTIONS = ("encoder_layers", "decoder_layers", "hidden_dim", "heads", "ffn_dim", "dropout",
                 "neighbour_masking", "jitter_scale", "jitter_prob")


@register_method("uniad")
class UniAD(ReconstructionMethod):
    """Full-shot: trained on every normal training image; prompts are ignored."""

    shots = None
    #: what ``**options`` accepts, so a config is checked without building the model (uasbench.methods.registry)
    extra_options = UNIAD_OPTIONS + TRAINING_ONLY_OPTIONS
    trainable = True
    train_defaults = training.TRAIN_DEFAULTS
    training_dataset = staticmethod(training.unified_training_set)  # query-only items
    training_loss = staticmethod(training.training_loss)

    def __init__(self, backbone: str = "efficientnet_b4", backbone_weights: str | None = None,
                 pretrained_backbone: bool = True, image_size: int = DEFAULT_IMAGE_SIZE,
                 checkpoint: str | os.PathLike | None = None, **options: Any) -> None:
        arch = split_options("uniad", options, UNIAD_OPTIONS)
        config = ReconstructionConfig(image_size=int(image_size), decoder="query", **arch)
        super().__init__(config, backbone, backbone_weights, pretrained_backbone, checkpoint)

    def predict(self, query, prompt=None, category=None):
        return super().predict(query, None, category)
