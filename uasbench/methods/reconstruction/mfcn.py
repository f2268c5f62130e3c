"""MFCN neck (UniAD/OneNIP ``models/necks/mfcn.py``): every backbone tap resized to one stride and concatenated."""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from uasbench.errors import ConfigError

OUT_STRIDE = 16


class MultiScaleConcat(nn.Module):
    """Resize each tap to stride ``out_stride`` with bilinear, align_corners=True (the official
    ``UpsamplingBilinear2d``, used for downscaling too) and concatenate along channels (272 ch for b4)."""

    def __init__(self, channels: Sequence[int], strides: Sequence[int], out_stride: int = OUT_STRIDE) -> None:
        super().__init__()
        if len(channels) != len(strides):
            raise ConfigError(f"MFCN: {len(channels)} channel counts for {len(strides)} strides")
        self.in_strides = tuple(int(s) for s in strides)
        self.out_stride = int(out_stride)
        self.out_channels = int(sum(channels))

    def forward(self, taps: Sequence[torch.Tensor], image_size: int) -> torch.Tensor:
        side = image_size // self.out_stride
        resized = [tap if tap.shape[-1] == side and tap.shape[-2] == side else
                   F.interpolate(tap, size=(side, side), mode="bilinear", align_corners=True) for tap in taps]
        return torch.cat(resized, dim=1)
