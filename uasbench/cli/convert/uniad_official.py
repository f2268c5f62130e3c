"""``uasbench convert uniad-official IN OUT.pt``: official UniAD weights → uasbench state dict."""

from __future__ import annotations

from uasbench.cli.convert.onenip_official import register_official_converter


def register(group_subparsers) -> None:
    """Add ``convert uniad-official`` (the OneNIP converter with UniAD's key rules)."""
    register_official_converter(group_subparsers, "uniad")
