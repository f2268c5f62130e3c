"""open_clip models for CLIP / WinCLIP / MetaUAS+CLIP, with the same offline weight resolution as backbones.

``clip-tiny`` is our own small open_clip config (ViT 6×192, patch 16, 240 px; text 4×128; embed 128),
built by open_clip's own code for the embedded tier. No weights exist for it, so it is random unless
a file is named.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from uasbench.backbones.weights import WeightChoice, resolve_weights, warn_random
from uasbench.errors import CheckpointError, ConfigError

DEFAULT_CLIP = "ViT-B-16-plus-240"
DEFAULT_CLIP_TAG = "laion400m_e31"
TINY_CLIP = "clip-tiny"
CLIP_MODELS = (DEFAULT_CLIP, TINY_CLIP)
# the `uasbench fetch` name of each CLIP model's weights (clip-tiny has none: it is random by design)
CLIP_FETCH = {DEFAULT_CLIP: "clip-vit-b-16-plus-240"}
_TINY_CONFIG = Path(__file__).with_name("clip_configs") / f"{TINY_CLIP}.json"
# open_clip's own download folder for URL-hosted weights (download_pretrained_from_url's default)
OPEN_CLIP_URL_CACHE = Path("~/.cache/clip")
# file names open_clip's HF repos use (open_clip HF_WEIGHTS_NAME and its safetensors twin)
OPEN_CLIP_HF_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


def _open_clip():
    import open_clip

    if TINY_CLIP not in open_clip.list_models():
        open_clip.add_model_config(_TINY_CONFIG)
    return open_clip


def is_clip_model(name: str) -> bool:
    """Whether open_clip can build ``name``: how a CLIP model name is told from a typo before weights are resolved."""
    return name in _open_clip().list_models()


def _tag_config(name: str, pretrained_tag: str | None) -> dict[str, Any]:
    """open_clip's pretrained cfg for (name, tag); {} for clip-tiny or no tag; unknown tags are ConfigErrors."""
    open_clip = _open_clip()
    if not is_clip_model(name):
        raise ConfigError(f"unknown CLIP model {name!r}; e.g. {', '.join(CLIP_MODELS)}")
    if name == TINY_CLIP or not pretrained_tag:
        return {}
    cfg = open_clip.get_pretrained_cfg(name, pretrained_tag)
    if not cfg:
        known = open_clip.list_pretrained_tags_by_model(name)
        raise ConfigError(f"CLIP model {name!r} has no pretrained tag {pretrained_tag!r}; known tags: {known}")
    return dict(cfg)


def resolve_clip_weights(name: str = DEFAULT_CLIP, pretrained_tag: str | None = DEFAULT_CLIP_TAG,
                         weights: str | os.PathLike | None = None, pretrained: bool = True) -> WeightChoice:
    """Config file → HF hub cache / open_clip URL cache (offline look-ups) → random."""
    cfg = _tag_config(name, pretrained_tag)
    hf_repos: tuple[str, ...] = ()
    hf_files = OPEN_CLIP_HF_FILES
    if cfg.get("hf_hub"):
        # open_clip's form: "org/repo/filename", or "org/repo/" for its default file names
        repo_id, filename = os.path.split(str(cfg["hf_hub"]))
        hf_repos = (repo_id,)
        if filename:
            hf_files = (str(Path(filename).with_suffix(".safetensors")), filename)
    hub_files = (os.path.basename(str(cfg["url"])),) if cfg.get("url") else ()
    return resolve_weights(f"CLIP {name!r}", weights, pretrained, hub_files=hub_files, hf_repos=hf_repos,
                           extra_hub_dirs=(OPEN_CLIP_URL_CACHE.expanduser(),), hf_files=hf_files)


def create_clip(name: str = DEFAULT_CLIP, pretrained_tag: str | None = DEFAULT_CLIP_TAG,
                weights: str | os.PathLike | None = None, pretrained: bool = True,
                ) -> tuple[nn.Module, Callable[..., torch.Tensor], dict[str, Any], str]:
    """Frozen open_clip model → ``(model, tokenizer, preprocess_cfg, weight_source)``; never downloads.

    ``preprocess_cfg`` has ``size``, ``mean``, ``std``, ``interpolation``, ``resize_mode`` (those of the tag).
    """
    open_clip = _open_clip()
    cfg = _tag_config(name, pretrained_tag)
    choice = resolve_clip_weights(name, pretrained_tag, weights, pretrained)
    force_preprocess = {k: cfg[k] for k in ("mean", "std", "interpolation", "resize_mode") if k in cfg}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        try:
            model = open_clip.create_model(name, pretrained=None if choice.path is None else str(choice.path),
                                           force_preprocess_cfg=force_preprocess or None)
        except Exception as err:  # noqa: BLE001 - open_clip raises RuntimeError/UnpicklingError/KeyError for bad files
            if choice.path is None:
                raise
            raise CheckpointError(f"CLIP {name!r}: weights file {str(choice.path)!r} cannot be loaded: {err}") from err
    if choice.path is None:
        warn_random(f"CLIP {name!r}", pretrained, choice, CLIP_FETCH.get(name))
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    tokenizer = open_clip.get_tokenizer(name)
    preprocess_cfg = dict(open_clip.get_model_preprocess_cfg(model))
    return model, tokenizer, preprocess_cfg, choice.source
