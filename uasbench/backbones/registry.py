"""Backbone presets: which network, which taps, which normalisation and where its weights may be found."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import torch
from torch import nn

from uasbench.backbones import efficientnet, timm_backbones
from uasbench.backbones.pyramid import FeaturePyramid
from uasbench.backbones.weights import WeightChoice, resolve_weights, warn_random
from uasbench.errors import ConfigError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# TF EfficientNet-Lite checkpoints were trained on (x - 127) / 128, i.e. [-1, 1] (timm's pretrained cfg agrees)
TF_LITE_MEAN = (0.5, 0.5, 0.5)
TF_LITE_STD = (0.5, 0.5, 0.5)
# Random backbones are built under this seed so they are reproducible and leave the global RNG alone.
RANDOM_INIT_SEED = 0

# Tap tokens for stem + chain-of-blocks networks: "stem" or the stride whose last block is tapped.
EFFNET_TAPS = {"metauas": ("stem", 4, 8, 16, 32), "uniad": (2, 4, 8, 16), "patchcore": (8, 16)}


@dataclass(frozen=True)
class BackboneSpec:
    """A named preset. ``taps`` maps a tap-set name to tap tokens (meaning depends on ``family``)."""

    name: str
    family: str  # "lukemelas" | "timm-efficientnet" | "timm-efficientvit" | "timm-resnet"
    arch: str  # lukemelas model name or timm model name
    taps: Mapping[str, tuple[str | int, ...]]
    default_taps: str
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    hub_files: tuple[str, ...] = ()  # file names looked for in $TORCH_HOME/hub/checkpoints
    hf_repos: tuple[str, ...] = ()  # Hugging Face repos looked for in the local HF hub cache
    package: str | None = None  # id of an installed package that ships weights
    fetch: str | None = None  # the `uasbench fetch` name that downloads the weights
    role: str = ""


PRESETS: dict[str, BackboneSpec] = {spec.name: spec for spec in (
    BackboneSpec("efficientnet_b4", "lukemelas", "efficientnet-b4", EFFNET_TAPS, "metauas",
                 hub_files=("efficientnet-b4-6ed6700e.pth",), fetch="efficientnet-b4",
                 role="MetaUAS / OneNIP / UniAD / PatchCore(E-b4) encoder (lukemelas, static padding for 380 px)"),
    BackboneSpec("tf_efficientnet_lite0", "timm-efficientnet", "tf_efficientnet_lite0", EFFNET_TAPS, "metauas",
                 mean=TF_LITE_MEAN, std=TF_LITE_STD, hub_files=("tf_efficientnet_lite0-0aa007d2.pth",),
                 hf_repos=("timm/tf_efficientnet_lite0.in1k",), package="efficientnet-lite0",
                 role="embedded-tier default encoder"),
    BackboneSpec("efficientnet_b6", "lukemelas", "efficientnet-b6", {"metauas": EFFNET_TAPS["metauas"]}, "metauas",
                 hub_files=("efficientnet-b6-c76e70fd.pth",), fetch="efficientnet-b6",
                 role="MetaUAS Tab 3b ablation (E-b6)"),
    BackboneSpec("efficientvit_b3", "timm-efficientvit", "efficientvit_b3",
                 {"metauas": ("stem", "stages.0", "stages.1", "stages.2", "stages.3")}, "metauas",
                 hf_repos=("timm/efficientvit_b3.r224_in1k",), role="MetaUAS Tab 3b ablation (EViT-b3)"),
    BackboneSpec("mobilenetv2_100", "timm-efficientnet", "mobilenetv2_100", {"metauas": (2, 4, 8, 16, 32)}, "metauas",
                 hub_files=("mobilenetv2_100_ra-b33bc2c4.pth",), hf_repos=("timm/mobilenetv2_100.ra_in1k",),
                 fetch="mobilenetv2-100", role="MetaUAS Tab 3b ablation (M-v2)"),
    BackboneSpec("wide_resnet50_2", "timm-resnet", "wide_resnet50_2", {"patchcore": ("layer2", "layer3")}, "patchcore",
                 hub_files=("wide_resnet50_2-95faca4d.pth",), hf_repos=("timm/wide_resnet50_2.tv_in1k",),
                 fetch="wide-resnet50-2",
                 role="PatchCore's original backbone (torchvision ImageNet V1 weights)"),
)}


@dataclass(frozen=True)
class _Family:
    build: Callable[[str], nn.Module]
    load: Callable[[nn.Module, Path, bool], None]  # (network, file, require_fc)
    pyramid: Callable[..., FeaturePyramid]


_FAMILIES: dict[str, _Family] = {
    "lukemelas": _Family(efficientnet.build_lukemelas, efficientnet.load_lukemelas_weights,
                         efficientnet.LukemelasPyramid),
    **{name: _Family(timm_backbones.build_timm, timm_backbones.load_timm_weights, cls)
       for name, cls in timm_backbones.PYRAMID_CLASSES.items()},
}


def list_backbones() -> list[str]:
    """The preset names a config may use as ``backbone``, sorted for help texts and error messages."""
    return sorted(PRESETS)


def get_spec(name: str) -> BackboneSpec:
    """The preset ``name``; an unknown name is a ConfigError listing the known ones rather than a KeyError."""
    if name not in PRESETS:
        raise ConfigError(f"unknown backbone {name!r}; known backbones: {', '.join(list_backbones())}")
    return PRESETS[name]


def resolve_backbone_weights(name: str, weights: str | os.PathLike | None = None,
                             pretrained: bool = True) -> WeightChoice:
    """Where the preset's weights come from (explicit file, hub cache, installed package or random), decided
    without building the network, so ``uasbench env`` can report it cheaply."""
    spec = get_spec(name)
    return resolve_weights(f"backbone {name!r}", weights, pretrained, hub_files=spec.hub_files,
                           hf_repos=spec.hf_repos, package=spec.package)


def build_network(name: str, weights: str | os.PathLike | None = None, pretrained: bool = True,
                  keep_fc: bool = False) -> tuple[nn.Module, WeightChoice]:
    """The preset's FULL source network (classifier head included) with its resolved weights loaded."""
    spec = get_spec(name)
    choice = resolve_backbone_weights(name, weights, pretrained)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_INIT_SEED)
        net = _FAMILIES[spec.family].build(spec.arch)
    if choice.path is not None:
        _FAMILIES[spec.family].load(net, choice.path, keep_fc)
    else:
        warn_random(f"backbone {name!r}", pretrained, choice, spec.fetch)
    return net.eval(), choice


