"""MetaUAS decoders: the UNet with scSE attention (official) and the two FPN decoders of the paper's Tab. 3c.

Both are written from the structure of the smp fork the official code pins
(ragavsachdeva/segmentation_models.pytorch @0092ee4: unet/model.py UnetDecoder, base/modules.py SCSEModule,
fpn/decoder.py FPNDecoder). Decoders take the fused stage features ordered shallow → deep (stride 2 … 32) and
expose ``out_channels`` and ``output_stride`` (the stride of their output relative to the input image).
"""

from __future__ import annotations

from typing import Literal, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from uasbench.errors import ConfigError

DECODERS: tuple[str, ...] = ("unet", "fpn-cat", "fpn-add")
DecoderName = Literal["unet", "fpn-cat", "fpn-add"]
UNET_CHANNELS: tuple[int, ...] = (256, 128, 64, 64, 48)


class SCSE(nn.Module):
    """Concurrent spatial and channel squeeze-and-excitation (Roy et al. 2018): x·cSE(x) + x·sSE(x)."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.channel_gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, channels // reduction, kernel_size=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels // reduction, channels, kernel_size=1),
            nn.Sigmoid(),
        )
        self.spatial_gate = nn.Sequential(nn.Conv2d(channels, 1, kernel_size=1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.channel_gate(x) + x * self.spatial_gate(x)


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """3×3 conv (no bias, BN follows) + BN + ReLU; indices 0/1/2 match the official key layout."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class UnetBlock(nn.Module):
    """Nearest ×2 upsample, concat the skip, scSE, two conv-BN-ReLU, scSE. Without a skip: no scSE at all."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int) -> None:
        super().__init__()
        has_skip = skip_channels > 0
        self.attention_in = SCSE(in_channels + skip_channels) if has_skip else nn.Identity()
        self.conv1 = conv_bn_relu(in_channels + skip_channels, out_channels)
        self.conv2 = conv_bn_relu(out_channels, out_channels)
        self.attention_out = SCSE(out_channels) if has_skip else nn.Identity()

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        if skip is not None:
            x = self.attention_in(torch.cat([x, skip], dim=1))
        return self.attention_out(self.conv2(self.conv1(x)))


class UnetDecoder(nn.Module):
    """UNet over all stages: the deepest feature enters the first block, the others are skips (deep → shallow).

    One block per stage, so the output is at full input resolution (official ``decoder_depth=5``, no centre block).
    """

    output_stride = 1

    def __init__(self, stage_channels: Sequence[int], decoder_channels: Sequence[int] = UNET_CHANNELS) -> None:
        super().__init__()
        if len(decoder_channels) != len(stage_channels):
            raise ConfigError(f"UNet needs one decoder width per encoder stage: {len(stage_channels)} stages, "
                              f"got decoder_channels={tuple(decoder_channels)}")
        in_channels = [stage_channels[-1], *decoder_channels[:-1]]
        skip_channels = [*reversed(stage_channels[:-1]), 0]
        self.blocks = nn.ModuleList(
            UnetBlock(i, s, o) for i, s, o in zip(in_channels, skip_channels, decoder_channels))
        self.out_channels = decoder_channels[-1]

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        x, skips = features[-1], list(reversed(features[:-1]))
        for index, block in enumerate(self.blocks):
            x = block(x, skips[index] if index < len(skips) else None)
        return x


class ConvGNReLU(nn.Module):
    """3×3 conv + GroupNorm(32) + ReLU, optionally followed by bilinear ×2 (align_corners=True, as in smp)."""

    def __init__(self, in_channels: int, out_channels: int, upsample: bool) -> None:
        super().__init__()
        self.upsample = upsample
        self.block = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.GroupNorm(32, out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block(x)
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True) if self.upsample else x


class FPNDecoder(nn.Module):
    """smp-style FPN on the four deepest stages (/4 … /32), merged at /4 by concat or sum.

    Top-down path: 1×1 lateral convs to ``pyramid_channels`` added to the nearest-×2 upsampled coarser level.
    Each level then goes through conv-GN-ReLU(-×2) blocks down to /4 (3, 2, 1, 0 upsamplings), the four maps are
    merged, and Dropout2d(0.2) follows (official fpncat/fpnadd settings: pyramid 256, segmentation 256).
    """

    output_stride = 4

    def __init__(self, stage_channels: Sequence[int], merge: Literal["cat", "add"], pyramid_channels: int = 256,
                 segmentation_channels: int = 256, dropout: float = 0.2) -> None:
        super().__init__()
        if len(stage_channels) < 4:
            raise ConfigError(f"FPN needs at least 4 encoder stages, got {len(stage_channels)}")
        if merge not in ("cat", "add"):
            raise ConfigError(f"FPN merge must be 'cat' or 'add', got {merge!r}")
        c2, c3, c4, c5 = stage_channels[-4:]
        self.merge = merge
        self.top = nn.Conv2d(c5, pyramid_channels, kernel_size=1)
        self.laterals = nn.ModuleList(nn.Conv2d(c, pyramid_channels, kernel_size=1) for c in (c4, c3, c2))
        self.branches = nn.ModuleList(
            nn.Sequential(*(ConvGNReLU(pyramid_channels if i == 0 else segmentation_channels, segmentation_channels,
                                       upsample=n_up > 0) for i in range(max(n_up, 1))))
            for n_up in (3, 2, 1, 0))
        self.dropout = nn.Dropout2d(p=dropout)
        self.out_channels = segmentation_channels * (4 if merge == "cat" else 1)

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        c2, c3, c4, c5 = features[-4:]
        levels = [self.top(c5)]
        for lateral, skip in zip(self.laterals, (c4, c3, c2)):
            levels.append(F.interpolate(levels[-1], scale_factor=2, mode="nearest") + lateral(skip))
        maps = [branch(level) for branch, level in zip(self.branches, levels)]
        merged = torch.cat(maps, dim=1) if self.merge == "cat" else torch.stack(maps).sum(dim=0)
        return self.dropout(merged)


def build_decoder(name: DecoderName, stage_channels: Sequence[int], fpn_segmentation_channels: int = 256,
                  unet_channels: Sequence[int] = UNET_CHANNELS) -> UnetDecoder | FPNDecoder:
    """The decoder ``name`` for fused stage features with ``stage_channels`` (shallow → deep)."""
    if name == "unet":
        return UnetDecoder(stage_channels, tuple(int(c) for c in unet_channels))
    if name in ("fpn-cat", "fpn-add"):
        return FPNDecoder(stage_channels, merge=name.removeprefix("fpn-"),
                          segmentation_channels=fpn_segmentation_channels)
    raise ConfigError(f"unknown MetaUAS decoder {name!r}; expected one of {DECODERS}")
