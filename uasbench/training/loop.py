"""One training loop for every trainable method: per-epoch checkpoints, bit-for-bit resume, progress bar.

Resume contract: a checkpoint is written (atomically) after every epoch with model, optimizer, scheduler and all RNG
states. Data order and augmentation depend only on (seed, epoch, index), so a run killed mid-epoch and resumed from
its last checkpoint ends with exactly the weights of an uninterrupted run on CPU.

The checkpoint also records the settings (the TrainSpec and the caller's ``meta``, e.g. the config entry). A resume
under other settings is refused, naming each change: it would continue the old optimizer state while recording the
new settings. Only ``epochs`` may change (extending a run, or lowering it to no fewer than the epochs done), since
epoch ``i`` depends on (seed, i) alone; a caller for whom the total matters puts it in ``meta`` too.
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from uasbench.errors import CheckpointError
from uasbench.io import atomic_path

LossFn = Callable[[nn.Module, Any], torch.Tensor]


@dataclass
class TrainSpec:
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    seed: int = 0
    grad_clip: float | None = None
    step_size: int | None = None  # StepLR step in epochs (None = constant lr)
    gamma: float = 0.1
    betas: tuple[float, float] = (0.9, 0.999)
    channels_last: bool = False  # NHWC convolutions: markedly faster for CNN decoders on CPU (oneDNN)
    extra: dict[str, Any] = field(default_factory=dict)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _rng_state() -> dict[str, Any]:
    """RNG states as tensors and plain tuples, so checkpoints load with ``weights_only=True``."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"torch": torch.get_rng_state(), "numpy": (name, torch.from_numpy(keys.astype(np.int64)), int(pos),
                                                       int(has_gauss), float(cached)),
            "python": random.getstate()}


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    random.setstate(state["python"])


def make_optimizer(model: nn.Module, spec: TrainSpec):
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no learnable parameters")
    optimizer = torch.optim.AdamW(params, lr=spec.lr, weight_decay=spec.weight_decay, betas=spec.betas)
    step = spec.step_size or max(spec.epochs, 1) * 10**6
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=step, gamma=spec.gamma)
    return optimizer, scheduler


def save_checkpoint(path: Path, model: nn.Module, optimizer, scheduler, epoch: int, history: list[dict],
                    meta: dict[str, Any]) -> None:
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "epoch": epoch, "rng": _rng_state(), "history": history, "meta": meta}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError / RuntimeError / EOFError for bad files
        raise CheckpointError(f"{path}: cannot load training checkpoint ({type(err).__name__}: {err})") from err


