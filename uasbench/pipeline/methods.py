"""Build the method a configured run names: fresh from the registry, or from a trained checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from uasbench.errors import CheckpointError, ConfigError
from uasbench.methods import create


def model_dir(config: dict, model_name: str) -> Path:
    return Path(config["results_dir"]) / "models" / model_name


def build_run_method(config: dict, run: dict, device: torch.device) -> tuple[Any, dict[str, Any]]:
    """Returns the method and what every result records about it (weight source, parameter counts, checkpoint)."""
    info: dict[str, Any] = {}
    if "model" in run:  # a run's options override inference-only settings (e.g. OneNIP's normalizer)
        method = load_trained_method(config, run["model"], device, overrides=run.get("options"))
        info["checkpoint"] = str(model_dir(config, run["model"]) / "model.pt")
    else:
        method = create(run["method"], **run.get("options", {}))
    method.to(device)
    info["weight_source"] = getattr(method, "weight_source", "random")
    info["params"] = method.parameter_counts()
    return method, info


def method_kwargs(entry: dict) -> dict[str, Any]:
    """Constructor arguments of a trainable method from its training entry."""
    kwargs = dict(entry.get("options", {}))
    keys = ("backbone", "backbone_weights") + (("image_size",) if entry["method"] in ("onenip", "uniad") else ())
    for key in keys:
        if entry.get(key) is not None:
            kwargs[key] = entry[key]
    return kwargs


def load_trained_method(config: dict, model_name: str, device: torch.device, overrides: dict | None = None):
    entry = config["training"][model_name]
    path = model_dir(config, model_name) / "model.pt"
    if not path.is_file():
        raise CheckpointError(f"{path}: trained model not found; run 'uasbench train {model_name}' first")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(f"{path}: cannot load ({type(err).__name__}: {err})") from err
    if not isinstance(state, dict) or "state_dict" not in state or "method" not in state:
        raise CheckpointError(f"{path}: not a uasbench model file (expected a dict with 'method' and 'state_dict')")
    if state["method"] != entry["method"]:
        raise CheckpointError(f"{path}: holds a {state['method']!r} model, config expects {entry['method']!r}")
    # the file carries the encoder weights too, so no pretrained weights need resolving
    method = create(entry["method"], **{**method_kwargs(entry), **(overrides or {}), "pretrained_backbone": False})
    missing, unexpected = method.model.load_state_dict(state["state_dict"], strict=False)
    if missing or unexpected:
        raise CheckpointError(f"{path}: keys do not match the {entry['method']} model "
                              f"(missing: {missing[:5]}, unexpected: {unexpected[:5]})")
    method.weight_source = state.get("weight_source", "unknown")
    return method.to(device)


@torch.no_grad()
def global_features(method, images: torch.Tensor, device: torch.device, batch_size: int = 32) -> np.ndarray:
    """Globally average-pooled last-stage encoder features (MetaUAS's best-match descriptor)."""
    encode = getattr(method.model, "encode", None)
    if encode is None:
        raise ConfigError(f"method {method.name!r} has no encoder for best-match prompts")
    feats = [encode(images[i:i + batch_size].to(device))[-1].mean(dim=(2, 3)).cpu() for i in range(0, len(images), batch_size)]
    return torch.cat(feats).numpy()


_CLIP_CACHE: dict[tuple, Any] = {}


def clip_prior_model(spec: dict, device: torch.device):
    """(CLIP model, its weight source) for MetaUAS*+'s visual prior; built once per process."""
    from uasbench.backbones import create_clip

    key = (spec["clip_model"], spec.get("clip_weights"), str(device))
    if key not in _CLIP_CACHE:
        model, _tokenizer, _preprocess, source = create_clip(spec["clip_model"], weights=spec.get("clip_weights"))
        _CLIP_CACHE[key] = (model.to(device).eval(), source)
    return _CLIP_CACHE[key]
