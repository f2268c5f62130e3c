"""The feature-reconstruction network behind UniAD and OneNIP (and every OneNIP Tab 4 ablation).

frozen backbone taps → MFCN neck (stride 16) → [feature jitter, training only] → linear C→256 → post-norm encoder
(neighbour-masked) → decoder (UniAD query / static prompt / OneNIP bidirectional) → linear 256→C; OneNIP adds the
restoration stream (synthetic anomalies restored to the clean features) and the refiner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from uasbench.errors import ConfigError
from uasbench.methods.reconstruction.decoders import BidirectionalDecoder, QueryDecoder
from uasbench.methods.reconstruction.mfcn import OUT_STRIDE, MultiScaleConcat
from uasbench.methods.reconstruction.refiner import Refiner, dice_loss
from uasbench.methods.reconstruction.transformer import (
    Encoder,
    LearnedPositionEmbedding,
    add_feature_jitter,
    neighbour_mask,
    neighbour_window,
)

DECODERS = ("query", "static", "bidirectional")
#: image score = max of this average-pooled map (stride 1), as the official ``EvalImageMax(avgpool_size=[16, 16])``
SCORE_POOL = 16
#: the official fusion weight ``lamda`` of rec vs normalised refiner map
FUSION_WEIGHT = 0.5


@dataclass(frozen=True)
class ReconstructionConfig:
    """Architecture and loss switches; defaults are the official UniAD configuration."""

    image_size: int = 224
    hidden_dim: int = 256
    heads: int = 8
    ffn_dim: int = 1024
    dropout: float = 0.1
    encoder_layers: int = 4
    decoder_layers: int = 4
    decoder: str = "query"
    restoration: bool = False
    refiner: bool = False
    neighbour_masking: bool = True
    jitter_scale: float = 20.0
    jitter_prob: float = 1.0
    dice_weight: float = 0.5

    def __post_init__(self) -> None:
        if self.decoder not in DECODERS:
            raise ConfigError(f"decoder {self.decoder!r} is not one of {', '.join(DECODERS)}")
        if self.image_size % OUT_STRIDE or self.image_size < 2 * OUT_STRIDE:
            raise ConfigError(f"image_size {self.image_size} must be a multiple of {OUT_STRIDE} "
                              f"and >= {2 * OUT_STRIDE}")
        if self.refiner and not self.restoration:
            raise ConfigError("the refiner learns from the synthetic anomalies of the restoration stream: "
                              "refiner=True needs restoration=True (OneNIP Tab 4a has no such row)")
        if self.hidden_dim % 2 or self.hidden_dim % self.heads:
            raise ConfigError(f"hidden_dim {self.hidden_dim} must be even and divisible by heads {self.heads}")

    @property
    def feature_size(self) -> int:
        return self.image_size // OUT_STRIDE

    @property
    def uses_prompt(self) -> bool:
        return self.decoder != "query"


class Reconstruction(NamedTuple):
    """Everything a training loss needs from one forward pass of the reconstruction model."""

    reconstructed: torch.Tensor  # (N, C, f, f) decoder output features
    inputs: torch.Tensor  # (N, C, f, f) the features that were fed in (query, then synthetic)
    targets: torch.Tensor  # (N, C, f, f) the clean query features (repeated for the synthetic stream)
    refiner_logits: torch.Tensor | None  # (N, 1, S, S) at image resolution


def image_scores(maps: torch.Tensor, pool: int = SCORE_POOL) -> torch.Tensor:
    """(B,) max of the ``pool``×``pool`` average-pooled (stride 1) map (B, H, W)."""
    size = min(pool, maps.shape[-1], maps.shape[-2])
    return F.avg_pool2d(maps[:, None].float(), size, stride=1).flatten(1).amax(1)


def fuse_maps(rec: torch.Tensor, ref: torch.Tensor, rec_min: float, rec_max: float) -> torch.Tensor:
    """OneNIP Eq. 10 as coded: 0.5·rec + 0.5·((max_rec + min_rec) / 2)·ref."""
    return FUSION_WEIGHT * rec + (1.0 - FUSION_WEIGHT) * (rec_max + rec_min) / 2.0 * ref


def _initialise(module: nn.Module) -> None:
    """The official ``initializer: xavier_uniform`` on convs and linears (bias 0) and BN (1, 0);
    embeddings keep theirs."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class ReconstructionNet(nn.Module):
    """``backbone`` is a frozen :class:`uasbench.backbones.FeaturePyramid` with the "uniad" taps."""

    def __init__(self, backbone: nn.Module, config: ReconstructionConfig = ReconstructionConfig()) -> None:
        super().__init__()
        self.config = config
        c, f = config, config.feature_size
        self.backbone = backbone
        self.neck = MultiScaleConcat(backbone.channels, backbone.strides)
        channels = self.neck.out_channels
        self.input_proj = nn.Linear(channels, c.hidden_dim)
        self.position = LearnedPositionEmbedding((f, f), c.hidden_dim // 2)
        self.encoder = Encoder(c.encoder_layers, c.hidden_dim, c.heads, c.ffn_dim, c.dropout)
        if c.decoder == "bidirectional":
            self.decoder: nn.Module = BidirectionalDecoder(c.decoder_layers, c.hidden_dim, c.heads, c.ffn_dim,
                                                           c.dropout)
        else:
            self.decoder = QueryDecoder(c.decoder_layers, c.hidden_dim, c.heads, c.ffn_dim, c.dropout,
                                        num_queries=f * f if c.decoder == "query" else None)
        self.output_proj = nn.Linear(c.hidden_dim, channels)
        self.refiner = Refiner(channels) if c.refiner else None
        for child in (self.input_proj, self.encoder, self.decoder, self.output_proj, self.refiner):
            if child is not None:
                _initialise(child)
        window = neighbour_window(f)
        mask = neighbour_mask((f, f), (window, window)) if c.neighbour_masking else None
        self.register_buffer("attn_mask", mask, persistent=False)
        if c.refiner:
            # [min, max] of the reconstruction map on normal training images: the non-transductive normaliser
            self.register_buffer("train_rec_range", torch.tensor([float("inf"), float("-inf")]))
        self._feature_cache: dict[int, torch.Tensor] = {}

    @property
    def device(self) -> torch.device:
        return self.input_proj.weight.device

    # -- features ----------------------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, images01: torch.Tensor) -> list[torch.Tensor]:
        """Backbone taps of RGB images in [0, 1] (also the best-match prompt descriptor)."""
        return self.backbone(self.backbone.normalize(images01))

    def _check_images(self, images: torch.Tensor, what: str) -> None:
        size = self.config.image_size
        if images.ndim != 4 or images.shape[1] != 3 or tuple(images.shape[-2:]) != (size, size):
            raise ConfigError(f"{what}: this model is built for (B, 3, {size}, {size}) images (feature size "
                              f"{self.config.feature_size}); got {tuple(images.shape)}. Use image_size {size}.")

    def features(self, images01: torch.Tensor, ids: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, f, f) neck features; the backbone is frozen, so no graph is kept.

        With ``ids`` (one stable integer per unaugmented training image) features are computed once per image,
        one image at a time so the values never depend on the batch, and kept in memory (not in the state dict).
        """
        with torch.no_grad():
            if ids is None:
                return self.neck(self.encode(images01), self.config.image_size)
            for image, key in zip(images01, ids.tolist()):
                if key not in self._feature_cache:
                    self._feature_cache[key] = self.features(image[None])[0]
            return torch.stack([self._feature_cache[key] for key in ids.tolist()])

    # -- reconstruction ------------------------------------------------------------------------------
    def reconstruct(self, inputs: torch.Tensor, prompt: torch.Tensor | None) -> torch.Tensor:
        """Reconstruct ``inputs`` (N, C, f, f); ``prompt`` (P, C, f, f) with N a multiple of P, repeated as the
        official code pairs [query; synthetic] with [prompt; prompt]."""
        n, channels, f, _ = inputs.shape
        streams = inputs if prompt is None else torch.cat([inputs, prompt])
        tokens = streams.flatten(2).permute(2, 0, 1)  # (HW, N+P, C)
        if self.training:
            tokens = add_feature_jitter(tokens, self.config.jitter_scale, self.config.jitter_prob)
        tokens = self.input_proj(tokens)
        pos = self.position()[:, None]
        encoded = self.encoder(tokens, pos, self.attn_mask)
        image = encoded[:, :n]
        prompt_tokens = None
        if prompt is not None:
            prompt_tokens = encoded[:, n:]
            if n % prompt_tokens.shape[1]:
                raise ValueError(f"{n} query features cannot be paired with {prompt_tokens.shape[1]} prompts")
            prompt_tokens = prompt_tokens.repeat(1, n // prompt_tokens.shape[1], 1)
        decoded = self.decoder(image, pos, self.attn_mask, prompt_tokens)
        return self.output_proj(decoded).permute(1, 2, 0).reshape(n, channels, f, f)

    def forward(self, query: torch.Tensor, prompt: torch.Tensor | None = None, synthetic: torch.Tensor | None = None,
                query_ids: torch.Tensor | None = None, prompt_ids: torch.Tensor | None = None) -> Reconstruction:
        """Images in [0, 1]; ``synthetic`` (training only) adds the restoration stream after the query stream;
        ``query_ids``/``prompt_ids`` let unaugmented training images reuse cached features (see :meth:`features`)."""
        self._check_images(query, "query")
        if self.config.uses_prompt:
            if prompt is None:
                raise ConfigError(f"decoder {self.config.decoder!r} needs a normal prompt image per query")
            self._check_images(prompt, "prompt")
        else:
            prompt = None
        b = len(query)
        if query_ids is None and (prompt is None or prompt_ids is None):
            images = [query] + ([synthetic] if synthetic is not None else []) + ([prompt] if prompt is not None else [])
            feats = self.features(torch.cat(images))
            query_feats, feats = feats[:b], feats[b:]
            synthetic_feats, feats = (feats[:b], feats[b:]) if synthetic is not None else (None, feats)
            prompt_feats = feats if prompt is not None else None
        else:
            query_feats = self.features(query, query_ids)
            synthetic_feats = None if synthetic is None else self.features(synthetic)
            prompt_feats = None if prompt is None else self.features(prompt, prompt_ids)
        inputs = query_feats if synthetic_feats is None else torch.cat([query_feats, synthetic_feats])
        targets = query_feats.repeat(len(inputs) // b, 1, 1, 1)
        reconstructed = self.reconstruct(inputs, prompt_feats)
        logits = None
        if self.refiner is not None:
            logits = F.interpolate(self.refiner((reconstructed - inputs).abs()), size=query.shape[-2:],
                                   mode="bilinear", align_corners=True)
        return Reconstruction(reconstructed, inputs, targets, logits)

    # -- training ----------------------------------------------------------------------------------
    def loss(self, query: torch.Tensor, prompt: torch.Tensor | None = None, synthetic: torch.Tensor | None = None,
             synthetic_mask: torch.Tensor | None = None, query_ids: torch.Tensor | None = None,
             prompt_ids: torch.Tensor | None = None) -> torch.Tensor:
        """MSE(reconstructed, clean query features) [+ dice_weight · Dice(refiner, [0; synthetic mask])]."""
        use_synthetic = self.config.restoration
        if use_synthetic and (synthetic is None or synthetic_mask is None):
            raise ValueError("restoration training needs synthetic images and their masks in every batch")
        out = self(query, prompt, synthetic if use_synthetic else None, query_ids, prompt_ids)
        loss = F.mse_loss(out.reconstructed, out.targets)
        if out.refiner_logits is not None:
            target = torch.cat([torch.zeros_like(synthetic_mask), synthetic_mask]).float()
            loss = loss + self.config.dice_weight * dice_loss(out.refiner_logits.sigmoid(), target.reshape_as(
                out.refiner_logits))
        return loss

    @torch.no_grad()
    def update_train_range(self, query: torch.Tensor, prompt: torch.Tensor | None) -> None:
        """Widen [min, max] of the eval-mode reconstruction map of normal training images (no RNG is used).

        Under torchrun every rank sees its share of the batch: the range is reduced over the ranks (min of the
        minima, max of the maxima), so each rank, and the checkpoint rank 0 writes, holds the global batch's range.
        Every rank calls this for the same batches (calibration is per epoch), as a collective needs.
        """
        was_training = self.training
        self.eval()
        try:
            rec, _ = self.anomaly_maps(query, prompt)
        finally:
            self.train(was_training)
        low, high = rec.min().reshape(1), rec.max().reshape(1)
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            dist.all_reduce(low, op=dist.ReduceOp.MIN)
            dist.all_reduce(high, op=dist.ReduceOp.MAX)
        self.train_rec_range[0] = torch.minimum(self.train_rec_range[0], low[0])
        self.train_rec_range[1] = torch.maximum(self.train_rec_range[1], high[0])

    # -- inference ---------------------------------------------------------------------------------
    @torch.no_grad()
    def anomaly_maps(self, query: torch.Tensor, prompt: torch.Tensor | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Reconstruction map ‖rec − feature‖₂ upsampled ×16 (B, S, S) and the refiner map sigmoid (B, S, S)."""
        out = self(query, prompt)
        rec = (out.reconstructed - out.inputs).pow(2).sum(1, keepdim=True).sqrt()
        rec = F.interpolate(rec, size=query.shape[-2:], mode="bilinear", align_corners=True)[:, 0]
        ref = None if out.refiner_logits is None else out.refiner_logits.sigmoid()[:, 0]
        return rec, ref
