"""lukemelas EfficientNet (the `efficientnet-pytorch` package), as smp / MetaUAS / OneNIP / UniAD build it.

Convolutions use TF "same" padding computed statically for the architecture's native size (380 px
for B4, 528 px for B6), exactly like the official code; timm's ``tf_efficientnet_*`` pads
dynamically and differs in one depthwise conv at 256/512 input. The pyramid registers every module
of the network except ``_fc`` (smp's encoder deletes it), so its state-dict keys are the lukemelas
names and the unused ``_conv_head``/``_bn1`` still count in the parameter total, as in the papers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

from torch import nn

from uasbench.backbones.pyramid import FeaturePyramid, Stage, resolve_block_taps
from uasbench.backbones.weights import load_state_dict_file, load_strict


def build_lukemelas(arch: str) -> nn.Module:
    """The full lukemelas network (random init, with ``_fc``); never downloads anything."""
    from efficientnet_pytorch import EfficientNet

    return EfficientNet.from_name(arch)


def load_lukemelas_weights(net: nn.Module, path: Path, require_fc: bool) -> None:
    """Strictly load a lukemelas-format file; an fc-less smp encoder dump is accepted unless the fc is kept."""
    load_strict(net, load_state_dict_file(path), path, optional_prefixes=() if require_fc else ("_fc.",))


def block_stride(block: nn.Module) -> int:
    """Spatial stride of one MBConv block (lukemelas ``_depthwise_conv`` or timm ``conv_dw``)."""
    conv = block._depthwise_conv if hasattr(block, "_depthwise_conv") else block.conv_dw
    stride = conv.stride
    return int(stride[0] if isinstance(stride, (tuple, list)) else stride)


class LukemelasPyramid(FeaturePyramid):
    """Stem output (``stem``) and MBConv block outputs (``_blocks.<i>``) of a lukemelas EfficientNet."""

    def __init__(self, net: nn.Module, *, preset: str, taps: str, tokens: Sequence[str | int],
                 mean: Sequence[float], std: Sequence[float], keep_fc: bool = False) -> None:
        blocks = list(net._blocks)
        tap_names = resolve_block_taps(tokens, [f"_blocks.{i}" for i in range(len(blocks))],
                                       [block_stride(b) for b in blocks], preset)
        super().__init__(preset=preset, taps=taps, tap_names=tap_names, mean=mean, std=std)
        self._global_params = net._global_params
        for name, child in net.named_children():
            if name in ("_fc", "_dropout") and not keep_fc:
                continue
            self.add_module(name, child)

    def iter_stages(self) -> Iterator[Stage]:
        yield "stem", lambda x: self._swish(self._bn0(self._conv_stem(x)))
        # drop_connect only acts in training mode, which this frozen module never enters
        for index, block in enumerate(self._blocks):
            yield f"_blocks.{index}", block
