"""A local HTTP server for the fetch tests (no test touches the internet): serves a folder, answers Range
requests and HEAD (with the headers huggingface_hub reads), counts the bytes it sends and can cut a response
short once, as a dropped connection would."""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
import zipfile
from collections import Counter
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567"


class RangeHandler(SimpleHTTPRequestHandler):
    """GET/HEAD of files below the served folder, with ``Range: bytes=N-`` answered by 206."""

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def _target(self) -> Path | None:
        path = Path(self.translate_path(self.path.split("?")[0]))
        return path if path.is_file() else None

    def _headers(self, path: Path, start: int) -> int:
        size = path.stat().st_size
        if start >= size and size:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.end_headers()
            return -1
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.send_header("Content-Length", str(size - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{hashlib.sha256(path.read_bytes()).hexdigest()}"')
        self.send_header("X-Repo-Commit", FAKE_COMMIT)
        self.end_headers()
        return size - start

    def _start(self) -> int:
        header = self.headers.get("Range", "")
        return int(header.removeprefix("bytes=").split("-")[0]) if header.startswith("bytes=") else 0

    def do_HEAD(self) -> None:
        path = self._target()
        if path is None:
            self.send_error(404)
            return
        self._headers(path, 0)

    def do_GET(self) -> None:
        path = self._target()
        if path is None:
            self.send_error(404)
            return
        start = self._start()
        if self._headers(path, start) < 0:
            return
        data = path.read_bytes()[start:]
        name = self.path.split("?")[0]
        cut = self.server.cut_after.pop(name, None)
        if cut is not None:
            data = data[:cut]
        self.wfile.write(data)
        self.server.bytes_sent[name] += len(data)
        self.server.ranges[name].append(start)
        if cut is not None:
            self.close_connection = True


class FileServer:
    """``with FileServer(folder) as server``: ``server.url``, ``bytes_sent`` and ``ranges`` per path, and
    ``cut_after[path] = n`` to send only n bytes of the next response for that path."""

    def __init__(self, folder: Path):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory=str(folder)))
        self.httpd.bytes_sent = Counter()
        self.httpd.ranges = {}
        self.httpd.cut_after = {}
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> "FileServer":
        self.httpd.ranges = _ListDict()
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def bytes_sent(self) -> Counter:
        return self.httpd.bytes_sent

    @property
    def ranges(self) -> dict:
        return self.httpd.ranges

    @property
    def cut_after(self) -> dict:
        return self.httpd.cut_after


class _ListDict(dict):
    def __missing__(self, key):
        self[key] = []
        return self[key]


# -- archives in each real format --------------------------------------------------------------------------------
def png_bytes(seed: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (8, 8), color=seed % 256).save(buffer, format="PNG")
    return buffer.getvalue()


def tar_bytes(members: dict[str, bytes], mode: str = "w", links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()
