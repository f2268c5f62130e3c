"""Numeric precision of a forward pass: ``fp32`` (the default, the published numbers), ``tf32`` or ``bf16``.

* ``fp32``: nothing changes; every number stays bit-identical to a run without this module.
* ``tf32``: float32 matmuls/convolutions on CUDA tensor cores with a 10-bit mantissa (``allow_tf32`` flags,
  process-global, so they are set for a block and restored after it). No effect on a CPU.
* ``bf16``: ``torch.autocast(device_type, dtype=torch.bfloat16)`` around the forward (and the loss): weights stay
  float32 ("master weights"), so no gradient scaler is needed (bfloat16 has float32's exponent range).

Training, prediction and ``bench latency`` share this module so one word means the same numerics everywhere.

For inference, :class:`Execution` adds two opt-in ways of running the same network: ``channels_last`` (weights and
inputs in NHWC memory order, which cuDNN's tensor-core convolutions prefer) and ``compile`` (``torch.compile``).
Its label is ``bench precision``'s variant syntax, e.g. ``bf16+cl+compile``; plain ``fp32`` is the published
numerics.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from uasbench.errors import ConfigError

if TYPE_CHECKING:
    import torch

PRECISIONS = ("fp32", "tf32", "bf16")
MODIFIERS = {"cl": "channels_last", "compile": "compile"}  # label part -> Execution field
#: what ``bench precision`` times unless told: the published numerics first (the reference), then faster variants
DEFAULT_VARIANTS = ("fp32", "tf32", "bf16", "bf16+cl", "bf16+cl+compile")


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


@dataclass(frozen=True)
class Execution:
    """How a forward pass runs: a precision, and optionally channels_last and/or ``torch.compile`` of the network.

    None of these changes what a method computes, only the rounding: maps stay within the precision's tolerance of
    fp32 (``uasbench bench precision`` measures the difference). Methods without a network (``model``) take
    precisions only.
    """

    precision: str = "fp32"
    channels_last: bool = False
    compile: bool = False

    def __post_init__(self) -> None:
        check_precision(self.precision)

    @classmethod
    def parse(cls, label: str) -> Execution:
        """``"bf16+cl+compile"`` -> Execution("bf16", True, True); a clear error for an unknown or repeated part."""
        precision, *mods = label.split("+")
        check_precision(precision)  # first: a wrong precision is named before a wrong modifier
        if any(m not in MODIFIERS for m in mods) or len(set(mods)) != len(mods):
            raise ConfigError(f"variant {label!r}: after the precision, '+' takes each of {', '.join(MODIFIERS)} "
                              "at most once (cl = channels_last, compile = torch.compile)")
        return cls(precision, **{MODIFIERS[m]: True for m in mods})

    @classmethod
    def of_run(cls, run: dict[str, Any], precision: str | None = None, channels_last: bool | None = None,
               compile: bool | None = None) -> Execution:
        """A run's execution (its ``precision``/``channels_last``/``compile`` keys), each overridable (CLI flags)."""
        return cls(precision or run.get("precision", "fp32"),
                   bool(run.get("channels_last", False) if channels_last is None else channels_last),
                   bool(run.get("compile", False) if compile is None else compile))

    @property
    def label(self) -> str:
        """The variant syntax: ``fp32``, ``bf16+cl``, ``tf32+compile``, ... (recorded in meta, tags and tables)."""
        return "+".join([self.precision] + [part for part, field in MODIFIERS.items() if getattr(self, field)])

    def inputs(self, tensor: Any) -> Any:
        """An image batch in the memory order the network runs in (channels_last for 4-D tensors when set; anything
        else, e.g. None for no prompt, as it is)."""
        import torch

        if self.channels_last and isinstance(tensor, torch.Tensor) and tensor.dim() == 4:
            return tensor.contiguous(memory_format=torch.channels_last)
        return tensor

    @contextlib.contextmanager
    def applied(self, method: Any, device: torch.device) -> Iterator[None]:
        """The method's network in this layout / compiled, under the precision, for the block; restored after it."""
        with self.network(method), precision_context(self.precision, device):
            yield

    @contextlib.contextmanager
    def network(self, method: Any) -> Iterator[None]:
        """The method's network in channels_last and/or compiled for the block, restored after it. Enter it once
        for many forward passes (as ``predict`` does): each entry wraps the network in a new compiled module."""
        import torch

        if not (self.channels_last or self.compile):
            yield
            return
        model = getattr(method, "model", None)
        if not isinstance(model, torch.nn.Module):
            raise ConfigError(f"{type(method).__name__} has no network ('model') to put in channels_last or compile: "
                              "use plain precisions for it")
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        if self.compile:
            method.model = torch.compile(model)
        try:
            yield
        finally:
            method.model = model
            if self.channels_last:
                model.to(memory_format=torch.contiguous_format)
