"""Device selection shared by every command: the same code trains on a user's GPU and tests here on the CPU."""

from __future__ import annotations

from typing import TYPE_CHECKING

from uasbench.errors import UasbenchError

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> "torch.device":
    """``auto`` picks CUDA when present; ``cuda`` without a GPU is an error, not a silent CPU fallback."""
    if name not in DEVICE_CHOICES and not name.startswith("cuda:"):
        raise UasbenchError(f"--device must be one of {', '.join(DEVICE_CHOICES)} (or cuda:N), got {name!r}")
    import torch  # lazily: `uasbench --help` must not pay for importing torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UasbenchError(f"--device {name} requested but torch sees no CUDA device (torch {torch.__version__})")
    return torch.device(name)
