"""Checks shared by every checkpoint converter: name each missing, unexpected or wrongly shaped key."""

from __future__ import annotations

from collections import OrderedDict
from typing import Iterable, Mapping

import torch
from torch import nn

from uasbench.errors import CheckpointError

MAX_LISTED = 8


class EasyDictStandIn:
    """Inert stand-in for ``easydict.EasyDict``, which the official UniAD saver pickles as ``"arch"`` next to the
    weights. Registered under that name for ``torch.load(weights_only=True)`` only, it unpickles as an OrderedDict
    (the one mapping type the safe unpickler both fills and gives attributes), so no code runs and the easydict
    package is never imported."""

    def __new__(cls, *args: object, **kwargs: object) -> OrderedDict:  # type: ignore[misc]
        return OrderedDict()


#: globals that official checkpoints pickle besides tensors, each mapped to an inert stand-in
OFFICIAL_SAFE_GLOBALS = [(EasyDictStandIn, "easydict.EasyDict")]


def listed(keys: Iterable[str]) -> str:
    """At most MAX_LISTED sorted keys, then how many more."""
    keys = sorted(keys)
    return ", ".join(keys[:MAX_LISTED]) + (f", … ({len(keys) - MAX_LISTED} more)" if len(keys) > MAX_LISTED else "")


def check_state_dict(state: Mapping[str, torch.Tensor], model: nn.Module, source: str, what: str = "model") -> None:
    """Raise CheckpointError naming the missing, unexpected and wrongly shaped keys of ``state`` for ``model``."""
    expected = model.state_dict()
    problems = []
    if missing := expected.keys() - state.keys():
        problems.append(f"{len(missing)} missing keys: {listed(missing)}")
    if extra := state.keys() - expected.keys():
        problems.append(f"{len(extra)} unexpected keys: {listed(extra)}")
    shapes = [f"{k} {tuple(state[k].shape)} != {tuple(expected[k].shape)}"
              for k in sorted(expected.keys() & state.keys()) if tuple(state[k].shape) != tuple(expected[k].shape)]
    if shapes:
        problems.append(f"{len(shapes)} keys with the wrong shape: {listed(shapes)}")
    if problems:
        raise CheckpointError(f"{source} does not fit this {what}: " + "; ".join(problems))
