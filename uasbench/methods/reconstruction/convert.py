"""Official UniAD / OneNIP checkpoints ↔ uasbench state dicts.

Both official trainers save ``{"state_dict": DDP(ModelHelper).state_dict()}`` (``ckpt.pkl``/``ckpt.pth.tar``), so
every key starts with ``module.`` and then names a ModelHelper child [UniAD/OneNIP models/model_helper.py,
tools/train_val.py]: ``backbone.<lukemelas EfficientNet-b4 key, _fc included>``, nothing for the parameter-free
MFCN ``neck``, and ``reconstruction.<...>`` [models/reconstructions/{uniad,onenip}.py]:

* ``pos_embed.{row,col}_embed.weight``, ``input_proj.*``, ``output_proj.*``
* ``transformer.encoder.layers.N.{self_attn,linear1,linear2,norm1,norm2}.*``
* UniAD: ``transformer.decoder.layers.N.{learned_embed,self_attn,multihead_attn,linear1,linear2,norm1..3}.*``
* OneNIP: ``transformer.decoder.layers.N.{cross_attn_prompt_to_image,cross_attn_image_to_prompt,mlp.lin1,mlp.lin2,
  norm1..3}.*``, ``transformer.decoder.final_attn_token_to_image.*``; ``seghead.{upconv1,upconv2,predictor}.*``
* ``transformer.decoder.norm.*``
"""

from __future__ import annotations

import os
import re
from typing import Mapping

import torch
from torch import nn

from uasbench.errors import CheckpointError, UasbenchError
from uasbench.io import save_torch
from uasbench.methods.metauas.convert import read_state_dict
from uasbench.methods.state_dicts import check_state_dict, listed

_R = "reconstruction."
_ENC = _R + "transformer.encoder.layers.{}."
_DEC = _R + "transformer.decoder.layers.{}."
#: (official key prefix after ``module.``, uasbench prefix); ``{}`` is a layer index; first match wins
COMMON_RULES: tuple[tuple[str, str], ...] = (
    ("backbone.", "backbone."),
    (_R + "pos_embed.", "position."),
    (_R + "input_proj.", "input_proj."),
    (_R + "output_proj.", "output_proj."),
    (_ENC + "linear1.", "encoder.layers.{}.ffn.linear1."),
    (_ENC + "linear2.", "encoder.layers.{}.ffn.linear2."),
    (_ENC, "encoder.layers.{}."),
    (_R + "transformer.decoder.norm.", "decoder.norm."),
)
UNIAD_RULES = COMMON_RULES + (
    (_DEC + "self_attn.", "decoder.layers.{}.attn_to_encoder."),
    (_DEC + "multihead_attn.", "decoder.layers.{}.attn_to_previous."),
    (_DEC + "linear1.", "decoder.layers.{}.ffn.linear1."),
    (_DEC + "linear2.", "decoder.layers.{}.ffn.linear2."),
    (_DEC, "decoder.layers.{}."),
)
ONENIP_RULES = COMMON_RULES + (
    (_DEC, "decoder.layers.{}."),
    (_R + "transformer.decoder.final_attn_token_to_image.", "decoder.final_attn_token_to_image."),
    (_R + "seghead.", "refiner."),
)
RULES = {"uniad": UNIAD_RULES, "onenip": ONENIP_RULES}
DDP_PREFIX = "module."


def translate_key(key: str, rules: tuple[tuple[str, str], ...], to_uasbench: bool) -> str | None:
    """Rename one key (without ``module.``) official → uasbench, or back; None when no rule covers it."""
    for official, ours in rules:
        source, target = (official, ours) if to_uasbench else (ours, official)
        match = re.compile(re.escape(source).replace(re.escape("{}"), r"(\d+)")).match(key)
        if match:
            return target.format(*match.groups()) + key[match.end():]
    return None


