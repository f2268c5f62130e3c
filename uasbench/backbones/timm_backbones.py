"""timm backbones: EfficientNet-family chains (Lite0, MobileNetV2), EfficientViT-B3 and WideResNet-50.

Each pyramid keeps the source network's module names and only the modules up to the deepest tap
(as timm ``features_only`` does), so a timm or torchvision state dict loads into the full network
first and the unused head is dropped afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

from torch import nn

from uasbench.backbones.efficientnet import block_stride
from uasbench.backbones.pyramid import FeaturePyramid, Stage, resolve_block_taps
from uasbench.backbones.weights import load_state_dict_file, load_strict, remap_by_order
from uasbench.errors import ConfigError

LUKEMELAS_STEM_KEY = "_conv_stem.weight"


def build_timm(arch: str) -> nn.Module:
    """The full timm network with random init (``pretrained=False``: timm never touches the network)."""
    import timm

    return timm.create_model(arch, pretrained=False)


def load_timm_weights(net: nn.Module, path: Path, require_fc: bool = False) -> None:
    """Load a timm/torchvision-named file, or a lukemelas-named one (Lite0 package) renamed by key order.

    Always strict, head included (``require_fc`` exists only to share the lukemelas loader's signature).
    """
    state = load_state_dict_file(path)
    if LUKEMELAS_STEM_KEY in state:
        expected = net.state_dict()
        state = remap_by_order(state, list(expected), {k: v.shape for k, v in expected.items()}, path)
    load_strict(net, state, path)


class TimmEfficientNetPyramid(FeaturePyramid):
    """timm ``EfficientNet`` class (Lite0, MobileNetV2): ``stem`` = conv_stem+bn1, then ``blocks.<stage>.<i>``."""

    def __init__(self, net: nn.Module, *, preset: str, taps: str, tokens: Sequence[str | int],
                 mean: Sequence[float], std: Sequence[float]) -> None:
        flat = [(f"blocks.{s}.{i}", block) for s, stage in enumerate(net.blocks) for i, block in enumerate(stage)]
        tap_names = resolve_block_taps(tokens, [n for n, _ in flat], [block_stride(b) for _, b in flat], preset)
        super().__init__(preset=preset, taps=taps, tap_names=tap_names, mean=mean, std=std)
        deepest_stage = max((int(n.split(".")[1]) for n in tap_names if n != "stem"), default=-1)
        self.conv_stem, self.bn1 = net.conv_stem, net.bn1
        self.blocks = net.blocks[: deepest_stage + 1]

    def iter_stages(self) -> Iterator[Stage]:
        yield "stem", lambda x: self.bn1(self.conv_stem(x))
        for s, stage in enumerate(self.blocks):
            for i, block in enumerate(stage):
                yield f"blocks.{s}.{i}", block


class StageNamePyramid(FeaturePyramid):
    """A pyramid whose taps are the network's stage names as given (``stages.2``, ``layer3``): it keeps the stages
    up to the deepest tap (:meth:`keep_stages`)."""

    def __init__(self, net: nn.Module, *, preset: str, taps: str, tokens: Sequence[str | int],
                 mean: Sequence[float], std: Sequence[float]) -> None:
        tap_names = [str(t) for t in tokens]
        super().__init__(preset=preset, taps=taps, tap_names=tap_names, mean=mean, std=std)
        self.keep_stages(net, tap_names)

    def keep_stages(self, net: nn.Module, tap_names: Sequence[str]) -> None:
        """Register ``net``'s modules up to the deepest of ``tap_names`` under their own names."""
        raise NotImplementedError


class EfficientVitPyramid(StageNamePyramid):
    """timm ``efficientvit_*`` (MIT EfficientViT): ``stem`` at /2, then ``stages.<i>`` at /4 … /32."""

    def keep_stages(self, net: nn.Module, tap_names: Sequence[str]) -> None:
        """``stem`` and ``stages`` up to the deepest tapped one."""
        self.stem = net.stem
        self.stages = net.stages[: _deepest_index(tap_names, "stages.", len(net.stages), self.preset) + 1]

    def iter_stages(self) -> Iterator[Stage]:
        yield "stem", self.stem
        for index, stage in enumerate(self.stages):
            yield f"stages.{index}", stage


class ResNetPyramid(StageNamePyramid):
    """timm/torchvision ResNet (identical key names): ``stem`` (conv1+bn1+act1, /2), ``maxpool``, ``layer1..4``."""

    def keep_stages(self, net: nn.Module, tap_names: Sequence[str]) -> None:
        """The stem modules, ``maxpool`` and ``layer1`` … up to the deepest tapped layer."""
        deepest = _deepest_index([n for n in tap_names if n.startswith("layer")], "layer", 5, self.preset)
        self.conv1, self.bn1, self.act1, self.maxpool = net.conv1, net.bn1, net.act1, net.maxpool
        for index in range(1, deepest + 1):
            self.add_module(f"layer{index}", getattr(net, f"layer{index}"))

    def iter_stages(self) -> Iterator[Stage]:
        yield "stem", lambda x: self.act1(self.bn1(self.conv1(x)))
        yield "maxpool", self.maxpool
        for index in range(1, 5):
            if hasattr(self, f"layer{index}"):
                yield f"layer{index}", getattr(self, f"layer{index}")


def _deepest_index(names: Sequence[str], prefix: str, count: int, preset: str) -> int:
    """Largest ``<prefix><i>`` index among ``names`` (-1 for none); an out-of-range index is a ConfigError."""
    indices = [int(n.removeprefix(prefix)) for n in names if n.startswith(prefix) and n.removeprefix(prefix).isdigit()]
    if any(i >= count for i in indices):
        raise ConfigError(f"backbone {preset!r}: tap {names} beyond the network's {count} stages")
    return max(indices, default=-1)


PYRAMID_CLASSES: dict[str, type[FeaturePyramid]] = {
    "timm-efficientnet": TimmEfficientNetPyramid,
    "timm-efficientvit": EfficientVitPyramid,
    "timm-resnet": ResNetPyramid,
}
