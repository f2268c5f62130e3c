"""Dense and window embeddings of an open_clip ViT, computed on its own modules, and WinCLIP's aggregation helpers.

Window embeddings follow WinCLIP (zqhang/Accurate-WinCLIP-pytorch, anomalib ``WinClipModel``): positional embeddings
are added to all tokens first, then the class token plus only the window's patch tokens go through ln_pre →
transformer, and the class output through ln_post → proj. All windows of all images run as one batch of
sequences (chunked to bound memory) selected with an index tensor, never a Python loop over windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from uasbench.errors import ConfigError

# open_clip's defaults when a model carries no preprocess_cfg (OpenAI CLIP statistics; also used by LAION weights).
OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class DenseClipOutput:
    """Everything WinCLIP-style methods read from one full forward pass."""

    image_embedding: torch.Tensor  # (B, E) projected class token
    patch_tokens: torch.Tensor  # (B, L, D) final-layer patch tokens, no ln_post, no projection (WinCLIP+ memory)
    patch_embeddings: torch.Tensor  # (B, L, E) ln_post → proj of the patch tokens (CLIP zero-shot maps)
    embedded: torch.Tensor  # (B, 1 + L, D) tokens after ln_pre, before the transformer (input of window passes)
    grid: tuple[int, int]


def check_plain_vit(visual: nn.Module) -> None:
    """The masked-token forward below assumes a class-token ViT without attentional pooling."""
    required = ("conv1", "class_embedding", "positional_embedding", "ln_pre", "transformer", "ln_post", "proj")
    missing = [name for name in required if getattr(visual, name, None) is None]
    if missing:
        raise ConfigError(f"CLIP vision tower {type(visual).__name__} lacks {missing}; WinCLIP needs an open_clip "
                          f"VisionTransformer with a projected class token")
    if getattr(visual, "attn_pool", None) is not None or getattr(visual, "pool_type", "tok") != "tok":
        raise ConfigError("CLIP vision tower uses attentional/average pooling; WinCLIP needs class-token pooling")


def clip_input_size(visual: nn.Module) -> tuple[int, int]:
    """(height, width) the vision tower was trained at, which its positional embedding requires."""
    size = getattr(visual, "image_size", 224)
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def to_clip_input(images01: torch.Tensor, visual: nn.Module) -> torch.Tensor:
    """Resize (bicubic, antialiased, clamped) to the model's input size and normalise with its mean/std."""
    cfg = getattr(visual, "preprocess_cfg", None) or {}
    mean = torch.tensor(cfg.get("mean", OPENAI_CLIP_MEAN), dtype=images01.dtype, device=images01.device)
    std = torch.tensor(cfg.get("std", OPENAI_CLIP_STD), dtype=images01.dtype, device=images01.device)
    size = clip_input_size(visual)
    if tuple(images01.shape[-2:]) != size:
        images01 = F.interpolate(images01, size=size, mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)
    return (images01 - mean[:, None, None]) / std[:, None, None]


