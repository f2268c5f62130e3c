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
    w = float(spec["weight"])
    fused = (1.0 - w) * maps + w * priors
    return fused, fused.reshape(len(fused), -1).max(1)