def strip_ddp_prefix(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop the DistributedDataParallel ``module.`` prefix when every key has it."""
    if state and all(k.startswith(DDP_PREFIX) for k in state):
        return {k[len(DDP_PREFIX):]: v for k, v in state.items()}
    return dict(state)


def official_to_uasbench(official: Mapping[str, torch.Tensor], method: str, model: nn.Module,
                         source: str = "official checkpoint") -> dict[str, torch.Tensor]:
    """Rename an official ``method`` ("uniad" | "onenip") state dict for ``model`` and check it fits exactly."""
    state = strip_ddp_prefix(official)
    renamed, unknown = {}, []
    for key, value in state.items():
        new_key = translate_key(key, RULES[method], to_uasbench=True)
        if new_key is None:
            unknown.append(key)
        else:
            renamed[new_key] = value
    if unknown:
        raise CheckpointError(f"{source} is not an official {method} checkpoint: {len(unknown)} of {len(state)} "
                              f"keys match no {method} module: {listed(unknown)}")
    if "train_rec_range" in model.state_dict():  # ours only: the non-transductive normaliser, not yet measured
        renamed.setdefault("train_rec_range", torch.tensor([float("inf"), float("-inf")]))
    try:
        check_state_dict(renamed, model, source)
    except CheckpointError as err:  # name the missing keys as the official file spells them
        missing = set(uasbench_to_official(model.state_dict(), method)) - {DDP_PREFIX + k for k in state}
        raise CheckpointError(f"{err}" + (f" (official names of the missing keys: {listed(missing)})"
                                          if missing else "")) from None
    return renamed


def uasbench_to_official(state: Mapping[str, torch.Tensor], method: str) -> dict[str, torch.Tensor]:
    """The inverse map (with ``module.``), for export and tests; our normaliser buffer has no counterpart."""
    out = {}
    for key, value in state.items():
        if key == "train_rec_range":
            continue
        official = translate_key(key, RULES[method], to_uasbench=False)
        if official is None:
            raise CheckpointError(f"key {key!r} of the uasbench {method} model has no official counterpart")
        out[DDP_PREFIX + official] = value
    return out


def official_layout(state: Mapping[str, torch.Tensor]) -> dict[str, int]:
    """Image size and depths read off an official state dict (row table = feature size = image size / 16)."""
    state = strip_ddp_prefix(state)
    key = _R + "pos_embed.row_embed.weight"
    if key not in state:
        raise CheckpointError(f"not an official UniAD/OneNIP checkpoint: no {key!r} (keys start with "
                              f"{listed({k.split('.')[0] for k in state})})")

    def depth(prefix: str) -> int:
        found = {int(m.group(1)) for k in state if (m := re.match(re.escape(prefix) + r"(\d+)\.", k))}
        return max(found) + 1 if found else 0

    return {"image_size": 16 * int(state[key].shape[0]), "encoder_layers": depth(_R + "transformer.encoder.layers."),
            "decoder_layers": depth(_R + "transformer.decoder.layers.")}


def load_checkpoint(model: nn.Module, path: str | os.PathLike) -> None:
    """Load a uasbench state dict (e.g. from ``uasbench convert onenip-official``) strictly into ``model``."""
    state = read_state_dict(path)
    check_state_dict(state, model, f"checkpoint {path}")
    model.load_state_dict(state, strict=True)


def convert_official_checkpoint(method: str, in_path: str | os.PathLike, out_path: str | os.PathLike
                                ) -> dict[str, int]:
    """Convert an official UniAD/OneNIP checkpoint (efficientnet_b4) and write it atomically; the result is loaded
    into a fresh model first, so a written file always loads. Returns the layout and tensor/parameter counts."""
    from uasbench.backbones.weights import quiet_random_weights
    from uasbench.methods import create

    official = read_state_dict(in_path)
    try:
        layout = official_layout(official)
    except CheckpointError as err:
        raise CheckpointError(f"checkpoint {in_path}: {err}") from None
    try:
        with quiet_random_weights():  # the converted weights replace the random ones before anything is computed
            built = create(method, pretrained_backbone=False, **layout)
    except (UasbenchError, ValueError, RuntimeError) as err:  # e.g. a zero-row position table
        raise CheckpointError(f"checkpoint {in_path}: its layout {layout} builds no {method} model ({err})") from err
    state = official_to_uasbench(official, method, built.model, source=f"checkpoint {in_path}")
    built.model.load_state_dict(state, strict=True)
    save_torch(out_path, built.model.state_dict())
    return {**layout, "tensors": len(state), "parameters": sum(p.numel() for p in built.model.parameters())}
