"""OneNIP supervised refiner (the official ``MaskHead(272, 128, 2)``) and its Dice loss."""

from __future__ import annotations

import torch
from torch import nn

REFINER_CHANNELS = 128
REFINER_BLOCKS = 2


def _upsampling_block(in_channels: int, channels: int) -> nn.Sequential:
    """3×3 conv (no bias) → BN → ReLU → 2×2 transposed conv, stride 2 (indices match the official keys)."""
    return nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
                         nn.ReLU(inplace=True), nn.ConvTranspose2d(channels, channels, 2, stride=2))


class Refiner(nn.Module):
    """|rec − feature| at stride 16 → logits at stride 4 (two ×2 blocks, then a 1×1 conv to one channel).

    Paper §3.3 and the code agree on this order; the official README's "each followed by a 1×1 conv" does not.
    """

    def __init__(self, in_channels: int, channels: int = REFINER_CHANNELS, blocks: int = REFINER_BLOCKS) -> None:
        super().__init__()
        self.blocks = blocks
        for index in range(blocks):
            self.add_module(f"upconv{index + 1}", _upsampling_block(in_channels if index == 0 else channels, channels))
        self.predictor = nn.Conv2d(channels, 1, 1)

    def forward(self, error: torch.Tensor) -> torch.Tensor:
        x = error
        for index in range(self.blocks):
            x = getattr(self, f"upconv{index + 1}")(x)
        return self.predictor(x)


def dice_loss(probabilities: torch.Tensor, target: torch.Tensor, smooth: float = 1.0, power: int = 2) -> torch.Tensor:
    """OneNIP DiceLoss: per sample 1 − (Σpt + s) / (Σpᵖ + Σtᵖ + s), averaged over the batch."""
    p = probabilities.flatten(1)
    t = target.flatten(1).to(p.dtype)
    numerator = (p * t).sum(1) + smooth
    denominator = (p.pow(power) + t.pow(power)).sum(1) + smooth
    return (1.0 - numerator / denominator).mean()
