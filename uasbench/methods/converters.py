"""The official-checkpoint converters by name (the ``uasbench convert <name>`` commands and a config's
``checkpoints.<name>.convert``): which method each makes and which ``uasbench fetch`` source holds its input."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable


def _metauas(source: str | os.PathLike, out: str | os.PathLike) -> dict[str, Any]:
    from uasbench.methods.metauas.convert import convert_official_checkpoint

    return convert_official_checkpoint(source, out)


def _reconstruction(method: str) -> Callable[[str | os.PathLike, str | os.PathLike], dict[str, Any]]:
    def convert(source: str | os.PathLike, out: str | os.PathLike) -> dict[str, Any]:
        from uasbench.methods.reconstruction.convert import convert_official_checkpoint

        return convert_official_checkpoint(method, source, out)
    return convert


@dataclass(frozen=True)
class Converter:
    """``convert(source, out)`` writes a uasbench state dict of a ``method`` model; ``fetch`` names the source."""

    method: str
    convert: Callable[[str | os.PathLike, str | os.PathLike], dict[str, Any]]
    fetch: str


OFFICIAL_CONVERTERS: dict[str, Converter] = {
    "metauas-official": Converter("metauas", _metauas, "metauas-weights"),
    "onenip-official": Converter("onenip", _reconstruction("onenip"), "onenip-weights"),
    "uniad-official": Converter("uniad", _reconstruction("uniad"), "uniad-weights"),
}
