"""Training checkpoints: what is saved after every epoch, and the checks before a run resumes from one.

A checkpoint holds model, optimizer, scheduler, the RNG states (one per rank under torchrun, ``rng`` is rank 0's)
and the settings the run was started with. A resume under other settings is refused, naming each change: it
would continue the old optimizer state while recording the new settings. Only ``spec.epochs`` may change
(extending a run, or lowering it to no fewer than the epochs done), since epoch ``i`` depends on (seed, i) alone.
How a run is executed (``workers``, ``gpus``, ``compile``) is not a setting: it changes speed, not the data or the
model (compiled kernels round differently at the level of float summation order, as another GPU would).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from uasbench.errors import CheckpointError
from uasbench.io import save_torch
from uasbench.training import EXECUTION_FIELDS  # how a run executes, not what it computes: never resume-checked

#: spec fields added after checkpoints were first written, with the value an older checkpoint implicitly used
SPEC_DEFAULTS_OF_OLD_CHECKPOINTS = {"precision": "fp32"}
MAX_NAMED = 5  # tensors named in an error, then how many more


def rng_state() -> dict[str, Any]:
    """RNG states as tensors and plain tuples, so checkpoints load with ``weights_only=True``."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"torch": torch.get_rng_state(), "numpy": (name, torch.from_numpy(keys.astype(np.int64)), int(pos),
                                                       int(has_gauss), float(cached)),
            "python": random.getstate()}


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` saved (torch CPU, numpy and Python generators)."""
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    random.setstate(state["python"])


def save_checkpoint(path: Path, model: nn.Module, optimizer, scheduler, epoch: int, history: list[dict],
                    meta: dict[str, Any], rng_by_rank: list[dict[str, Any]] | None = None) -> None:
    """Write the checkpoint atomically (a kill mid-write leaves the previous one). ``rng_by_rank``: every rank's
    RNG state under torchrun; without it this process's state is saved."""
    states = rng_by_rank or [rng_state()]
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "epoch": epoch, "rng": states[0], "history": history, "meta": meta}
    if len(states) > 1:
        state["rng_by_rank"] = states
    save_torch(path, state)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint's dict (tensors only, ``weights_only``); a broken file is a CheckpointError."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError / RuntimeError / EOFError for bad files
        raise CheckpointError(f"{path}: cannot load training checkpoint ({type(err).__name__}: {err})") from err


def check_finite_weights(state: Any, source: str, advice: str = "") -> None:
    """Refuse weights holding NaN (a diverged training, a damaged file or conversion), naming ``source`` and the
    tensors: they would give NaN anomaly maps far from the cause. Infinite values pass: a buffer may hold them as
    "not set yet" (e.g. a reconstruction range before calibration)."""
    if not isinstance(state, dict):
        return
    bad = [f"{key} ({int(torch.isnan(value).sum())} of {value.numel()} values)" for key, value in state.items()
           if isinstance(value, torch.Tensor) and value.is_floating_point() and bool(torch.isnan(value).any())]
    if bad:
        more = f", … ({len(bad) - MAX_NAMED} more)" if len(bad) > MAX_NAMED else ""
        raise CheckpointError(f"{source}: {len(bad)} weight tensors hold NaN values: "
                              f"{', '.join(bad[:MAX_NAMED])}{more}{advice}")


def resume_settings(spec: dict[str, Any], meta: dict[str, Any] | None) -> dict[str, Any]:
    """What a checkpoint records and a resume must match: the caller's ``meta`` and the spec without the
    execution fields (a resume with another worker or GPU count is the same run)."""
    kept = {key: value for key, value in spec.items() if key not in EXECUTION_FIELDS}
    return plain({**(meta or {}), "spec": kept})


def restore(path: Path, model: nn.Module, optimizer, scheduler, settings: dict[str, Any], rank: int = 0,
            world_size: int = 1) -> tuple[list[dict], int]:
    """Load a checkpoint into model, optimizer, scheduler and the RNGs after checking its settings; returns the
    history so far and the epoch to continue with. Rank ``r`` of a run with the checkpoint's world size takes
    its own RNG state; with another world size rank 0 takes the saved one and the others keep their fresh seeds."""
    state = load_checkpoint(path)
    if not isinstance(state, dict) or "model" not in state:
        raise CheckpointError(f"{path}: not a uasbench training checkpoint (no 'model' entry); "
                              "delete it or pass --no-resume to start over")
    check_resume_settings(path, state, settings)
    check_finite_weights(state["model"], str(path), "; the run diverged before this checkpoint: start over with "
                         "'uasbench train --no-resume' (and a lower lr)")
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as err:
        raise CheckpointError(f"{path}: does not fit this model ({err})") from err
    missing = [k for k in ("optimizer", "scheduler", "rng", "epoch", "history") if k not in state]
    if missing:
        raise CheckpointError(f"{path}: not a uasbench training checkpoint (missing {', '.join(missing)}); "
                              "delete it or pass --no-resume to start over")
    by_rank = state.get("rng_by_rank") or [state["rng"]]
    rng = by_rank[rank] if len(by_rank) == world_size else state["rng"] if rank == 0 else None
    try:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if rng is not None:
            set_rng_state(rng)
    except (ValueError, KeyError, TypeError, RuntimeError) as err:
        raise CheckpointError(f"{path}: optimizer/RNG state does not fit this model ({err})") from err
    return state["history"], state["epoch"] + 1


def plain(obj: Any) -> Any:
    """JSON-shaped copy (tuples become lists), so settings compare equal after a checkpoint round trip."""
    return json.loads(json.dumps(obj, default=str))


def settings_changes(old: Any, new: Any, path: str = "") -> list[str]:
    """``key.path: old -> new`` for every leaf that differs between two settings dicts (absent = ``<unset>``)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [change for key in sorted(old.keys() | new.keys(), key=str)
                for change in settings_changes(old.get(key, "<unset>"), new.get(key, "<unset>"),
                                               f"{path}.{key}" if path else str(key))]
    return [] if old == new else [f"{path}: {old!r} -> {new!r}"]


def check_resume_settings(ckpt_path: Path, state: dict[str, Any], settings: dict[str, Any]) -> None:
    """Refuse to resume under changed settings (only the planned ``spec.epochs`` may differ, see the module doc)."""
    done = int(state.get("epoch", -1)) + 1
    recorded = plain(state.get("meta") or {})
    if isinstance(recorded.get("spec"), dict):
        recorded["spec"] = {**SPEC_DEFAULTS_OF_OLD_CHECKPOINTS, **recorded["spec"]}
        for key in EXECUTION_FIELDS:  # not recorded any more, whatever an older checkpoint holds
            recorded["spec"].pop(key, None)
    # sections an older checkpoint did not record cannot be compared; every recorded one must match
    changes = [c for key in recorded for c in settings_changes(recorded[key], settings.get(key, "<unset>"), key)
               if not c.startswith("spec.epochs:")]
    start_over = (f"restore the old settings, or start over with 'uasbench train --no-resume' (or delete "
                  f"{ckpt_path})")
    if changes:
        raise CheckpointError(f"{ckpt_path}: the training settings changed since this checkpoint was written after "
                              f"epoch {done} (old -> new): {'; '.join(changes)}. Resuming would continue the old "
                              f"optimizer state under the new settings; {start_over}")
    if settings["spec"]["epochs"] < done:
        raise CheckpointError(f"{ckpt_path}: already trained {done} epochs, but epochs is now "
                              f"{settings['spec']['epochs']}; {start_over}")
