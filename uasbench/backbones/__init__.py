"""Frozen backbone feature pyramids and CLIP models with offline weight resolution.

``create_backbone(name, taps)`` → :class:`FeaturePyramid` (``channels``, ``strides``, ``mean``/``std``,
``weight_source``); ``create_clip(name)`` → open_clip model, tokenizer, preprocessing and weight source.
Weight order: a file named in the config → the local torch/HF hub caches → a package's shipped
weights → random (with a warning that results are not meaningful). Nothing here downloads.
"""

from uasbench.backbones.clip import create_clip
from uasbench.backbones.pyramid import FeaturePyramid
from uasbench.backbones.registry import (
    PRESETS,
    BackboneSpec,
    build_network,
    create_backbone,
    describe_weight_source,
    get_spec,
    list_backbones,
    weight_report,
)

__all__ = [
    "PRESETS",
    "BackboneSpec",
    "FeaturePyramid",
    "build_network",
    "create_backbone",
    "create_clip",
    "describe_weight_source",
    "get_spec",
    "list_backbones",
    "weight_report",
]
