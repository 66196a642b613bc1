"""The Dagster web UI loads the code location: a real dagster-webserver on 127.0.0.1, asked over its
GraphQL API for the assets, their descriptions and their checks (opt-in tier: it starts a server)."""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tradewh.expectations.checks import CHECKS

from conftest import AFGHANISTAN

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


@contextlib.contextmanager
def webserver(env: dict):
    """A dagster-webserver on a free port of 127.0.0.1 loading workspace.yaml with `env`; yields its
    GraphQL URL once it answers, and stops it after."""
    port = free_port()
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
        yield f"http://127.0.0.1:{port}/graphql"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_web_ui_serves_every_asset_with_description_and_checks(tmp_path):
    env = {**os.environ, "TRADEWH_HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path)}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with webserver(env) as graphql:
        data = post(graphql, QUERY)
        nodes = {"/".join(n["assetKey"]["path"]): n for n in data["data"]["assetNodes"]}
        assert {"raw/imf_dots_cells", "canonical/observations", "marts/bilateral_annual", "publish/warehouse"} <= set(nodes)
        assert all(n["description"] for n in nodes.values())
        served = {
            (key, c["name"], c["blocking"]) for key, n in nodes.items() for c in n["assetChecksOrError"].get("checks", [])
        }
        expected = {(c.asset, c.name, c.blocking) for c in CHECKS}
        assert served == expected


JOB_RUNS = """{ pipelineOrError(params: {pipelineName: "build_warehouse", repositoryName: "__repository__",
  repositoryLocationName: "tradewh"}) { ... on Pipeline { pipelineSnapshotId runs { runId status pipelineSnapshotId } } }
  shouldShowNux }"""


def test_a_cli_build_is_on_the_jobs_page_as_the_same_version(tmp_path, inbox):
    # Issue 13: `tradewh build` ran the job outside the code location, so the job's Runs tab stayed
    # empty and re-executing the run warned that it may be a different version. The job's page lists
    # the runs tagged with its repository (RunsFilter(job_name, .dagster/repository)); the warning
    # compares the run's job snapshot with the code location's.
    home = tmp_path / "home"
    env = {**os.environ, "TRADEWH_HOME": str(home), "TRADEWH_IMF_DOTS_DIR": str(inbox(AFGHANISTAN))}
    env.pop("DAGSTER_HOME", None)
    build = subprocess.run([str(Path(sys.executable).parent / "tradewh"), "build"], env=env, capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-3000:]
    run_id = re.search(r"\(run ([0-9a-f-]{36})\)", build.stdout).group(1)
    with webserver({**env, "DAGSTER_HOME": str(home / "dagster_home")}) as graphql:
        data = post(graphql, JOB_RUNS)["data"]
    job = data["pipelineOrError"]
    assert [(r["runId"], r["status"]) for r in job["runs"]] == [(run_id, "SUCCESS")]
    assert job["runs"][0]["pipelineSnapshotId"] == job["pipelineSnapshotId"]
    assert data["shouldShowNux"] is False  # no newsletter pop-up on the first visit
