"""Text prompts of the CLIP baselines and their text prototypes.

WinCLIP's compositional prompt ensemble as zqhang/Accurate-WinCLIP-pytorch (``prompt_order``) and anomalib's
``prompting.py`` list it: 7 normal and 4 anomalous states, each put into the same 21 templates — the
"a jpeg corrupted photo of the {}." template appears twice in both references and is kept twice here, so a class
gets 147 normal and 84 anomalous prompts. The class name is inserted verbatim (as the reference passes folder names).
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from uasbench.errors import ConfigError

NORMAL_STATES: tuple[str, ...] = (
    "{}",
    "flawless {}",
    "perfect {}",
    "unblemished {}",
    "{} without flaw",
    "{} without defect",
    "{} without damage",
)
ANOMALOUS_STATES: tuple[str, ...] = (
    "damaged {}",
    "{} with flaw",
    "{} with defect",
    "{} with damage",
)
TEMPLATES: tuple[str, ...] = (
    "a cropped photo of the {}.",
    "a close-up photo of a {}.",
    "a close-up photo of the {}.",
    "a bright photo of a {}.",
    "a bright photo of the {}.",
    "a dark photo of the {}.",
    "a dark photo of a {}.",
    "a jpeg corrupted photo of the {}.",
    "a jpeg corrupted photo of the {}.",  # duplicated in both reference implementations; kept for equal weighting
    "a blurry photo of the {}.",
    "a blurry photo of a {}.",
    "a photo of a {}.",
    "a photo of the {}.",
    "a photo of a small {}.",
    "a photo of the small {}.",
    "a photo of a large {}.",
    "a photo of the large {}.",
    "a photo of the {} for visual inspection.",
    "a photo of a {} for visual inspection.",
    "a photo of the {} for anomaly detection.",
    "a photo of a {} for anomaly detection.",
)
#: the plain CLIP zero-shot baseline (MetaUAS appendix): one prompt per state
CLIP_BASELINE_PROMPTS: tuple[str, str] = ("a photo of a normal {}", "a photo of an anomalous {}")


def check_class_name(class_name: str | None, method: str) -> str:
    """The category name the text prompts are built from; a missing one is a ConfigError naming the method."""
    if not class_name or not str(class_name).strip():
        raise ConfigError(f"{method}: needs the category name for its text prompts, got {class_name!r}")
    return str(class_name)


def compositional_prompts(class_name: str) -> tuple[list[str], list[str]]:
    """(normal, anomalous) WinCLIP prompts, state-major then template (the reference order)."""
    def expand(states: Sequence[str]) -> list[str]:
        return [template.format(state.format(class_name)) for state in states for template in TEMPLATES]
    return expand(NORMAL_STATES), expand(ANOMALOUS_STATES)


def baseline_prompts(class_name: str) -> tuple[list[str], list[str]]:
    """(normal, anomalous) prompts of the plain CLIP baseline: one sentence per state."""
    normal, anomalous = CLIP_BASELINE_PROMPTS
    return [normal.format(class_name)], [anomalous.format(class_name)]


@torch.no_grad()
def text_prototypes(clip_model: nn.Module, tokenizer: Callable[[list[str]], torch.Tensor],
                    normal: list[str], anomalous: list[str]) -> torch.Tensor:
    """(2, E): mean of the un-normalised text embeddings of each prompt set (normal row 0, anomalous row 1),
    as the reference code averages them; cosine scoring normalises later."""
    device = next(clip_model.parameters()).device
    tokens = tokenizer(normal + anomalous).to(device)
    embeddings = clip_model.encode_text(tokens).float()
    return torch.stack([embeddings[:len(normal)].mean(0), embeddings[len(normal):].mean(0)])


def anomaly_probability(embeddings: torch.Tensor, prototypes: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax over (normal, anomalous) of cos/temperature, anomalous entry; embeddings (..., E) → (...)."""
    embeddings = torch.nn.functional.normalize(embeddings.float(), dim=-1)
    prototypes = torch.nn.functional.normalize(prototypes.float(), dim=-1)
    return ((embeddings @ prototypes.T) / temperature).softmax(dim=-1)[..., 1]
