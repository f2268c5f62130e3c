"""MLflow stores that cannot be used: ``uasbench track`` fails within seconds with one ``uasbench: error:`` line naming
the store and what is wrong (a damaged database, a folder in its place, a read-only store, a server that does not
answer), instead of minutes of silent retries and a traceback."""

from __future__ import annotations

import json
import socket
import sqlite3
import time

import pytest
import yaml

from tests.integration.test_bad_input import assert_clean_error
from tests.integration.test_tracking import _results, _track

pytest.importorskip("mlflow")

SECONDS = 60  # the old behaviour: 100 s (a folder) to 255 s (a server) of retries; the checks take under one


@pytest.fixture
def store(tmp_path):
    """(config, results folder, logged-runs file) of a results folder with one metrics file."""
    config, results = _results(tmp_path, {"metrics/d/random/seed0.json": "official"})
    return config, results, results / "tracking" / "logged.json"


def track_fails(capsys, config, out, *names) -> str:
    start = time.perf_counter()
    code, err = _track(capsys, config, out)
    assert time.perf_counter() - start < SECONDS
    message = assert_clean_error(code, err, *names)
    assert not out.exists()
    return message


def test_a_damaged_database_is_named(store, capsys):
    config, results, out = store
    db = results / "mlflow.db"
    db.write_bytes(b"this is not a database\n" * 100)
    track_fails(capsys, config, out, db, "is not an SQLite database", "move it aside")
    assert db.read_bytes() == b"this is not a database\n" * 100


def test_a_folder_in_place_of_the_database_is_named(store, capsys):
    config, results, out = store
    (results / "mlflow.db").mkdir()
    track_fails(capsys, config, out, results / "mlflow.db", "is a folder, not a database file")


def test_a_read_only_store_is_named(store, capsys, monkeypatch):
    """The store exists and is valid, but sqlite may only read it: what a read-only file, folder or file system
    gives whoever runs the tests (permissions do not stop root, so sqlite opens it read-only here)."""
    config, results, out = store
    code, err = _track(capsys, config, out)
    assert code == 0, err
    out.unlink()
    db = results / "mlflow.db"
    before = db.read_bytes()
    real_connect = sqlite3.connect

    def read_only(database, *args, **kwargs):
        if str(database) == str(db):
            return real_connect(f"file:{db}?mode=ro", *args, **{**kwargs, "uri": True})
        return real_connect(database, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", read_only)
    monkeypatch.setattr(sqlite3.dbapi2, "connect", read_only)
    track_fails(capsys, config, out, db, "cannot be written", "readonly database", "make it writable")
    assert db.read_bytes() == before


def test_an_unreachable_server_fails_at_once_naming_it(store, capsys):
    config, _, out = store
    with socket.socket() as sock:  # a local port nothing listens on any more: connections are refused at once
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = yaml.safe_load(config.read_text())
    data["mlflow"] = {"tracking_uri": f"http://127.0.0.1:{port}"}
    config.write_text(yaml.safe_dump(data))
    track_fails(capsys, config, out, f"http://127.0.0.1:{port}", "is unreachable", "mlflow.tracking_uri")


def test_a_usable_store_still_logs(store, capsys):
    """The checks pass a store that works, new or existing, so the failures above are the edits' doing."""
    config, _, out = store
    for _ in range(2):
        code, err = _track(capsys, config, out)
        assert code == 0, err
        assert [run["key"] for run in json.loads(out.read_text())["runs"]] == ["random|d|seed0"]
