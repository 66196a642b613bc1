"""End-to-end: `tradewh build` as a subprocess on all 235 bundled workbooks (opt-in tier, CI runs it).

The workbook side of the reconciliation comes from openpyxl, an Excel reader the pipeline does not
use, and its own minimal parsing of the IMF's text values ("1,035.65 e" -> 1035.65).
"""

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import openpyxl
import pytest

from tests.conftest import DOTS, find_cell

pytestmark = pytest.mark.e2e
TRADEWH = str(Path(sys.executable).parent / "tradewh")


def number(v) -> float:
    """A workbook value as openpyxl gives it -> float (the IMF's text estimates "1,035.65 e" too)."""
    return float(v.removesuffix(" e").replace(",", "")) if isinstance(v, str) else float(v)


def openpyxl_totals() -> tuple[int, float]:
    """(non-empty data cells, sum of their values in US$ millions) over every workbook and sheet."""
    cells, total = 0, 0.0
    for path in sorted(DOTS.glob("*.xlsx")):
        wb = openpyxl.load_workbook(path, read_only=True)
        for ws in wb.worksheets:
            for row in ws.iter_rows(min_row=8, min_col=3, values_only=True):
                for v in row:
                    if v is None or v == "":
                        continue
                    cells += 1
                    total += number(v)
        wb.close()
    return cells, total


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e")
    env = {**os.environ, "TRADEWH_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    env.pop("TRADEWH_DB", None)
    proc = subprocess.run([TRADEWH, "build"], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return home, env, proc.stdout


def test_build_reconciles_with_an_independent_reader(built):
    home, _, stdout = built
    cells, total = openpyxl_totals()
    with duckdb.connect(str(home / "tradewh.duckdb"), read_only=True) as con:
        raw = con.execute("SELECT count(*), sum(value) FROM raw.imf_dots_cells").fetchone()
        loaded = con.execute("SELECT count(*), sum(original_value) FROM canonical.observations").fetchone()[0]
        dups = con.execute("SELECT count(*) FROM canonical.duplicates").fetchone()[0]
        quarantined = con.execute("SELECT count(*) FROM canonical.quarantine").fetchone()[0]
        files = con.execute("SELECT count(*) FROM meta.source_files").fetchone()[0]
    assert files == 235
    assert raw[0] == cells
    assert loaded + dups + quarantined == cells
    assert raw[1] == pytest.approx(total, rel=1e-12)
    assert f"raw cells  {cells:>10,}" in stdout
    assert "-> OK; per-file counts add up: OK" in stdout


def test_golden_values_from_the_workbooks(built):
    home, _, _ = built
    # Indonesia's exports to Russia 2020, as published: 973.823955 (US$ millions), DOTS_94.xlsx.
    # Russia's imports from Indonesia 2020 (the mirror), read here from Russia's own workbook.
    russia = next(p for p in sorted(DOTS.glob("*.xlsx")) if openpyxl.load_workbook(p, read_only=True)["Exports, FOB"]["B4"].value == "Russian Federation")
    _, mirror = find_cell(russia, "Imports, CIF", "Indonesia", 2020)
    with duckdb.connect(str(home / "tradewh.duckdb"), read_only=True) as con:
        q = "SELECT value_usd FROM canonical.observations WHERE reporter_iso3=? AND partner_iso3=? AND flow=? AND period=?"
        assert con.execute(q, ["IDN", "RUS", "X", "2020"]).fetchone()[0] == pytest.approx(973_823_955.0, abs=0.01)
        assert con.execute(q, ["RUS", "IDN", "M", "2020"]).fetchone()[0] == pytest.approx(float(mirror) * 1e6, abs=0.01)


def test_killed_run_leaves_the_published_warehouse_intact(built):
    home, env, _ = built
    db = home / "tradewh.duckdb"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    proc = subprocess.Popen([TRADEWH, "build"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not list((home / "build").glob("*.duckdb")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the build finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)  # killed while writing its candidate
    proc.wait()
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM canonical.observations").fetchone()[0] > 2_500_000


def test_summary_command_reprints_the_published_summary(built):
    _, env, stdout = built
    proc = subprocess.run([TRADEWH, "summary"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == stdout.strip()


def workbook_of(reporter: str) -> Path:
    return next(
        p for p in sorted(DOTS.glob("*.xlsx"))
        if openpyxl.load_workbook(p, read_only=True)["Exports, FOB"]["B4"].value == reporter
    )


def test_checks_pass_or_warn_and_a_real_anomaly_is_among_the_warnings(built):
    import json

    home, _, stdout = built
    assert "checks: 3 passed, 6 warning" in stdout and "0 failed" in stdout
    # Angola's exports to Canada: "0.01 e" (US$ millions, an estimate) in 1999, then 2,742 in 2000
    # (read with openpyxl).
    angola = workbook_of("Angola")
    v1999, v2000 = (number(find_cell(angola, "Exports, FOB", "Canada", y)[1]) for y in (1999, 2000))
    assert v2000 / v1999 > 10 and v2000 >= 1000
    with duckdb.connect(str(home / "tradewh.duckdb"), read_only=True) as con:
        statuses = dict(con.execute("SELECT check_name, status FROM meta.check_results").fetchall())
        yoy = [json.loads(r[0]) for r in con.execute(
            "SELECT row_json FROM meta.check_failures WHERE check_name = 'yoy_jump_extreme'"
        ).fetchall()]
    assert {s for s in statuses.values()} <= {"passed", "warning"}
    assert any(r["reporter_iso3"] == "AGO" and r["partner_iso3"] == "CAN" and r["flow"] == "X" and r["year"] == 2000 for r in yoy)
