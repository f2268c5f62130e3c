"""Safe extraction: every member is checked before anything is written (no absolute path, no ``..``, no link
leaving the destination), then tar files extract with tarfile's ``data`` filter as a second guard."""

from __future__ import annotations

import posixpath
import stat
import tarfile
import zipfile
from pathlib import Path

from uasbench.inputs.download import FetchError

TAR_MODES = {"tar": "r:", "tar.gz": "r:gz", "tar.xz": "r:xz"}


def _check_member(archive: Path, name: str, link: str | None = None) -> None:
    """Refuse a member that would land outside the destination, or a link that points outside it."""
    def escapes(path: str) -> bool:
        normal = posixpath.normpath(path.replace("\\", "/"))
        return path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":") or normal == ".." \
            or normal.startswith("../")

    if escapes(name):
        raise FetchError(f"archive {str(archive)!r} has a member outside the destination: {name!r}; nothing was "
                         "extracted")
    if link is not None and (link.startswith("/") or escapes(posixpath.join(posixpath.dirname(name), link))):
        raise FetchError(f"archive {str(archive)!r} has a link leaving the destination: {name!r} -> {link!r}; "
                         "nothing was extracted")


def _extract_tar(archive: Path, mode: str, into: Path) -> None:
    with tarfile.open(archive, mode) as tar:
        members = tar.getmembers()
        for member in members:
            _check_member(archive, member.name, member.linkname if member.issym() or member.islnk() else None)
        try:
            tar.extractall(into, members=members, filter="data")
        except tarfile.FilterError as err:
            raise FetchError(f"archive {str(archive)!r} refused by tarfile's data filter: {err}") from err


def _extract_zip(archive: Path, into: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        for info in infos:
            is_link = stat.S_ISLNK(info.external_attr >> 16)
            _check_member(archive, info.filename, zf.read(info).decode(errors="replace") if is_link else None)
            if is_link:  # zipfile would write the link as a plain file holding its target: refuse instead
                raise FetchError(f"archive {str(archive)!r} has a symbolic link {info.filename!r}; nothing was "
                                 "extracted")
        zf.extractall(into)


def safe_extract(archive: Path, fmt: str, into: Path) -> None:
    """Extract ``archive`` (format ``tar``, ``tar.gz``, ``tar.xz`` or ``zip``) into the folder ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    try:
        if fmt == "zip":
            _extract_zip(archive, into)
        else:
            _extract_tar(archive, TAR_MODES[fmt], into)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as err:
        raise FetchError(f"archive {str(archive)!r} is not a readable {fmt} file: {err}") from err
