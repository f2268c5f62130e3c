"""The tracked store in a real browser: ``mlflow server`` on a moved copy of the results, headless Chromium.

Checks what a user sees: the runs page lists the runs, a run's page shows a logged metric value, and the REST API
agrees and serves the artifacts from the copy (the store names no absolute artifact path).
"""

import html
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.fixtures.tracked import make_tracked_results

pytest.importorskip("mlflow")
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install -y chromium)")
MLFLOW = Path(sys.executable).with_name("mlflow")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def _page_text(url: str) -> str:
    """The rendered DOM's visible text (the UI is a React app: only a browser runs it)."""
    dom = subprocess.run([CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--virtual-time-budget=15000",
                          "--dump-dom", url], capture_output=True, text=True, timeout=180).stdout
    dom = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", dom)).split())


@pytest.fixture
def server(tmp_path):
    """A tracked results folder, moved (the original deleted), served by ``mlflow server``; yields (url, config)."""
    from uasbench.pipeline.track import track_all

    config = make_tracked_results(tmp_path / "original")
    track_all(config, tmp_path / "logged.json")
    moved = tmp_path / "moved"
    shutil.move(config["results_dir"], moved)
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen([str(MLFLOW), "server", "--backend-store-uri", "sqlite:///mlflow.db",
                             "--artifacts-destination", "mlflow-artifacts", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", "1"], cwd=moved, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                _get(f"{url}/health")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"mlflow server did not come up: {(tmp_path / 'server.log').read_text()[-2000:]}")
                time.sleep(1)
        yield url, {**config, "results_dir": str(moved)}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and its workers
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_runs_and_a_metric_value_in_the_browser(server):
    url, config = server
    from mlflow.tracking import MlflowClient

    client = MlflowClient(url)
    exp = client.get_experiment_by_name("uasbench/custom/mydata")
    run = client.search_runs([exp.experiment_id], filter_string="metrics.P_AP >= 0",
                             order_by=["attributes.run_name"])[0]
    value = run.data.metrics["P_AP"]
    rest = json.loads(_get(f"{url}/api/2.0/mlflow/runs/get?run_id={run.info.run_id}"))["run"]["data"]["metrics"]
    assert {m["key"]: m["value"] for m in rest}["P-AP"] == value
    listed = json.loads(_get(f"{url}/api/2.0/mlflow/artifacts/list?run_id={run.info.run_id}"))["files"]
    assert {f["path"] for f in listed} == {"config.yaml", "heatmaps.png", f"seed{run.data.params['seed']}.json"}
    assert b"tier: custom" in _get(f"{url}/get-artifact?path=config.yaml&run_uuid={run.info.run_id}")

    runs_page = _page_text(f"{url}/#/experiments/{exp.experiment_id}/runs?workflowType=machine_learning")
    assert "random|mydata|seed1" in runs_page and "random|mydata|seed2" in runs_page, runs_page[:1500]
    run_page = _page_text(f"{url}/#/experiments/{exp.experiment_id}/runs/{run.info.run_id}"
                          "?workflowType=machine_learning")
    assert f"P_AP {value!r}" in run_page and "P-AP" in run_page, run_page[:3000]