def train(model: nn.Module, loss_fn: LossFn, dataset, spec: TrainSpec, out_dir: str | Path,
          device: torch.device, resume: bool = True, desc: str = "train", meta: dict[str, Any] | None = None,
          on_epoch_end: Callable[[int, dict], None] | None = None) -> list[dict]:
    """Train ``model`` on ``dataset`` with ``loss_fn(model, batch)``; checkpoints go to ``out_dir/checkpoint.pt``.

    ``dataset`` may define ``set_epoch(epoch)`` to make its augmentation a function of the epoch.
    Returns the per-epoch history (loss, lr, seconds, samples/s).
    """
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    ckpt_path = out_dir / "checkpoint.pt"
    model.to(device)
    if spec.channels_last:
        model.to(memory_format=torch.channels_last)
    seed_everything(spec.seed)
    optimizer, scheduler = make_optimizer(model, spec)
    history: list[dict] = []
    start_epoch = 0
    settings = _plain({**(meta or {}), "spec": asdict(spec)})
    if resume and ckpt_path.exists():
        state = load_checkpoint(ckpt_path)
        if not isinstance(state, dict) or "model" not in state:
            raise CheckpointError(f"{ckpt_path}: not a uasbench training checkpoint (no 'model' entry); "
                                  "delete it or pass --no-resume to start over")
        _check_resume_settings(ckpt_path, state, settings)
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as err:
            raise CheckpointError(f"{ckpt_path}: does not fit this model ({err})") from err
        missing = [k for k in ("optimizer", "scheduler", "rng", "epoch", "history") if k not in state]
        if missing:
            raise CheckpointError(f"{ckpt_path}: not a uasbench training checkpoint (missing {', '.join(missing)}); "
                                  "delete it or pass --no-resume to start over")
        try:
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            _set_rng_state(state["rng"])
        except (ValueError, KeyError, TypeError, RuntimeError) as err:
            raise CheckpointError(f"{ckpt_path}: optimizer/RNG state does not fit this model ({err})") from err
        history = state["history"]
        start_epoch = state["epoch"] + 1
        print(f"[{desc}] resumed from {ckpt_path} after epoch {state['epoch'] + 1}/{spec.epochs}")
    for epoch in range(start_epoch, spec.epochs):
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)
        order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(spec.seed * 100003 + epoch))
        n_batches = math.ceil(len(dataset) / spec.batch_size)
        model.train()
        total, seen, t0 = 0.0, 0, time.perf_counter()
        # in a log file (no TTY) a bar line every 30 s instead of every batch keeps Snakemake logs readable
        bar = tqdm(range(n_batches), desc=f"{desc} epoch {epoch + 1}/{spec.epochs}", leave=False,
                   mininterval=1.0 if sys.stderr.isatty() else 30.0)
        for b in bar:
            idx = order[b * spec.batch_size:(b + 1) * spec.batch_size].tolist()
            batch = _to_device(_collate([dataset[i] for i in idx]), device)
            loss = loss_fn(model, batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"[{desc}] non-finite loss {loss.item()} at epoch {epoch + 1}, batch {b}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if spec.grad_clip:
                nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], spec.grad_clip)
            optimizer.step()
            total += loss.item() * len(idx)
            seen += len(idx)
            bar.set_postfix(loss=f"{total / seen:.4f}", pairs_s=f"{seen / (time.perf_counter() - t0):.1f}", refresh=False)
        bar.close()
        scheduler.step()
        seconds = time.perf_counter() - t0
        record = {"epoch": epoch + 1, "of_epochs": spec.epochs, "loss": total / max(seen, 1),
                  "lr": optimizer.param_groups[0]["lr"], "seconds": seconds, "samples_per_s": seen / max(seconds, 1e-9)}
        history.append(record)
        print(f"[{desc}] epoch {epoch + 1}/{spec.epochs} loss {record['loss']:.4f} "
              f"{record['samples_per_s']:.1f} samples/s {seconds:.1f}s")
        if on_epoch_end is not None:
            on_epoch_end(epoch, record)
        save_checkpoint(ckpt_path, model, optimizer, scheduler, epoch, history, settings)
    return history


def _plain(obj: Any) -> Any:
    """JSON-shaped copy (tuples become lists), so settings compare equal after a checkpoint round trip."""
    return json.loads(json.dumps(obj, default=str))


def settings_changes(old: Any, new: Any, path: str = "") -> list[str]:
    """``key.path: old -> new`` for every leaf that differs between two settings dicts (absent = ``<unset>``)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [change for key in sorted(old.keys() | new.keys(), key=str)
                for change in settings_changes(old.get(key, "<unset>"), new.get(key, "<unset>"),
                                               f"{path}.{key}" if path else str(key))]
    return [] if old == new else [f"{path}: {old!r} -> {new!r}"]


def _check_resume_settings(ckpt_path: Path, state: dict[str, Any], settings: dict[str, Any]) -> None:
    """Refuse to resume under changed settings (only the planned ``spec.epochs`` may differ, see the module doc)."""
    done = int(state.get("epoch", -1)) + 1
    recorded = _plain(state.get("meta") or {})
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


def _collate(items: list) -> Any:
    first = items[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(items)
    if isinstance(first, (tuple, list)):
        return type(first)(_collate(list(group)) for group in zip(*items))
    if isinstance(first, dict):
        return {k: _collate([it[k] for it in items]) for k in first}
    if isinstance(first, (int, float)):
        return torch.tensor(items)
    return items


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    return batch
