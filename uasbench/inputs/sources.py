"""The source table (``sources.yaml``) as typed records, and where each input lands on this machine."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Mapping

import yaml

from uasbench.errors import ConfigError

SOURCES_FILE = Path(__file__).with_name("sources.yaml")
#: a test or an institute may point at its own table (same format) instead of the shipped one
SOURCES_ENV = "UASBENCH_SOURCES"
DATA_ENV = "UASBENCH_DATA"
CHECKSUM_KINDS = ("sha256", "md5", "git_blob", "sha256_prefix", "record")
ARCHIVE_FORMATS = ("tar", "tar.gz", "tar.xz", "zip")
STAMP_DIR = ".fetched"


@dataclass(frozen=True)
class FileSpec:
    """One file of a source: its origin (URL, Hugging Face file or Google Drive id), size and checksum."""

    url: str | None
    hf: Mapping[str, str] | None
    gdrive: str | None
    path: str | None  # where it goes inside the source's destination (None for an archive)
    size: int | None
    approx_size: int | None
    checksum_kind: str
    checksum: str | None  # None for kind "record"

    @property
    def origin(self) -> str:
        """The address a message names."""
        if self.hf:
            return f"hf://{self.hf.get('type', 'model')}s/{self.hf['repo']}/{self.hf['file']}"
        if self.gdrive:
            return f"https://drive.google.com/uc?id={self.gdrive}"
        return str(self.url)

    @property
    def size_estimate(self) -> int | None:
        return self.size if self.size is not None else self.approx_size


@dataclass(frozen=True)
class Source:
    """One named input of the table."""

    name: str
    title: str
    kind: str  # dataset | coco | prompts | checkpoint | weights
    provides: str
    licence: str
    dest: str  # a template: {data}, {torch_hub}, {clip_cache}
    files: tuple[FileSpec, ...]
    archive: str | None = None
    member_root: str = "."
    manual: str | None = None
    expect_files: int | None = None  # files matching expect_glob in a complete copy (when no official counts)
    expect_glob: str = "*"

    @property
    def size(self) -> int | None:
        """Download size in bytes, None when some file's size is not known."""
        sizes = [f.size_estimate for f in self.files]
        return None if any(s is None for s in sizes) else sum(sizes)

    @property
    def approximate(self) -> bool:
        """True when the size is an estimate (some file's exact size is not published)."""
        return any(f.size is None and f.approx_size is not None for f in self.files)

    @property
    def size_label(self) -> str:
        """The size as listings print it: ``~`` before an estimate."""
        return ("~" if self.approximate and self.size is not None else "") + format_size(self.size)

    def relative_dest(self) -> str | None:
        """The destination below the data root (``mvtec_anomaly_detection``), None outside it."""
        return self.dest.removeprefix("{data}/") if self.dest.startswith("{data}/") else None


def _file(raw: Mapping[str, Any], base_url: str | None, where: str) -> FileSpec:
    kinds = [k for k in CHECKSUM_KINDS if raw.get(k)]
    if len(kinds) != 1:
        raise ConfigError(f"{where}: give exactly one checksum of {', '.join(CHECKSUM_KINDS)} (got {kinds or 'none'})")
    kind = kinds[0]
    url = raw.get("url") or (base_url + raw["path"] if base_url and not raw.get("hf") and not raw.get("gdrive")
                             else None)
    if not (url or raw.get("hf") or raw.get("gdrive")):
        raise ConfigError(f"{where}: no url, hf or gdrive")
    return FileSpec(url=url, hf=raw.get("hf"), gdrive=raw.get("gdrive"), path=raw.get("path"), size=raw.get("size"),
                    approx_size=raw.get("approx_size"), checksum_kind=kind,
                    checksum=None if kind == "record" else str(raw[kind]).lower())


def parse_sources(table: Mapping[str, Any], origin: str) -> dict[str, Source]:
    """Typed sources from a table; a malformed entry is a ConfigError naming it."""
    sources = {}
    for name, raw in table.items():
        where = f"{origin}: {name}"
        archive = raw.get("archive")
        if archive is not None and archive not in ARCHIVE_FORMATS:
            raise ConfigError(f"{where}: archive {archive!r} is not one of {', '.join(ARCHIVE_FORMATS)}")
        files = tuple(_file(f, raw.get("base_url"), f"{where} file {i}") for i, f in enumerate(raw.get("files", [])))
        if archive is None and any(f.path is None for f in files):
            raise ConfigError(f"{where}: a file outside an archive needs its 'path'")
        if not files and not raw.get("manual"):
            raise ConfigError(f"{where}: no files and no 'manual' instructions")
        sources[name] = Source(name=name, title=raw["title"], kind=raw["kind"], provides=str(raw["provides"]),
                               licence=raw.get("licence", ""), dest=raw["dest"], files=files, archive=archive,
                               member_root=raw.get("member_root", "."), manual=raw.get("manual"),
                               expect_files=raw.get("expect_files"), expect_glob=raw.get("expect_glob", "*"))
    return sources


@cache
def _load(path: str) -> dict[str, Source]:
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"source table {path!r} (${SOURCES_ENV}) does not exist")
    return parse_sources(yaml.safe_load(file.read_text()) or {}, str(file))


def load_sources(path: str | os.PathLike | None = None) -> dict[str, Source]:
    """The source table: ``path``, else $UASBENCH_SOURCES, else the shipped ``sources.yaml``."""
    return _load(str(path or os.environ.get(SOURCES_ENV) or SOURCES_FILE))


def source_for(sources: Mapping[str, Source], kind: str, provides: str) -> Source | None:
    """The source of a kind that provides a thing (dataset ``mvtec``, weights ``efficientnet_b4``), if any."""
    return next((s for s in sources.values() if s.kind == kind and s.provides == provides), None)


def default_data_root() -> Path:
    """The per-user default (``~/.cache/uasbench/data`` on Linux), as platformdirs places caches."""
    import platformdirs

    return platformdirs.user_cache_path("uasbench") / "data"


def data_root(config: Mapping[str, Any] | None = None, override: str | os.PathLike | None = None) -> Path:
    """Where fetched data goes: an explicit override, else the config's ``data_root``, else $UASBENCH_DATA, else
    the per-user default."""
    chosen = override or (config or {}).get("data_root") or os.environ.get(DATA_ENV)
    return Path(chosen).expanduser() if chosen else default_data_root()


def destination(source: Source, root: Path) -> Path:
    """The folder (or, for weights, the cache folder) a source fills."""
    places = {"data": str(root)}
    if "{torch_hub}" in source.dest:
        from uasbench.backbones.weights import torch_hub_checkpoints_dir

        places["torch_hub"] = str(torch_hub_checkpoints_dir())
    if "{clip_cache}" in source.dest:
        from uasbench.backbones.clip import OPEN_CLIP_URL_CACHE

        places["clip_cache"] = str(OPEN_CLIP_URL_CACHE.expanduser())
    return Path(source.dest.format(**places))


def stamp_path(root: Path, name: str) -> Path:
    """The marker a completed fetch writes (the DAG's output for a fetch job)."""
    return root / STAMP_DIR / f"{name}.json"


def format_size(size: int | None) -> str:
    """Bytes as a person reads them (decimal units, as download pages state sizes)."""
    if size is None:
        return "size unknown"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"
