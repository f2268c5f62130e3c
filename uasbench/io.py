"""Atomic file output: write to a temporary sibling, then rename, so no half-written file survives a crash."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from uasbench.errors import OutputError, UasbenchError

#: errno values of a full disk or an exhausted quota
NO_SPACE = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
_UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB")


def output_error(path: str | os.PathLike, err: OSError, needed: int | None = None,
                 written: int | None = None) -> OutputError:
    """The one message for an OS error on an output path: the file that stands where a folder belongs (instead of
    "File exists"), a full disk with the bytes needed (or written before it filled) and free, else the OS's words."""
    path = Path(path)
    if err.errno in (errno.EEXIST, errno.ENOTDIR) and (blocker := file_in_the_way(path)) is not None:
        return OutputError(f"cannot write {path}: {blocker} is a file, not a folder")
    if err.errno in NO_SPACE:
        amounts = [f"{human_bytes(needed)} needed" if needed is not None else
                   f"{human_bytes(written)} written before it filled" if written else None, _free_space(path)]
        detail = "; ".join(a for a in amounts if a)
        return OutputError(f"cannot write {path}: no space left on the device{f' ({detail})' if detail else ''}; "
                           "free some space or choose an output folder on another disk")
    where = f" ({err.filename})" if err.filename and Path(err.filename) in path.parents else ""
    return OutputError(f"cannot write {path}: {err.strerror or err}{where}")


def file_in_the_way(path: Path) -> Path | None:
    """The first existing ancestor of ``path`` (or ``path`` itself) when it is not a folder, else None."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return None if candidate.is_dir() else candidate
    return None


def human_bytes(count: int) -> str:
    """``1536`` -> ``1.5 KiB``: sizes in error messages."""
    size, power = float(count), 0
    while size >= 1024 and power < len(_UNITS) - 1:
        size, power = size / 1024, power + 1
    return f"{count} bytes" if power == 0 else f"{size:.1f} {_UNITS[power]}"


def _free_space(path: Path) -> str | None:
    folder = next((p for p in path.parents if p.is_dir()), None)
    if folder is None:
        return None
    return f"{human_bytes(shutil.disk_usage(folder).free)} free in {folder}"


def os_error_in(err: BaseException) -> OSError | None:
    """The OSError behind ``err``: itself, or what it was raised from or while handling (torch.save reports a
    failed write as a RuntimeError raised while handling the file object's OSError)."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, OSError):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None, needed: int | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed onto ``path``, on error removed.

    ``suffix`` keeps the extension for writers that dispatch on it (e.g. ``np.savez`` appends ``.npz``);
    ``needed``: the bytes to be written, where known, for the message of a full disk. An OS error of the writer
    becomes an OutputError naming ``path`` (:func:`output_error`).
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is an existing directory")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.",
                                   suffix=suffix if suffix is not None else path.suffix + ".tmp", dir=path.parent)
    except OSError as err:
        raise output_error(path, err, needed) from err
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~current_umask())  # mkstemp makes it 0600; outputs get a plain open()'s mode
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException as err:
        written = tmp_path.stat().st_size if tmp_path.is_file() else None
        tmp_path.unlink(missing_ok=True)
        cause = None if isinstance(err, UasbenchError) else os_error_in(err)
        if cause is not None:
            raise output_error(path, cause, needed, written) from err
        raise


def current_umask() -> int:
    """The process umask (only readable by setting it, so it is set back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def make_temp_dir(beside: str | os.PathLike, prefix: str) -> Path:
    """A fresh hidden folder in ``beside`` with a plain mkdir's mode (mkdtemp makes it 0700: nobody else could
    read the outputs once it is renamed into place)."""
    try:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=beside))
    except OSError as err:
        raise output_error(Path(beside) / prefix, err) from err
    os.chmod(tmp, 0o777 & ~current_umask())
    return tmp


def check_creatable_dir(path: str | os.PathLike) -> Path:
    """Fail before any computing, creating nothing, when ``path`` cannot become a folder we can write into: it or
    an ancestor is a file (e.g. a ``results_dir`` that is a file), or the nearest existing folder is read-only."""
    path = Path(path)
    absolute = Path(os.path.abspath(path))
    if (blocker := file_in_the_way(absolute)) is not None:
        raise OutputError(f"cannot create output folder {path}: {blocker} is a file, not a folder")
    nearest = next(p for p in (absolute, *absolute.parents) if p.exists())  # a folder: nothing is in the way
    if not os.access(nearest, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write output folder {path}: {nearest} is read-only for this user "
                          "(no write permission); choose a writable folder")
    return path


def ensure_writable_dir(path: str | os.PathLike) -> Path:
    """Fail before any computing when an output folder cannot be created (e.g. its parent is a file)."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise output_error(path, err) from err
    return path


def read_json_object(path: str | os.PathLike) -> dict[str, Any]:
    """A JSON file that must hold an object; a DataError naming the file otherwise."""
    from uasbench.errors import DataError

    try:
        data = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: cannot read JSON ({err})") from err
    if not isinstance(data, dict):
        raise DataError(f"{path}: must hold a JSON object, got {type(data).__name__}")
    return data


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` atomically: a reader (or a crash) never sees a half-written file."""
    data = text.encode()
    with atomic_path(path, needed=len(data)) as tmp:
        tmp.write_bytes(data)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON atomically, so reruns give byte-identical, diffable files."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def save_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """Compressed npz written atomically (the suffix keeps numpy from appending another ``.npz``)."""
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)


def save_torch(path: str | os.PathLike, obj: Any) -> None:
    """``torch.save`` atomically, through a Python file object: a failed write then surfaces its OSError (e.g. a
    full disk) instead of the C++ writer's bare "iostream error"."""
    import torch

    with atomic_path(path) as tmp, open(tmp, "wb") as file:
        torch.save(obj, file)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
