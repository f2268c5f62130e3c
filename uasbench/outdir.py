"""Output folders a command replaces as a whole, and paths built from config keys.

A command that rewrites a whole folder (``uasbench predict --out DIR``) must never delete what the user had there:
it replaces a folder only when it is empty or recognisably its own earlier output (``recognise`` says why not
otherwise), unless ``force``; it never replaces a symbolic link, the current directory, one of its parents, the
home or the root folder (not even with ``force``). All checks run before the expensive computation and again just
before the swap. The new content is staged in a hidden sibling ``.<name>.uasbench-tmp.*``; such siblings left
behind by a killed run are removed by :func:`remove_stale_staging` (one writer per output folder is assumed, as
Snakemake guarantees).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path
from typing import Callable, Iterator

from uasbench.errors import ConfigError, OutputError, UasbenchError
from uasbench.io import make_temp_dir

#: ``recognise(folder)`` returns None when ``folder`` is this command's own earlier output, else why it is not
Recogniser = Callable[[Path], "str | None"]

STAGING_MARK = ".uasbench-tmp."
_LEGACY_STAGING = re.compile(r"[a-z0-9_]{8}")  # tempfile.mkdtemp's suffix, used by releases before the mark


def inside(root: str | os.PathLike, *parts: str) -> Path:
    """``root/parts...``, refused when it resolves outside ``root`` (a ``..`` or absolute part, a symlink out).

    Config keys become path components; this keeps every write of a key under its root.
    """
    root = Path(root)
    path = root.joinpath(*parts)
    resolved_root = root.resolve()
    resolved = path.resolve()
    if resolved != resolved_root and resolved_root not in resolved.parents:
        raise ConfigError(f"{path}: resolves to {resolved}, outside {root}; names used in paths must be plain "
                          "folder names (letters, digits, _ . + -)")
    return path


def check_apart(output: str | os.PathLike, what: str, inputs: dict[str, str | os.PathLike]) -> None:
    """Refuse an output path that is inside one of ``inputs`` (label -> path) or holds one: outputs written into
    a dataset or a predictions folder would become part of it (and a later ``rm -r`` of the output would take
    the input with it). Paths are compared after resolving symbolic links."""
    out = Path(output).resolve()
    for label, path in inputs.items():
        given = Path(path).resolve()
        if out == given or given in out.parents:
            relation = "is" if out == given else "is inside"
        elif out in given.parents:
            relation = "holds"
        else:
            continue
        raise UasbenchError(f"{what} {output} {relation} {label} {path}: the outputs would mix with that input; "
                            "choose an output path outside it")


def staging_prefix(target: Path) -> str:
    """Name prefix of the hidden staging folders made beside ``target``, so leftovers of a crash are recognised
    as ours and removed."""
    return f".{target.name}{STAGING_MARK}"


def check_replaceable_dir(target: str | os.PathLike, recognise: Recogniser, force: bool = False,
                          what: str = "output folder") -> Path:
    """The absolute ``target`` if it may be replaced, else a UasbenchError saying why; changes nothing."""
    target = Path(os.path.abspath(target))
    if target.is_symlink():
        raise UasbenchError(f"{what} {target} is a symbolic link (to {os.readlink(target)}); refusing to replace "
                            "it: give the real folder's path instead")
    if target.exists() and not target.is_dir():
        raise UasbenchError(f"{what} {target} exists and is not a folder")
    real, cwd = target.resolve(), Path.cwd().resolve()
    if real == cwd or real in cwd.parents or real == Path.home().resolve() or real == Path(real.anchor):
        raise UasbenchError(f"{what} {target} is the current directory, one of its parents, the home or the root "
                            "folder; refusing to replace it: give a folder of its own, e.g. out/run1")
    if target.is_dir() and not force and any(target.iterdir()):
        reason = recognise(target)
        if reason is not None:
            raise UasbenchError(f"{what} {target} is not empty and {reason}; refusing to delete it "
                                "(choose another folder, or pass --force to replace it anyway)")
    return target


def remove_stale_staging(target: Path, recognise: Recogniser) -> list[Path]:
    """Delete the hidden staging siblings of ``target`` a killed run left behind; returns what was removed.

    Legacy siblings (``.<name>.`` + 8 random characters, no mark) only when ``recognise`` accepts their content.
    """
    removed = []
    prefix = f".{target.name}."
    if not target.parent.is_dir():
        return removed
    for entry in target.parent.iterdir():
        if not entry.name.startswith(prefix) or entry.is_symlink() or not entry.is_dir():
            continue
        rest = entry.name[len(prefix):]
        ours = entry.name.startswith(staging_prefix(target))
        if ours or (_LEGACY_STAGING.fullmatch(rest) and recognise(entry) is None):
            shutil.rmtree(entry)
            removed.append(entry)
    return removed


@contextlib.contextmanager
def replaced_dir(target: str | os.PathLike, recognise: Recogniser, force: bool = False) -> Iterator[Path]:
    """Yield an empty staging folder beside ``target``; on success it replaces ``target`` (checked again first).

    A crash or a refusal leaves ``target`` as it was and removes the staging folder.
    """
    target = check_replaceable_dir(target, recognise, force)
    staging = make_temp_dir(target.parent, prefix=staging_prefix(target))
    try:
        try:
            yield staging
        except OutputError as err:  # name the file as the user will look for it, not its hidden staging copy
            raise OutputError(str(err).replace(str(staging), str(target))) from err
        check_replaceable_dir(target, recognise, force)  # the folder may have changed while we computed
        if target.exists():
            trash = make_temp_dir(target.parent, prefix=staging_prefix(target))
            os.replace(target, trash / target.name)
            os.replace(staging, target)
            shutil.rmtree(trash)
        else:
            os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
