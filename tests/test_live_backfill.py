"""A backfill over a period range from the command line (issue 13): `dagster job backfill --from
--to` on the live IMTS job, run by a real `dagster-daemon` as a user runs it, against a real HTTP
server on 127.0.0.1 serving Russia's answer built from the bundled IMTS export. Opt-in tier (it
starts the daemon and a code server: about half a minute); CI runs it."""

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from test_imf_live import russia_answer

from conftest import DATA
from loopback import Loopback, Reply

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
RUS = "/data/dataflow/IMF.STA/IMTS/+/RUS.XG_FOB_USD+MG_CIF_USD.*.A"


def test_a_cli_backfill_over_a_year_range_fetches_each_year_through_the_daemon(tmp_path):
    body, _ = russia_answer(DATA / "imf_imts" / "imts_rus_annual_2016_2024.csv")
    folder, dagster_home = tmp_path / "imts", tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    # the instance's SQLite storage created once, before the daemon and the CLI open it together (two
    # processes creating it at once race on its schema migrations)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        instance.get_runs(limit=1)
    with Loopback() as server:
        server.route(RUS, lambda query, headers: Reply(200, body, {"Content-Type": "application/xml"}))
        env = {
            **os.environ,
            "TRADEWH_LIVE": "imf_imts",
            "TRADEWH_LIVE_REPORTERS": "RUS",
            "TRADEWH_LIVE_FIRST_YEAR": "2016",
            "TRADEWH_IMF_API": server.url(""),
            "TRADEWH_IMF_IMTS_DIR": str(folder),
            "TRADEWH_HOME": str(tmp_path),
            "DAGSTER_HOME": str(dagster_home),
        }
        daemon = subprocess.Popen(
            [BIN / "dagster-daemon", "run", "-w", "workspace.yaml"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / "daemon.log", "w"),
        )
        try:
            asked = subprocess.run(
                [
                    BIN / "dagster",
                    "job",
                    "backfill",
                    "-w",
                    "workspace.yaml",
                    "-j",
                    "fetch_imf_imts",
                    "--from",
                    "RUS|2019",
                    "--to",
                    "RUS|2021",
                    "--noprompt",
                ],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert asked.returncode == 0 and "Launched backfill" in asked.stdout, asked.stderr[-2000:]
            expected = {f"imts_RUS_A_{y}-{y}.xml" for y in (2019, 2020, 2021)}
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not expected <= {p.name for p in folder.glob("*.xml")}:
                time.sleep(1)
        finally:
            daemon.terminate()
            daemon.wait(60)
        saved = {p.name for p in folder.glob("*.xml")}
        assert saved == expected, (tmp_path / "daemon.log").read_text()[-3000:]
        years = sorted(q.split("ge:")[1][:4] for q in server.requests(RUS))
        assert years == ["2019", "2020", "2021"]  # one ask per year of the range, nothing outside it
