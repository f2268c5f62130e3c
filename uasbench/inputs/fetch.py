"""Fetch one source of the table: download to ``.part``, check the hash before anything else, extract into a
temporary sibling and rename it into place, then write a stamp so the next call is a no-op without re-hashing."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

from uasbench.inputs.completeness import source_problem
from uasbench.inputs.download import FetchError, check_digest, download, ensure_free_space, file_digest
from uasbench.inputs.extract import safe_extract
from uasbench.inputs.sources import Source, destination, stamp_path

DOWNLOADS = ".downloads"
Say = Callable[[str], None]


def read_stamp(root: Path, source: Source) -> dict | None:
    """The stamp of a completed fetch, None when there is none (or it is unreadable: fetch again)."""
    path = stamp_path(root, source.name)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_stamp(root: Path, source: Source, dest: Path, files: list[dict], how: str) -> None:
    from uasbench.io import write_json

    write_json(stamp_path(root, source.name), {"source": source.name, "dest": str(dest), "how": how,
                                               "files": files, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                     time.gmtime())})


def is_fetched(root: Path, source: Source) -> bool:
    """The stamp names this destination and every stamped file still has its recorded size (no re-hash)."""
    stamp = read_stamp(root, source)
    dest = destination(source, root)
    if stamp is None or stamp.get("dest") != str(dest) or not dest.exists():
        return False
    for entry in stamp.get("files", []):
        path = entry.get("path")
        if path is not None and (not (dest / path).is_file() or (dest / path).stat().st_size != entry["size"]):
            return False
    return True


def _stamp_if_complete(root: Path, source: Source, dest: Path, advice: Callable[[str], str], say: Say) -> None:
    """Stamp a folder found on disk (placed by hand, or fetched before its stamp was lost) when it is complete;
    otherwise raise with ``advice(problem)``."""
    problem = source_problem(source, dest)
    if problem is not None:
        raise FetchError(f"{source.name}: {str(dest)!r} {advice(problem)}")
    _write_stamp(root, source, dest, [], "found on disk, layout and counts checked")
    say(f"{source.name}: {dest} is complete")


def _fetch_archive(root: Path, source: Source, dest: Path, mirror: str | None, progress: bool, say: Say) -> None:
    if dest.exists():
        _stamp_if_complete(root, source, dest, lambda problem: f"exists but {problem}: move it away and fetch again",
                           say)
        return
    spec = source.files[0]
    size = spec.size_estimate
    ensure_free_space(dest.parent, None if size is None else 2 * size, source.name)
    part = root / DOWNLOADS / f"{source.name}.{source.archive}.part"
    download(spec, part, source.name, mirror, progress)
    digest = check_digest(part, spec)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".extracting", dir=dest.parent))
    try:
        say(f"{source.name}: checksum ok, extracting")
        safe_extract(part, source.archive, staging)
        inner = staging / source.member_root
        if not inner.is_dir():
            raise FetchError(f"{source.name}: the archive from {spec.origin} has no folder {source.member_root!r}")
        os.replace(inner, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    part.unlink()
    problem = source_problem(source, dest)
    if problem is not None:
        raise FetchError(f"{source.name}: extracted into {str(dest)!r} but it {problem}")
    _write_stamp(root, source, dest, [{"origin": spec.origin, "kind": spec.checksum_kind, "digest": digest}],
                 "downloaded")


def _fetch_files(root: Path, source: Source, dest: Path, mirror: str | None, progress: bool, say: Say) -> None:
    previous = {e["path"]: e for e in (read_stamp(root, source) or {}).get("files", []) if e.get("path")}
    todo = [s for s in source.files if not (dest / s.path).is_file()]
    sizes = [s.size_estimate for s in todo]
    ensure_free_space(dest, None if None in sizes else sum(sizes), source.name)
    entries = []
    for spec in source.files:
        target = dest / spec.path
        recorded = previous.get(spec.path, {}).get("digest")
        if target.is_file():
            digest = file_digest(target, spec.checksum_kind)
            if spec.checksum_kind == "record" or digest.startswith(spec.checksum or ""):
                entries.append({"path": spec.path, "size": target.stat().st_size, "kind": spec.checksum_kind,
                                "digest": recorded or digest})
                continue
            say(f"{source.name}: {target} does not match its checksum, downloading it again")
        part = target.with_name(target.name + ".part")
        download(spec, part, f"{source.name}: {spec.path}", mirror, progress)
        digest = check_digest(part, spec, recorded)
        os.replace(part, target)
        entries.append({"path": spec.path, "size": target.stat().st_size, "kind": spec.checksum_kind,
                        "digest": digest})
    _write_stamp(root, source, dest, entries, "downloaded")


def fetch_source(root: Path, source: Source, mirror: str | None = None, progress: bool = True,
                 say: Say = print) -> None:
    """Make ``source`` present and checked under ``root``; a stamped source returns at once."""
    dest = destination(source, root)
    if is_fetched(root, source):
        say(f"{source.name}: already fetched ({dest})")
        return
    if source.manual:
        _stamp_if_complete(root, source, dest, lambda problem: f"{problem}.\n{source.manual.format(dest=dest)}", say)
        return
    say(f"{source.name}: {source.title} ({source.size_label}) -> {dest}")
    if source.archive is not None:
        _fetch_archive(root, source, dest, mirror, progress, say)
    else:
        _fetch_files(root, source, dest, mirror, progress, say)
    say(f"{source.name}: done")


def verify_source(root: Path, source: Source) -> str | None:
    """Re-check what is on disk: every file's hash (against the table, or the recorded one for Drive files) or,
    for an extracted archive, its layout and counts. None when all is well, else the problem."""
    dest = destination(source, root)
    if source.archive is not None or source.manual:
        return source_problem(source, dest)
    recorded = {e["path"]: e.get("digest") for e in (read_stamp(root, source) or {}).get("files", []) if e.get("path")}
    for spec in source.files:
        target = dest / spec.path
        if not target.is_file():
            return f"{target} is missing"
        digest = file_digest(target, spec.checksum_kind)
        expected = recorded.get(spec.path) if spec.checksum_kind == "record" else spec.checksum
        if expected is not None and not digest.startswith(expected):
            return f"{target}: {spec.checksum_kind} is {digest}, expected {expected}"
    return None
