"""Atomic file output: write to a temporary sibling, then rename, so no half-written file survives a crash."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from uasbench.errors import UasbenchError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed onto ``path``, on error removed.

    ``suffix`` keeps the extension for writers that dispatch on it (e.g. ``np.savez`` appends ``.npz``).
    """
    path = Path(path)
    if path.is_dir():
        raise UasbenchError(f"cannot write {path}: it is an existing directory")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.",
                                   suffix=suffix if suffix is not None else path.suffix + ".tmp", dir=path.parent)
    except OSError as err:
        raise UasbenchError(f"cannot write {path}: {err.strerror or err}") from err
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~current_umask())  # mkstemp makes it 0600; outputs get a plain open()'s mode
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process umask (only readable by setting it, so it is set back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def make_temp_dir(beside: str | os.PathLike, prefix: str) -> Path:
    """A fresh hidden folder in ``beside`` with a plain mkdir's mode (mkdtemp makes it 0700: nobody else could
    read the outputs once it is renamed into place)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=beside))
    os.chmod(tmp, 0o777 & ~current_umask())
    return tmp


def check_creatable_dir(path: str | os.PathLike) -> Path:
    """Fail before any computing, creating nothing, when ``path`` cannot become a folder we can write into: it or
    an ancestor is a file (e.g. a ``results_dir`` that is a file), or the nearest existing folder is read-only."""
    path = Path(path)
    for candidate in (path, *Path(os.path.abspath(path)).parents):
        if candidate.exists() or candidate.is_symlink():
            if not candidate.is_dir():
                raise UasbenchError(f"cannot create output folder {path}: {candidate} is a file, not a folder")
            if not os.access(candidate, os.W_OK | os.X_OK):
                raise UasbenchError(f"cannot write output folder {path}: {candidate} is read-only for this user "
                                    "(no write permission); choose a writable folder")
            break
    return path


def ensure_writable_dir(path: str | os.PathLike) -> Path:
    """Fail before any computing when an output folder cannot be created (e.g. its parent is a file)."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UasbenchError(f"cannot create output folder {path}: {err.strerror or err}") from err
    return path


def ensure_writable_file(path: str | os.PathLike) -> Path:
    """Fail before any computing when an output file's folder cannot be created or the path is a folder."""
    path = Path(path)
    if path.is_dir():
        raise UasbenchError(f"cannot write {path}: it is an existing directory")
    ensure_writable_dir(path.parent)
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
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON atomically, so reruns give byte-identical, diffable files."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def save_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """Compressed npz written atomically (the suffix keeps numpy from appending another ``.npz``)."""
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