def embed_patches(visual: nn.Module, pixels: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
    """conv1 → flatten → prepend class token → add positional embeddings → ln_pre: (B, 1 + L, D) and the grid."""
    patches = visual.conv1(pixels)
    grid = (patches.shape[-2], patches.shape[-1])
    tokens = patches.flatten(2).transpose(1, 2)
    cls = visual.class_embedding.to(tokens.dtype).view(1, 1, -1).expand(tokens.shape[0], 1, -1)
    tokens = torch.cat([cls, tokens], dim=1)
    if visual.positional_embedding.shape[0] != tokens.shape[1]:
        raise ConfigError(f"CLIP input grid {grid} does not match the positional embedding "
                          f"({visual.positional_embedding.shape[0] - 1} patches); "
                          f"resize inputs to {clip_input_size(visual)}")
    return visual.ln_pre(tokens + visual.positional_embedding.to(tokens.dtype)), grid


def project_class_token(visual: nn.Module, sequences: torch.Tensor) -> torch.Tensor:
    """The class token of each sequence through ``ln_post`` and the projection: the image (or window) embedding."""
    return visual.ln_post(sequences[:, 0]) @ visual.proj


@torch.no_grad()
def dense_clip_forward(visual: nn.Module, images01: torch.Tensor) -> DenseClipOutput:
    """One full ViT pass on images in [0, 1] (resized and normalised here)."""
    check_plain_vit(visual)
    embedded, grid = embed_patches(visual, to_clip_input(images01, visual))
    out = visual.transformer(embedded)
    return DenseClipOutput(image_embedding=project_class_token(visual, out), patch_tokens=out[:, 1:],
                           patch_embeddings=visual.ln_post(out[:, 1:]) @ visual.proj, embedded=embedded, grid=grid)


def window_patch_indices(grid: tuple[int, int], window: int, device: torch.device | None = None) -> torch.Tensor:
    """(n_windows, window²) patch indices (row-major) of every window×window block at stride 1, row-major order
    (the column order of ``F.unfold`` on an index board, as WinCLIP builds its masks)."""
    height, width = grid
    if window > min(height, width) or window < 1:
        raise ConfigError(f"window size {window} does not fit the {height}x{width} patch grid")
    board = torch.arange(height * width, device=device).reshape(height, width)
    return board.unfold(0, window, 1).unfold(1, window, 1).reshape(-1, window * window)


@torch.no_grad()
def window_embeddings(visual: nn.Module, embedded: torch.Tensor, windows: torch.Tensor,
                      max_sequences: int = 2048) -> torch.Tensor:
    """(B, n_windows, E): class token + each window's tokens through the transformer, ln_post, proj.

    ``embedded`` is the output of :func:`embed_patches`; ln_pre is per token, so selecting after it is the same as
    selecting before it (as the reference code does).
    """
    batch, num_windows = embedded.shape[0], windows.shape[0]
    with_cls = torch.cat([torch.zeros(num_windows, 1, dtype=torch.long, device=windows.device), windows + 1], dim=1)
    sequences = embedded[:, with_cls.to(embedded.device)].reshape(batch * num_windows, with_cls.shape[1], -1)
    outputs = [project_class_token(visual, visual.transformer(chunk)) for chunk in sequences.split(max_sequences)]
    return torch.cat(outputs).reshape(batch, num_windows, -1)


def harmonic_aggregation(window_scores: torch.Tensor, windows: torch.Tensor, num_patches: int) -> torch.Tensor:
    """(B, L): each patch gets n / Σ 1/s over the n windows containing it (float64, inf/nan → 0 as WinCLIP)."""
    scores = window_scores.double()
    batch = scores.shape[0]
    flat_index = windows.reshape(-1).to(scores.device)
    inverse = (1.0 / scores)[:, :, None].expand(-1, -1, windows.shape[1]).reshape(batch, -1)
    inverse_sum = torch.zeros(batch, num_patches, dtype=torch.float64, device=scores.device)
    inverse_sum.index_add_(1, flat_index, inverse)
    counts = torch.bincount(flat_index, minlength=num_patches).to(torch.float64)
    return torch.nan_to_num(counts / inverse_sum, nan=0.0, posinf=0.0, neginf=0.0)


def association_scores(queries: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
    """WinCLIP+ visual association: ½·min over memory rows of (1 − cos); queries (B, N, D), memory (M, D) → (B, N)."""
    similarity = F.normalize(queries.float(), dim=-1) @ F.normalize(memory.float(), dim=-1).T
    return 0.5 * (1.0 - similarity).amin(dim=-1)


def upsample_grid_maps(grid_maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, h, w) grid scores → (B, H, W) float32, bilinear (align_corners=False)."""
    return F.interpolate(grid_maps[:, None].float(), size=size, mode="bilinear", align_corners=False)[:, 0]
