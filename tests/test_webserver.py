"""The Dagster web UI loads the code location: a real dagster-webserver on 127.0.0.1, asked over its
GraphQL API for the assets, their descriptions and their checks (opt-in tier: it starts a server)."""

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

from expectations.checks import CHECKS

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
QUERY = """{ assetNodes { assetKey { path } description groupName
  assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, query: str) -> dict:
    request = urllib.request.Request(url, data=json.dumps({"query": query}).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_web_ui_serves_every_asset_with_description_and_checks(tmp_path):
    port = free_port()
    env = {**os.environ, "TRADEWH_HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path)}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-3000:]
                assert time.time() < deadline, "dagster-webserver did not answer within 120 s"
                time.sleep(1)
        data = post(f"http://127.0.0.1:{port}/graphql", QUERY)
        nodes = {"/".join(n["assetKey"]["path"]): n for n in data["data"]["assetNodes"]}
        assert {"raw/imf_dots_cells", "canonical/observations", "marts/bilateral_annual", "publish/warehouse"} <= set(nodes)
        assert all(n["description"] for n in nodes.values())
        served = {
            (key, c["name"], c["blocking"]) for key, n in nodes.items() for c in n["assetChecksOrError"].get("checks", [])
        }
        expected = {(c.asset, c.name, c.blocking) for c in CHECKS}
        assert served == expected
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
