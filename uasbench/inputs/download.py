"""Checked downloads: plain HTTP with Range resume (what pooch lacks), Hugging Face files through huggingface_hub
(its ``HF_ENDPOINT`` variable picks the server) and Google Drive through gdown; checksums and free disk space."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from uasbench.errors import UasbenchError
from uasbench.inputs.sources import FileSpec, format_size

CHUNK = 1 << 20
HTTP_CHUNK = 1 << 16  # bytes written per read: a dropped connection loses at most this much of the partial file
HTTP_TIMEOUT_S = 60


class FetchError(UasbenchError):
    """A download failed or its bytes are not the published ones."""


def file_digest(path: Path, kind: str) -> str:
    """The hex digest of ``kind`` (sha256 / md5 / git_blob; sha256_prefix and record use sha256)."""
    if kind == "git_blob":
        digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    else:
        digest = hashlib.md5() if kind == "md5" else hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def check_digest(path: Path, spec: FileSpec, recorded: str | None = None) -> str:
    """Hash a downloaded file against the table (or, for kind ``record``, against ``recorded`` when given); a
    mismatch removes the file and raises, naming the URL, expected and actual hash. Returns the digest."""
    actual = file_digest(path, spec.checksum_kind)
    expected = spec.checksum if spec.checksum_kind != "record" else recorded
    prefix_only = spec.checksum_kind == "sha256_prefix"
    if expected is None or (actual.startswith(expected) if prefix_only else actual == expected):
        return actual
    path.unlink(missing_ok=True)
    kind = "sha256 (recorded at the first download)" if spec.checksum_kind == "record" else spec.checksum_kind
    raise FetchError(f"checksum mismatch for {spec.origin}: expected {kind} {expected}, got {actual}; "
                     f"the downloaded file {str(path)!r} was removed")


def ensure_free_space(folder: Path, needed: int | None, what: str) -> None:
    """Refuse before downloading when the file system of ``folder`` has less than ``needed`` bytes free."""
    if not needed:
        return
    existing = folder
    while not existing.exists():
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    if free < needed:
        raise FetchError(f"{what} needs {format_size(needed)} free in {str(folder)!r} (download and extraction), "
                         f"but only {format_size(free)} is free there: free some space or choose another data root "
                         "(--data-root, the config's data_root or $UASBENCH_DATA)")


def http_download(url: str, part: Path, size: int | None, label: str, progress: bool = True) -> None:
    """Fetch ``url`` into ``part``, continuing a partial ``part`` with an HTTP Range request (a server that ignores
    the range answers 200 and the file starts over)."""
    import requests
    from tqdm import tqdm

    part.parent.mkdir(parents=True, exist_ok=True)
    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset > size:
        part.unlink()
        offset = 0
    if size is not None and offset == size:
        return
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        with requests.get(url, headers=headers, stream=True, timeout=HTTP_TIMEOUT_S) as response:
            if response.status_code == 416 and size is None:
                return  # the partial file already holds every byte
            response.raise_for_status()
            if offset and response.status_code != 206:
                offset = 0
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length is not None else size
            with open(part, "ab" if offset else "wb") as out, \
                    tqdm(total=total, initial=offset, unit="B", unit_scale=True, desc=label, disable=not progress,
                         leave=False) as bar:
                for block in response.iter_content(HTTP_CHUNK):
                    out.write(block)
                    bar.update(len(block))
    except requests.RequestException as err:
        raise FetchError(f"download of {url} failed after {part.stat().st_size if part.exists() else 0} bytes: "
                         f"{err}; run the same command again to resume") from err
    got = part.stat().st_size
    if size is not None and got != size:
        raise FetchError(f"download of {url} stopped at {got} of {size} bytes; run the same command again to resume")


def hf_download(spec: FileSpec, part: Path, progress: bool = True) -> None:
    """A Hugging Face file into ``part`` with huggingface_hub (its own progress bar, resume and $HF_ENDPOINT)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

    (enable_progress_bars if progress else disable_progress_bars)()
    staging = part.with_name(part.name + ".hf")
    try:
        got = hf_hub_download(spec.hf["repo"], spec.hf["file"], repo_type=spec.hf.get("type", "model"),
                              revision=spec.hf.get("revision"), local_dir=staging,
                              endpoint=os.environ.get("HF_ENDPOINT"))
    except Exception as err:  # huggingface_hub raises its own HTTP/repository errors
        raise FetchError(f"download of {spec.origin} failed: {err}") from err
    os.replace(got, part)
    shutil.rmtree(staging, ignore_errors=True)


def gdrive_download(spec: FileSpec, part: Path, progress: bool = True) -> None:
    """A Google Drive file into ``part`` with gdown (which handles Drive's confirmation page and resumes)."""
    import gdown

    part.parent.mkdir(parents=True, exist_ok=True)
    try:
        got = gdown.download(id=spec.gdrive, output=str(part), quiet=not progress, resume=True)
    except Exception as err:  # gdown raises its own errors for quota / permission pages
        raise FetchError(f"download of {spec.origin} failed: {err}") from err
    if got is None or not part.is_file():
        raise FetchError(f"download of {spec.origin} failed (gdown returned no file)")


def mirrored(url: str, mirror: str | None) -> str:
    """The URL under a mirror laid out as ``<mirror>/<host>/<path>`` (what ``wget -x`` / ``wget -m`` write)."""
    if not mirror:
        return url
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return f"{mirror.rstrip('/')}/{parts.netloc}{path}"


def download(spec: FileSpec, part: Path, label: str, mirror: str | None, progress: bool = True) -> None:
    """One file of the table into ``part`` by the route its origin needs; a mirror serves URL and Drive files."""
    if spec.hf:
        hf_download(spec, part, progress)
    elif spec.gdrive and not mirror:
        gdrive_download(spec, part, progress)
    else:
        url = spec.url or f"https://drive.google.com/{spec.gdrive}"
        http_download(mirrored(url, mirror), part, spec.size, label, progress)
