"""Plain CLIP zero-shot baseline (MetaUAS Table 1 "CLIP"), and the CLIP loading/text-prototype glue WinCLIP shares.

MetaUAS appendix: prompts "a photo of a normal [cls]" / "a photo of an anomalous [cls]"; the image score compares the
global (class-token) embedding with both text embeddings, the map does the same with the projected patch tokens.
MetaUAS published no code for it; the score is softmax(cos / T)[anomalous] as in WinCLIP (T = 0.07). With two
classes this is a monotone function of the cosine difference, so T does not change any rank-based metric.
"""

from __future__ import annotations

from typing import Callable

import torch

from uasbench.datasets.preprocessing import Preprocessing
from uasbench.methods.base import Method, WeightParameters
from uasbench.methods.catalog import DEFAULT_CLIP, DEFAULT_CLIP_TAG
from uasbench.methods.clip.prompts import anomaly_probability, baseline_prompts, check_class_name, text_prototypes
from uasbench.methods.clip.windows import dense_clip_forward, upsample_grid_maps
from uasbench.methods.memory import check_image_batch
from uasbench.methods.registry import register_method


class ClipPromptMethod(Method):
    """Holds an open_clip model (``self.model``, both towers — parameter counts include the text tower) and caches
    one pair of text prototypes per category."""

    shots = 0
    weight_parameters = WeightParameters("clip", "model_name", "weights", "pretrained", tag="pretrained_tag")
    temperature: float = 0.07
    #: open_clip's image transform: torchvision ``Resize`` on a PIL image with BICUBIC (antialiased when shrinking)
    preprocessing = Preprocessing(resample="pil-bicubic")

    def __init__(self, model_name: str = DEFAULT_CLIP, pretrained_tag: str | None = DEFAULT_CLIP_TAG,
                 weights: str | None = None, pretrained: bool = True, temperature: float = 0.07) -> None:
        from uasbench.backbones import create_clip

        model, tokenizer, _preprocess_cfg, weight_source = create_clip(model_name, pretrained_tag=pretrained_tag,
                                                                       weights=weights, pretrained=pretrained)
        self.model = model.eval()
        self.tokenizer: Callable[[list[str]], torch.Tensor] = tokenizer
        self.weight_source = weight_source
        self.model_name = model_name
        self.temperature = temperature
        self._prototypes: dict[str, torch.Tensor] = {}

    def prompts(self, class_name: str) -> tuple[list[str], list[str]]:
        raise NotImplementedError

    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def prototypes(self, category: str | None) -> torch.Tensor:
        """(2, E) text prototypes of ``category`` (normal, anomalous), computed once per category and device."""
        name = check_class_name(category, self.name)
        cached = self._prototypes.get(name)
        if cached is None or cached.device != self.device():
            cached = text_prototypes(self.model, self.tokenizer, *self.prompts(name))
            self._prototypes[name] = cached
        return cached

    def to(self, device: torch.device | str) -> "ClipPromptMethod":
        super().to(device)
        self._prototypes.clear()
        return self


@register_method("clip")
class ClipZeroShot(ClipPromptMethod):
    """Two-prompt CLIP: image score from the class token, map from the projected patch tokens."""

    def prompts(self, class_name: str) -> tuple[list[str], list[str]]:
        return baseline_prompts(class_name)

    @torch.no_grad()
    def predict(self, query: torch.Tensor, prompt: torch.Tensor | None = None,
                category: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        query = check_image_batch(query, "clip query")
        prototypes = self.prototypes(category)
        dense = dense_clip_forward(self.model.visual, query.to(self.device()))
        image_scores = anomaly_probability(dense.image_embedding, prototypes, self.temperature)
        patch_scores = anomaly_probability(dense.patch_embeddings, prototypes, self.temperature)
        grid_maps = patch_scores.reshape(len(query), *dense.grid)
        return upsample_grid_maps(grid_maps, tuple(query.shape[-2:])).cpu(), image_scores.float().cpu()
