"""MetaUAS*+'s CLIP visual prior: a run's ``clip_prior`` fuses WinCLIP+'s few-shot map into another method's maps.

The prior of each query is WinCLIP+'s visual (few-shot) map against the query's own prompt (patch, 2×2 and 3×3
window associations, averaged), computed by the WinCLIP+ code; the fused map is (1 − w)·map + w·prior.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from uasbench.errors import ConfigError

_CACHE: dict[tuple, Any] = {}


def clip_prior_model(spec: dict[str, Any], device: torch.device) -> tuple[Any, str]:
    """(WinCLIP+ method, its weight source) whose visual branch gives the prior; built once per process."""
    from uasbench.methods.registry import create

    key = (spec["clip_model"], spec.get("clip_weights"), str(device))
    if key not in _CACHE:
        method = create("winclip+", model_name=spec["clip_model"], weights=spec.get("clip_weights")).to(device)
        _CACHE[key] = (method, method.weight_source)
    return _CACHE[key]


def fuse_maps(spec: dict[str, Any], maps: np.ndarray, priors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fused maps (1 − w)·map + w·prior, their image scores = max of each fused map)."""
    w = float(spec["weight"])
    fused = (1.0 - w) * maps + w * priors
    return fused, fused.reshape(len(fused), -1).max(1)


def prior_weight_source(method_source: str, spec: dict[str, Any], device: torch.device) -> str:
    """The weight source of a method with the prior fused in, as predictions and timings record it."""
    return f"{method_source} + CLIP prior: {clip_prior_model(spec, device)[1]}"


@torch.no_grad()
def fuse_clip_prior(spec: dict[str, Any], maps: np.ndarray, queries: torch.Tensor, prompts: torch.Tensor | None,
                    device: torch.device, batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """(fused maps, their image scores = max of each fused map) for a category's queries and their prompts."""
    if prompts is None:
        raise ConfigError("clip_prior needs a prompt mode other than 'none'")
    winclip_plus, _source = clip_prior_model(spec, device)
    priors = np.concatenate([winclip_plus.visual_prior(queries[i:i + batch_size].to(device),
                                                       prompts[i:i + batch_size].to(device)).numpy()
                             for i in range(0, len(queries), batch_size)])
    return fuse_maps(spec, maps, priors)


class WithClipPrior:
    """A method and the CLIP prior fused into its maps, as one model to time and count: MetaUAS Tab 2's MetaUAS*+
    row (139.3M, 204.8 ms) includes the prior's encoder and its forward, so ``bench latency`` must too. Everything
    but ``predict``, the parameter counts and the weight source is the wrapped method's."""

    def __init__(self, method: Any, spec: dict[str, Any], device: torch.device) -> None:
        self.method, self.spec = method, spec
        self.prior = clip_prior_model(spec, device)[0]
        self.weight_source = prior_weight_source(method.weight_source, spec, device)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.method, name)

    @torch.no_grad()
    def predict(self, query: torch.Tensor, prompt: torch.Tensor | None, category: str | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """The wrapped method's maps with the prior of each query against its prompt fused in (predict's fusion)."""
        if prompt is None:
            raise ConfigError("clip_prior needs a prompt mode other than 'none'")
        maps, _scores = self.method.predict(query, prompt, category=category)
        fused, scores = fuse_maps(self.spec, maps.float().cpu().numpy(), self.prior.visual_prior(query, prompt).numpy())
        return torch.from_numpy(fused), torch.from_numpy(scores)

    def parameter_counts(self) -> dict[str, int]:
        """The method's counts plus the prior's CLIP encoder's (the two networks share no tensor)."""
        own, prior = self.method.parameter_counts(), self.prior.parameter_counts()
        return {key: own[key] + prior[key] for key in own}
