"""Official MetaUAS checkpoints (``metauas-256.ckpt`` / ``metauas-512.ckpt``) ↔ uasbench state dicts.

The official file is a plain state dict of the whole ``MetaUAS`` LightningModule (loaded ``strict=True``), encoder
included. Its key names come from the official module tree [gaobb/MetaUAS metauas.py; smp fork @0092ee4]:

* ``encoder.<lukemelas EfficientNet key>`` (``_conv_stem``, ``_bn0``, ``_blocks.N.…``, ``_conv_head``, ``_bn1``;
  no ``_fc``)
* ``alignment.I.alignment_layer.dimensionality_reduction.{weight,bias}``
* ``decoder.blocks.N.conv{1,2}.{0,1}.…`` (conv, BN) and ``decoder.blocks.N.attention{1,2}.attention.{cSE,sSE}.M.…``
* ``mask_head.{weight,bias}``

Every rule maps a key prefix one-to-one and keeps the rest of the key, so the map runs both ways.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Mapping

import torch
from torch import nn

from uasbench.errors import CheckpointError
from uasbench.io import save_torch
from uasbench.methods.state_dicts import OFFICIAL_SAFE_GLOBALS, listed
from uasbench.methods.state_dicts import check_state_dict as check_keys
from uasbench.training.checkpoint import check_finite_weights

#: (official prefix, uasbench prefix); ``{}`` is a block/layer index, ``{encoder}`` the encoder's inner prefix
PREFIX_RULES: tuple[tuple[str, str], ...] = (
    ("encoder.", "encoder.{encoder}"),
    ("alignment.{}.alignment_layer.dimensionality_reduction.", "alignment.{}.reduce."),
    ("decoder.blocks.{}.attention1.attention.cSE.", "decoder.blocks.{}.attention_in.channel_gate."),
    ("decoder.blocks.{}.attention1.attention.sSE.", "decoder.blocks.{}.attention_in.spatial_gate."),
    ("decoder.blocks.{}.attention2.attention.cSE.", "decoder.blocks.{}.attention_out.channel_gate."),
    ("decoder.blocks.{}.attention2.attention.sSE.", "decoder.blocks.{}.attention_out.spatial_gate."),
    ("decoder.blocks.{}.conv1.", "decoder.blocks.{}.conv1."),
    ("decoder.blocks.{}.conv2.", "decoder.blocks.{}.conv2."),
    ("mask_head.", "head."),
)
#: a key of the lukemelas EfficientNet that locates it inside our encoder module
_ANCHOR_KEY = "_conv_stem.weight"


def encoder_prefix(model: nn.Module) -> str:
    """Where the lukemelas-layout EfficientNet sits inside ``model.encoder`` (e.g. ``"net."`` or ``""``)."""
    matches = [k for k in model.encoder.state_dict() if k == _ANCHOR_KEY or k.endswith("." + _ANCHOR_KEY)]
    if len(matches) != 1:
        raise CheckpointError(f"the model's encoder has no unique lukemelas-EfficientNet layout (found "
                              f"{len(matches)} keys ending in {_ANCHOR_KEY!r}); official checkpoints need the "
                              f"'efficientnet_b4' backbone")
    return matches[0][: -len(_ANCHOR_KEY)]


def _template_regex(template: str) -> re.Pattern[str]:
    return re.compile(re.escape(template).replace(re.escape("{}"), r"(\d+)"))


def translate_key(key: str, to_uasbench: bool, encoder_inner: str) -> str | None:
    """Rename one key official → uasbench (or back); ``None`` when no rule covers it."""
    for official, ours in PREFIX_RULES:
        source, target = (official, ours) if to_uasbench else (ours, official)
        source = source.replace("{encoder}", encoder_inner)
        target = target.replace("{encoder}", encoder_inner)
        match = _template_regex(source).match(key)
        if match:
            return target.format(*match.groups()) + key[match.end():]
    return None


def check_state_dict(state: Mapping[str, torch.Tensor], model: nn.Module, source: str) -> None:
    """Raise CheckpointError naming missing, unexpected and wrongly shaped keys of ``state`` for ``model``."""
    check_keys(state, model, source, what="MetaUAS model")


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A tensor state dict from ``path`` via ``torch.load(weights_only=True)`` (no arbitrary pickles).

    A Lightning checkpoint (``{"state_dict": …}``) is unwrapped (its other entries, e.g. the official UniAD
    saver's ``arch`` EasyDict, epoch and optimizer state, are dropped); anything else must map str → Tensor.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        with torch.serialization.safe_globals(OFFICIAL_SAFE_GLOBALS):  # official UniAD files pickle an EasyDict
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError, RuntimeError, EOFError … for bad files
        raise CheckpointError(f"cannot read checkpoint {path} safely (weights_only=True): {err}") from err
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not obj:
        raise CheckpointError(f"checkpoint {path} is not a state dict (got {type(obj).__name__})")
    bad = [str(k) for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"checkpoint {path} is not a tensor state dict: non-tensor entries {listed(bad)}")
    check_finite_weights(dict(obj), f"checkpoint {path}")
    return dict(obj)


def official_to_uasbench(official: Mapping[str, torch.Tensor], model: nn.Module,
                         source: str = "official checkpoint") -> dict[str, torch.Tensor]:
    """Rename an official state dict for ``model`` and check it fits exactly (names and shapes)."""
    inner = encoder_prefix(model)
    renamed: dict[str, torch.Tensor] = {}
    unknown = []
    for key, value in official.items():
        new_key = translate_key(key, to_uasbench=True, encoder_inner=inner)
        if new_key is None:
            unknown.append(key)
        else:
            renamed[new_key] = value
    # Encoder entries outside the EfficientNet itself (e.g. normalisation buffers of our wrapper) are constants.
    for key, value in model.state_dict().items():
        if key.startswith("encoder.") and not key.startswith("encoder." + inner):
            renamed.setdefault(key, value)
    if unknown:
        raise CheckpointError(f"{source} is not an official MetaUAS checkpoint: {len(unknown)} of "
                              f"{len(official)} keys match no MetaUAS module: {listed(unknown)}")
    try:
        check_state_dict(renamed, model, source)
    except CheckpointError as err:  # name the keys as the official file spells them
        expected = set(uasbench_to_official(model.state_dict(), model))
        missing = expected - official.keys()
        raise CheckpointError(f"{err}" + (f" (official names of the missing keys: {listed(missing)})"
                                          if missing else "")) from None
    return renamed


def uasbench_to_official(state: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """The inverse map: a uasbench MetaUAS state dict in the official key layout (for export and tests)."""
    inner = encoder_prefix(model)
    out = {}
    for key, value in state.items():
        if key.startswith("encoder.") and not key.startswith("encoder." + inner):
            continue  # constants of our encoder wrapper, absent from the official module
        official_key = translate_key(key, to_uasbench=False, encoder_inner=inner)
        if official_key is None:
            raise CheckpointError(f"key {key!r} of the uasbench model has no official counterpart")
        out[official_key] = value
    return out


def load_checkpoint(model: nn.Module, path: str | os.PathLike) -> None:
    """Load a uasbench MetaUAS state dict (e.g. written by ``uasbench convert metauas-official``), strictly."""
    state = read_state_dict(path)
    check_state_dict(state, model, f"checkpoint {path}")
    model.load_state_dict(state, strict=True)


def convert_official_checkpoint(in_path: str | os.PathLike, out_path: str | os.PathLike) -> dict[str, int]:
    """Convert an official checkpoint (official config: b4, soft, cat, unet, 3 FAM layers) to ``out_path``.

    Loads the result into a fresh model before writing, so a written file always loads; written atomically.
    Returns counts for the report: number of tensors and parameters.
    """
    from uasbench.backbones import create_backbone
    from uasbench.backbones.weights import quiet_random_weights
    from uasbench.methods.metauas.torch_model import MetaUASModel

    official = read_state_dict(in_path)
    with quiet_random_weights():  # the converted weights replace the random ones before anything is computed
        model = MetaUASModel(create_backbone("efficientnet_b4", taps="metauas", pretrained=False))
    state = official_to_uasbench(official, model, source=f"checkpoint {in_path}")
    model.load_state_dict(state, strict=True)
    save_torch(out_path, model.state_dict())
    counts = {"tensors": len(state), "parameters": sum(p.numel() for p in model.parameters())}
    return counts
