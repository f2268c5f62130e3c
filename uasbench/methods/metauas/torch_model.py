"""The MetaUAS network (Gao, NeurIPS'24) as a plain ``nn.Module``: frozen encoder → FAM + fusion → decoder → 1×1 head.

Mirrors the forward of the official ``MetaUAS`` [gaobb/MetaUAS metauas.py]: ImageNet-normalise inside, encode query
and prompt with the frozen encoder under ``no_grad``, align + fuse the ``num_alignment_layers`` deepest stages
(the shallower ones carry query features only), decode, 1×1 head, sigmoid. Differences: training mode returns
logits (the official forward has no output in training mode), and encoding is exposed separately so features
can be cached (``encode`` / ``forward_from_features``).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from uasbench.errors import ConfigError
from uasbench.methods.metauas.alignment import FeatureAlignment, fused_channels
from uasbench.methods.metauas.decoders import UNET_CHANNELS, build_decoder

#: every stage must halve cleanly down to /32 so the UNet's ×2 upsamplings land on the skip sizes
INPUT_MULTIPLE = 32


class MetaUASModel(nn.Module):
    """``model(query, prompt)``: RGB in [0, 1], (B, 3, H, W) each (a prompt batch of 1 is shared by all queries).

    Returns (B, 1, H, W): the sigmoid anomaly map in eval mode, logits in train mode.
    """

    def __init__(self, encoder: nn.Module, alignment: str = "soft", fusion: str = "cat", decoder: str = "unet",
                 num_alignment_layers: int = 3, fpn_segmentation_channels: int = 256,
                 decoder_channels: Sequence[int] = UNET_CHANNELS, freeze_encoder: bool = True) -> None:
        super().__init__()
        stage_channels = tuple(int(c) for c in encoder.channels)
        if not 1 <= num_alignment_layers <= len(stage_channels):
            raise ConfigError(f"num_alignment_layers must be in 1..{len(stage_channels)} (the encoder has "
                              f"{len(stage_channels)} stages), got {num_alignment_layers}")
        self.encoder = encoder
        self.freeze_encoder = freeze_encoder  # Tab 3b "learn": encoder weights train, its BN statistics stay frozen
        for param in self.encoder.parameters():
            param.requires_grad_(not freeze_encoder)
        self.alignment_mode, self.fusion, self.decoder_name = alignment, fusion, decoder
        # alignment[i] handles stage -(i + 1): deepest first, as in the official ModuleList
        self.alignment = nn.ModuleList(
            FeatureAlignment(stage_channels[-(i + 1)], mode=alignment, fusion=fusion)
            for i in range(num_alignment_layers))
        decoder_inputs = list(stage_channels)
        for i in range(num_alignment_layers):
            decoder_inputs[-(i + 1)] = fused_channels(stage_channels[-(i + 1)], fusion)
        self.decoder = build_decoder(decoder, decoder_inputs, fpn_segmentation_channels, decoder_channels)
        self.head = nn.Conv2d(self.decoder.out_channels, 1, kernel_size=1)
        self.encoder.eval()

    def train(self, mode: bool = True) -> "MetaUASModel":
        """Train the FAM/decoder/head only: the frozen encoder (and its BN statistics) always stays in eval mode."""
        super().train(mode)
        self.encoder.eval()
        return self

    @property
    def device(self) -> torch.device:
        return self.head.weight.device

    def encode(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Frozen-encoder features (shallow → deep) of RGB images in [0, 1]; cacheable (no graph is kept)."""
        _check_images(images, "images")
        with torch.set_grad_enabled(not self.freeze_encoder and torch.is_grad_enabled()):
            return list(self.encoder(self.encoder.normalize(images)))

    def forward_from_features(self, query_features: Sequence[torch.Tensor],
                              prompt_features: Sequence[torch.Tensor]) -> torch.Tensor:
        """Anomaly map (eval) or logits (train) from ``encode`` outputs; prompt batch 1 is broadcast."""
        if len(query_features) != len(prompt_features):
            raise ConfigError(f"query has {len(query_features)} feature stages but prompt has {len(prompt_features)}")
        batch = query_features[0].shape[0]
        fused = list(query_features)
        for i, align in enumerate(self.alignment):
            stage = len(fused) - 1 - i
            prompt = _broadcast_batch(prompt_features[stage], batch)
            fused[stage] = align(query_features[stage], prompt)
        logits = self.head(self.decoder(fused))
        if self.decoder.output_stride > 1:
            logits = F.interpolate(logits, scale_factor=self.decoder.output_stride, mode="bilinear",
                                   align_corners=False)
        return logits if self.training else logits.sigmoid()

    def forward(self, query: torch.Tensor, prompt: torch.Tensor) -> torch.Tensor:
        return self.forward_from_features(self.encode(query), self.encode(prompt))


def _check_images(images: torch.Tensor, name: str) -> None:
    if images.ndim != 4 or images.shape[1] != 3:
        raise ConfigError(f"MetaUAS {name} must be RGB images shaped (B, 3, H, W), got {tuple(images.shape)}")
    height, width = images.shape[-2:]
    if height % INPUT_MULTIPLE or width % INPUT_MULTIPLE:
        raise ConfigError(f"MetaUAS {name} size {height}×{width} is not a multiple of {INPUT_MULTIPLE} "
                          f"(the official models use 256 or 512)")


def _broadcast_batch(features: torch.Tensor, batch: int) -> torch.Tensor:
    if features.shape[0] == batch:
        return features
    if features.shape[0] == 1:
        return features.expand(batch, *features.shape[1:])
    raise ConfigError(f"prompt batch {features.shape[0]} does not match query batch {batch} (use 1 or {batch})")
