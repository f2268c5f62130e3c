"""The frozen feature-pyramid module every backbone preset returns.

Subclasses register the source network's own top-level children on the pyramid itself, so the
pyramid's ``state_dict`` keys are the source network's key names (for efficientnet_b4 exactly the
smp encoder keys stored in the MetaUAS checkpoints, minus the ``encoder.`` prefix).
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

import torch
from torch import nn

from uasbench.errors import ConfigError

Stage = tuple[str, Callable[[torch.Tensor], torch.Tensor]]

# Side of the probe image used once at construction to read channels and strides off real outputs.
_PROBE_SIZE = 64  # every preset's deepest stride (32) divides it


class FeaturePyramid(nn.Module):
    """Frozen multi-scale feature extractor: ``forward(x)`` → list of maps at ``strides`` with ``channels``.

    ``x`` must already be normalised with ``mean``/``std`` (use :meth:`normalize` on [0, 1] RGB).
    The module is always in eval mode and has no trainable parameter, whatever a parent module does.
    """

    def __init__(self, *, preset: str, taps: str, tap_names: Sequence[str], mean: Sequence[float],
                 std: Sequence[float]) -> None:
        super().__init__()
        self.preset = preset
        self.taps = taps
        self.tap_names: tuple[str, ...] = tuple(tap_names)
        self.mean: tuple[float, float, float] = tuple(float(v) for v in mean)  # type: ignore[assignment]
        self.std: tuple[float, float, float] = tuple(float(v) for v in std)  # type: ignore[assignment]
        self.weight_source: str = "random"
        self.weight_file: str | None = None
        self.channels: tuple[int, ...] = ()
        self.strides: tuple[int, ...] = ()

    # -- subclasses -------------------------------------------------------------------------------
    def iter_stages(self) -> Iterator[Stage]:
        """Yield ``(name, fn)`` in execution order; a tap is the output of the stage with that name."""
        raise NotImplementedError

    def stage_names(self) -> list[str]:
        return [name for name, _ in self.iter_stages()]

    # -- construction helpers ---------------------------------------------------------------------
    def finalize(self, weight_source: str, weight_file: str | None) -> "FeaturePyramid":
        """Check the taps exist, freeze, switch to eval and read channels/strides from a probe forward."""
        known = self.stage_names()
        missing = [name for name in self.tap_names if name not in known]
        if missing:
            raise ConfigError(f"backbone {self.preset!r} taps {self.taps!r}: no stage named {missing}")
        self.weight_source, self.weight_file = weight_source, weight_file
        for param in self.parameters():
            param.requires_grad_(False)
        self.train(False)
        with torch.no_grad():
            feats = self(torch.zeros(1, 3, _PROBE_SIZE, _PROBE_SIZE))
        self.channels = tuple(int(f.shape[1]) for f in feats)
        self.strides = tuple(_PROBE_SIZE // int(f.shape[-1]) for f in feats)
        return self

    # -- public behaviour -------------------------------------------------------------------------
    def train(self, mode: bool = True) -> "FeaturePyramid":
        """Ignore ``mode``: BN statistics of a frozen backbone must never update."""
        return super().train(False)

    def normalize(self, x01: torch.Tensor) -> torch.Tensor:
        """Map RGB in [0, 1] (B, 3, H, W) to the normalisation the weights expect."""
        mean = torch.tensor(self.mean, dtype=x01.dtype, device=x01.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=x01.dtype, device=x01.device).view(1, 3, 1, 1)
        return (x01 - mean) / std

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"backbone {self.preset!r} expects (B, 3, H, W), got {tuple(x.shape)}")
        wanted = set(self.tap_names)
        found: dict[str, torch.Tensor] = {}
        for name, fn in self.iter_stages():
            x = fn(x)
            if name in wanted:
                found[name] = x
                if len(found) == len(wanted):
                    break
        return [found[name] for name in self.tap_names]

    def extra_repr(self) -> str:
        return (f"preset={self.preset!r}, taps={self.taps!r}, channels={self.channels}, strides={self.strides}, "
                f"weights={self.weight_source!r}")


def last_block_per_stride(block_strides: Sequence[int], stem_stride: int = 2) -> dict[int, int]:
    """Index of the last block at each cumulative stride (the "stage end" features are tapped at)."""
    last: dict[int, int] = {}
    cumulative = stem_stride
    for index, stride in enumerate(block_strides):
        cumulative *= stride
        last[cumulative] = index
    return last


def resolve_block_taps(tokens: Sequence[str | int], block_names: Sequence[str], block_strides: Sequence[int],
                       preset: str) -> list[str]:
    """Turn tap tokens ("stem" or a stride) into stage names for a stem + chain-of-blocks network."""
    last = last_block_per_stride(block_strides)
    names: list[str] = []
    for token in tokens:
        if token == "stem":
            names.append("stem")
        elif isinstance(token, int) and token in last:
            names.append(block_names[last[token]])
        else:
            raise ConfigError(f"backbone {preset!r}: tap {token!r} is not 'stem' or one of the strides {sorted(last)}")
    return names
