"""Numeric precision of a forward pass: ``fp32`` (the default, the published numbers), ``tf32`` or ``bf16``.

* ``fp32``: nothing changes; every number stays bit-identical to a run without this module.
* ``tf32``: float32 matmuls/convolutions on CUDA tensor cores with a 10-bit mantissa (``allow_tf32`` flags,
  process-global, so they are set for a block and restored after it). No effect on a CPU.
* ``bf16``: ``torch.autocast(device_type, dtype=torch.bfloat16)`` around the forward (and the loss): weights stay
  float32 ("master weights"), so no gradient scaler is needed (bfloat16 has float32's exponent range).

Training, prediction and ``bench latency`` share this module so one word means the same numerics everywhere.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from uasbench.errors import ConfigError

if TYPE_CHECKING:
    import torch

PRECISIONS = ("fp32", "tf32", "bf16")


def check_precision(precision: str) -> str:
    """The precision itself, or a ConfigError naming the choices (a typo must not silently train in fp32)."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision


def precision_note(precision: str, device: torch.device) -> str | None:
    """A line worth printing when the precision does nothing on this device (tf32 on a CPU), else None."""
    if check_precision(precision) == "tf32" and device.type != "cuda":
        return f"precision tf32 has no effect on {device.type} (TF32 is a CUDA tensor-core mode); computing in fp32"
    return None


def save_flags() -> dict[str, object]:
    """The process-global matmul/cuDNN precision flags, for :func:`restore_flags`."""
    import torch

    return {"matmul_tf32": torch.backends.cuda.matmul.allow_tf32, "cudnn_tf32": torch.backends.cudnn.allow_tf32,
            "matmul_precision": torch.get_float32_matmul_precision()}


def restore_flags(saved: dict[str, object]) -> None:
    """Put back the flags :func:`save_flags` returned (a tf32 block must not leak into later fp32 work)."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = bool(saved["matmul_tf32"])
    torch.backends.cudnn.allow_tf32 = bool(saved["cudnn_tf32"])
    torch.set_float32_matmul_precision(str(saved["matmul_precision"]))


@contextlib.contextmanager
def precision_flags(precision: str, device: torch.device) -> Iterator[None]:
    """Set the global flags ``precision`` needs (tf32 on CUDA only) for the block, restoring them after it."""
    import torch

    check_precision(precision)
    if precision != "tf32" or device.type != "cuda":
        yield
        return
    saved = save_flags()
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.set_float32_matmul_precision("high")
    try:
        yield
    finally:
        restore_flags(saved)


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """The per-step context: bf16 autocast for ``bf16``, nothing otherwise (cheap to enter every batch)."""
    import torch

    if check_precision(precision) != "bf16":
        return contextlib.nullcontext()
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ConfigError(f"precision bf16 requested but {torch.cuda.get_device_name(device)} has no bfloat16 support")
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


@contextlib.contextmanager
def precision_context(precision: str, device: torch.device) -> Iterator[None]:
    """Flags and autocast together, for a block of forward passes (prediction, latency)."""
    with precision_flags(precision, device), autocast(precision, device):
        yield
