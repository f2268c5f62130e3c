"""Anomaly-segmentation methods behind one interface: ``create(name, **config)`` (timm-style registry)."""

from uasbench.methods.base import Method
from uasbench.methods.registry import create, list_methods, register_method

__all__ = ["Method", "create", "list_methods", "register_method"]