def create_backbone(name: str, taps: str = "default", weights: str | os.PathLike | None = None,
                    pretrained: bool = True, *, keep_fc: bool = False) -> FeaturePyramid:
    """Frozen feature pyramid of preset ``name`` with tap set ``taps`` ("default" = the preset's own).

    ``keep_fc=True`` (lukemelas presets only) keeps the unused classifier registered, as UniAD's and
    OneNIP's backbone code does, so parameter totals match theirs.
    """
    spec = get_spec(name)
    tap_set = spec.default_taps if taps == "default" else taps
    if tap_set not in spec.taps:
        raise ConfigError(f"backbone {name!r} has no taps {taps!r}; choose one of {sorted(spec.taps)} or 'default'")
    if keep_fc and spec.family != "lukemelas":
        raise ConfigError(f"backbone {name!r}: keep_fc is only meaningful for the lukemelas EfficientNet presets")
    net, choice = build_network(name, weights, pretrained, keep_fc)
    options = {"keep_fc": keep_fc} if spec.family == "lukemelas" else {}
    pyramid = _FAMILIES[spec.family].pyramid(net, preset=name, taps=tap_set, tokens=spec.taps[tap_set],
                                             mean=spec.mean, std=spec.std, **options)
    return pyramid.finalize(choice.source, None if choice.path is None else str(choice.path))


def describe_weight_source(name: str, weights: str | os.PathLike | None = None, pretrained: bool = True) -> str:
    """The source ``create_backbone``/``create_clip`` would use for ``name``, found without building the model."""
    if name in PRESETS:
        return resolve_backbone_weights(name, weights, pretrained).source
    from uasbench.backbones.clip import CLIP_MODELS, is_clip_model, resolve_clip_weights

    if not is_clip_model(name):
        raise ConfigError(f"unknown backbone or CLIP model {name!r}; backbones: {', '.join(list_backbones())}; "
                          f"CLIP: {', '.join(CLIP_MODELS)} or another open_clip model name")
    return resolve_clip_weights(name, weights=weights, pretrained=pretrained).source


def weight_report() -> list[dict[str, str | None]]:
    """One row per backbone preset and CLIP model: where its weights would come from (for ``uasbench env``)."""
    from uasbench.backbones.clip import CLIP_MODELS, resolve_clip_weights

    rows = []
    for name in list_backbones():
        choice = resolve_backbone_weights(name)
        rows.append({"preset": name, "kind": "backbone", "source": choice.source,
                     "path": None if choice.path is None else str(choice.path), "role": PRESETS[name].role})
    for name in CLIP_MODELS:
        choice = resolve_clip_weights(name)
        rows.append({"preset": name, "kind": "clip", "source": choice.source,
                     "path": None if choice.path is None else str(choice.path), "role": "open_clip model"})
    return rows
