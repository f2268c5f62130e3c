"""Anomaly-segmentation methods behind one interface: ``create(name, **config)`` (timm-style registry).

``Method`` (and with it torch) is imported on first use, so the registry and the declared options of
uasbench.methods.catalog serve a config check without torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from uasbench.methods.registry import create, list_methods, register_method

__all__ = ["Method", "create", "list_methods", "register_method"]

if TYPE_CHECKING:  # pragma: no cover  (``X as X``: an explicit re-export; ``__getattr__`` serves it)
    from uasbench.methods.base import Method as Method


def __getattr__(name: str) -> Any:
    if name == "Method":
        from uasbench.methods.base import Method

        return Method
    raise AttributeError(f"module 'uasbench.methods' has no attribute {name!r}")
