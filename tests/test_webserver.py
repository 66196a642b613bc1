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
    request = urllib.request.Request(
        url, data=json.dumps({"query": query}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@contextlib.contextmanager
def webserver(env: dict):
    """A dagster-webserver on a free port of 127.0.0.1 loading workspace.yaml with `env`; yields its
    GraphQL URL once it answers, and stops it after."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster-webserver"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-w",
            "workspace.yaml",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
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
        assert {"raw/imf_dots_cells", "canonical/observations", "marts/bilateral_annual", "publish/warehouse"} <= set(
            nodes
        )
        assert all(n["description"] for n in nodes.values())
        served = {
            (key, c["name"], c["blocking"])
            for key, n in nodes.items()
            for c in n["assetChecksOrError"].get("checks", [])
        }
        expected = {(c.asset, c.name, c.blocking) for c in CHECKS}
        assert served == expected


JOB_RUNS = """{ pipelineOrError(params: {pipelineName: "build_warehouse", repositoryName: "__repository__",
  repositoryLocationName: "tradewh"}) { ... on Pipeline { pipelineSnapshotId runs { runId status pipelineSnapshotId } } }
  shouldShowNux }"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[dict, str]:
    """(the environment of a home built by `tradewh build` from Afghanistan's workbook and the other
    bundled sources, the run's id)."""
    import shutil

    from conftest import DOTS

    tmp = tmp_path_factory.mktemp("built")
    dots = tmp / "dots"
    dots.mkdir()
    shutil.copy(DOTS / AFGHANISTAN, dots / AFGHANISTAN)
    shutil.copy(DOTS / "RELEASES.csv", dots / "RELEASES.csv")
    home = tmp / "home"
    env = {**os.environ, "TRADEWH_HOME": str(home), "TRADEWH_IMF_DOTS_DIR": str(dots)}
    env.pop("DAGSTER_HOME", None)
    env.pop("TRADEWH_DB", None)
    build = subprocess.run(
        [str(Path(sys.executable).parent / "tradewh"), "build"], env=env, capture_output=True, text=True, timeout=600
    )
    assert build.returncode == 0, build.stderr[-3000:]
    run_id = re.search(r"\(run ([0-9a-f-]{36})\)", build.stdout).group(1)
    return {**env, "DAGSTER_HOME": str(home / "dagster_home")}, run_id


def test_a_cli_build_is_on_the_jobs_page_as_the_same_version(built):
    # Issue 13: `tradewh build` ran the job outside the code location, so the job's Runs tab stayed
    # empty and re-executing the run warned that it may be a different version. The job's page lists
    # the runs tagged with its repository (RunsFilter(job_name, .dagster/repository)); the warning
    # compares the run's job snapshot with the code location's.
    env, run_id = built
    with webserver(env) as graphql:
        data = post(graphql, JOB_RUNS)["data"]
    job = data["pipelineOrError"]
    assert [(r["runId"], r["status"]) for r in job["runs"]] == [(run_id, "SUCCESS")]
    assert job["runs"][0]["pipelineSnapshotId"] == job["pipelineSnapshotId"]
    assert data["shouldShowNux"] is False  # no newsletter pop-up on the first visit


PREVIEW = """{ assetOrError(assetKey: {path: ["marts", "bilateral_growth"]}) { ... on Asset {
  assetMaterializations(limit: 1) { metadataEntries { label
    ... on TableMetadataEntry { table { records schema { columns { name type } } } } } } } } }"""


def test_the_growth_marts_page_previews_asean_russia_latest_years_with_readable_numbers(built):
    # Issue 15: previews were hand-built markdown with floats like 400000.0, and the growth mart's hid
    # growth_pct and note. The asset page shows a table: ASEAN's members with Russia, the latest
    # years first, amounts as 1,234.56, every column there.
    import csv
    from decimal import Decimal

    import duckdb

    env, _ = built
    with webserver(env) as graphql:
        data = post(graphql, PREVIEW)["data"]
    (materialization,) = data["assetOrError"]["assetMaterializations"]
    (table,) = [e["table"] for e in materialization["metadataEntries"] if e["label"] == "preview"]
    columns = [c["name"] for c in table["schema"]["columns"]]
    assert {"growth_pct", "note", "value_usd", "prev_value_usd", "basis"} <= set(columns)
    rows = [json.loads(r) for r in table["records"]]
    with open(ROOT / "warehouse" / "seeds" / "group_membership.csv", newline="") as f:
        asean = {r["member_iso3"] for r in csv.DictReader(f) if r["group_code"] == "ASEAN" and not r["left_on"]}
    assert rows and all(r["partner_iso3"] == "RUS" and r["reporter_iso3"] in asean for r in rows)
    db = Path(env["TRADEWH_HOME"]) / "tradewh.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        (latest,) = con.execute(
            "SELECT max(year) FROM marts.bilateral_growth WHERE partner_iso3 = 'RUS' AND list_contains(?, reporter_iso3::VARCHAR)",
            [sorted(asean)],
        ).fetchone()
        assert rows[0]["year"] == latest
        for r in rows:
            (value, previous) = con.execute(
                "SELECT value_usd, prev_value_usd FROM marts.bilateral_growth WHERE source = ? AND reporter_iso3 = ? "
                "AND partner_iso3 = 'RUS' AND flow = ? AND year = ? AND basis = ?",
                [r["source"], r["reporter_iso3"], r["flow"], r["year"], r["basis"]],
            ).fetchone()
            assert r["value_usd"] == (None if value is None else f"{Decimal(value):,.2f}")
            assert r["prev_value_usd"] == (None if previous is None else f"{Decimal(previous):,.2f}")
            assert r["growth_pct"] is None or re.fullmatch(r"-?[\d,]+\.\d\d|-?0\.\d+|nan", r["growth_pct"]), r
