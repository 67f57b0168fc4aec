"""`make ui`'s server: the Dagster webserver loads Tracer's definitions and serves its asset graph."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tracer_assets_tests.conftest import isolated_env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, data: bytes | None = None) -> bytes:
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.read()


@pytest.fixture
def webserver(tmp_path):
    port = _free_port()
    env = isolated_env(tmp_path)
    Path(env["DAGSTER_HOME"]).mkdir(parents=True)
    exe = Path(sys.executable).with_name("dagster-webserver")
    proc = subprocess.Popen(
        [str(exe), "-h", "127.0.0.1", "-p", str(port), "-m", "tracer_assets.definitions"],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # a non-interactive parent may leave SIGINT ignored; Dagster maps SIGTERM onto it
        preexec_fn=lambda: (os.setpgrp(), signal.signal(signal.SIGINT, signal.SIG_DFL)),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    try:
        while time.time() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"webserver exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                _get(base + "/server_info")
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("webserver did not answer /server_info within 90 s")
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_ui_serves_the_asset_graph(webserver):
    query = {"query": "{ assetNodes { assetKey { path } groupName } }"}
    body = json.loads(_get(webserver + "/graphql", json.dumps(query).encode()))
    nodes = {n["assetKey"]["path"][-1]: n["groupName"] for n in body["data"]["assetNodes"]}
    assert nodes["bars"] == "market"
    assert nodes["signals"] == "signals"
    assert nodes["eval_metrics"] == "evaluation"
    assert nodes["cohort_win_rates"] == "analytics"
