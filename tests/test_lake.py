"""DuckLake with a PostgreSQL catalogue (warehouse.lake): several writer processes at once lose
nothing, a reader during writes sees whole files only (one snapshot), and a snapshot can be read as
of an earlier version. A real PostgreSQL server (tests/postgres.py) on loopback; the expected
numbers come from the CSV files, read with Python's csv module."""

import csv
import os
import re
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from postgres import Postgres

from tradewh.sources.baci.source import SOURCE as BACI
from tradewh.sources.baci.synthetic import declare, write_year
from tradewh.warehouse import bulk, lake

YEARS = (2017, 2018, 2019, 2020)
ROWS = 60_000


@pytest.fixture(scope="module")
def postgres():
    with Postgres() as pg:
        yield pg


@pytest.fixture(scope="module")
def year_files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("baci")
    declare(folder, [write_year(folder, y, ROWS) for y in YEARS], date(2024, 1, 15))
    return folder


def csv_facts(path: Path) -> tuple[int, Decimal]:
    """(data lines, sum of v in thousands of US$) of a year file, by the csv module."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return len(rows), sum((Decimal(r["v"]) for r in rows), Decimal(0))


def new_lake(postgres, tmp_path: Path, name: str) -> lake.Lake:
    return lake.Lake("postgres:" + postgres.create_database(name), str(tmp_path / "lake_data"))


WRITER = """
import sys, time
from pathlib import Path
from tradewh.sources.baci.source import SOURCE
from tradewh.warehouse import bulk, lake
catalog, data, folder, year, go = sys.argv[1:6]
files, _ = SOURCE.input_files(Path(folder))
(f,) = [f for f in files if f.year == int(year)]
con = bulk.connect(threads=1)
lake.attach(con, lake.Lake(catalog, data))
while not Path(go).exists():
    time.sleep(0.01)
report = bulk.load_file(SOURCE, f, Path(folder), con=con, lake=lake.Lake(catalog, data))
print(report.rows_read, report.rows_loaded, report.rows_quarantined)
"""


def start_writers(the_lake: lake.Lake, folder: Path, go: Path) -> list[subprocess.Popen]:
    """One process per year file, each waiting for `go` to exist before it loads."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, the_lake.catalog, the_lake.data_path, str(folder), str(y), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )  # fmt: skip
        for y in YEARS
    ]


def wait_all(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]


def test_four_writers_at_once_lose_nothing_and_a_reader_sees_whole_files_only(postgres, year_files, tmp_path):
    the_lake = new_lake(postgres, tmp_path, "writers")
    with lake.connect(the_lake, read_only=False):  # the tables exist before the writers start
        pass
    facts = {f"BACI_HS17_Y{y}_VSYNTHETIC.csv": csv_facts(year_files / f"BACI_HS17_Y{y}_VSYNTHETIC.csv") for y in YEARS}
    go = tmp_path / "go"
    procs = start_writers(the_lake, year_files, go)
    reader = lake.connect(the_lake)
    states = set()
    go.touch()
    deadline = time.monotonic() + 300
    while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
        reader.execute("BEGIN")
        rows = dict(reader.execute("SELECT source_file, count(*) FROM lake.product_raw GROUP BY 1").fetchall())
        listed = dict(reader.execute("SELECT source_file, rows_read FROM lake.product_files").fetchall())
        reader.execute("COMMIT")
        # one snapshot: a file's rows are all there with its manifest row, or none of them is
        assert rows == listed, (rows, listed)
        assert all(n == facts[name][0] for name, n in rows.items()), rows
        states.add(frozenset(rows))
        time.sleep(0.05)
    wait_all(procs)
    states.add(
        frozenset(dict(reader.execute("SELECT source_file, count(*) FROM lake.product_raw GROUP BY 1").fetchall()))
    )
    assert frozenset() in states and frozenset(facts) in states  # seen before the first commit and after the last

    got = dict(reader.execute("SELECT source_file, count(*) FROM lake.product_observations GROUP BY 1").fetchall())
    assert got == {name: n for name, (n, _) in facts.items()}
    total = reader.execute("SELECT sum(value_usd) FROM lake.product_observations_latest").fetchone()[0]
    assert total == sum(v for _, v in facts.values()) * 1000
    inserts = reader.execute(
        "SELECT count(*) FROM lake.snapshots() WHERE map_contains(changes, 'tables_inserted_into')"
    ).fetchone()[0]
    assert inserts >= len(YEARS)  # one commit per file at least
    reader.close()


def test_a_snapshot_reads_as_of_an_earlier_version(postgres, year_files, tmp_path):
    the_lake = new_lake(postgres, tmp_path, "timetravel")
    files, _ = BACI.input_files(year_files)
    con = bulk.connect()
    versions = []
    for f in files[:2]:
        bulk.load_file(BACI, f, tmp_path, con=con, lake=the_lake)
        versions.append(con.execute("SELECT max(snapshot_id) FROM lake.snapshots()").fetchone()[0])
    first_rows = csv_facts(files[0].path)[0]
    both_rows = first_rows + csv_facts(files[1].path)[0]
    assert (
        con.execute(f"SELECT count(*) FROM lake.product_raw AT (VERSION => {versions[0]})").fetchone()[0] == first_rows
    )
    assert con.execute("SELECT count(*) FROM lake.product_raw").fetchone()[0] == both_rows
    assert con.execute(
        f"SELECT DISTINCT source_file FROM lake.product_raw AT (VERSION => {versions[0]})"
    ).fetchall() == [(files[0].name,)]
    # loading the same file version again writes nothing: no new snapshot
    assert bulk.load_file(BACI, files[1], tmp_path, con=con, lake=the_lake).skipped
    assert con.execute("SELECT max(snapshot_id) FROM lake.snapshots()").fetchone()[0] == versions[1]
    con.close()


def test_a_bad_file_rolls_back_leaving_the_lake_as_it_was(postgres, year_files, tmp_path):
    the_lake = new_lake(postgres, tmp_path, "rollback")
    folder = tmp_path / "bad"
    folder.mkdir()
    path = write_year(folder, 2016, 2000)
    lines = path.read_text().splitlines()
    first = lines[1].split(",")
    lines.append(",".join([first[0], "999", *first[2:]]))  # a country code no crosswalk has
    path.write_text("\n".join(lines) + "\n")
    declare(folder, [path], date(2024, 1, 15))
    (f,), _ = BACI.input_files(folder)
    con = bulk.connect()
    with pytest.raises(bulk.BulkLoadError, match="999"):
        bulk.load_file(BACI, f, tmp_path, con=con, lake=the_lake)
    assert con.execute("SELECT count(*) FROM lake.product_raw").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM lake.product_files").fetchone()[0] == 0
    con.close()


@pytest.mark.e2e
def test_tradewh_products_on_ducklake_loads_in_several_processes(postgres, year_files, tmp_path, monkeypatch):
    """The CLI with TRADEWH_LAKE set: the load_baci job runs its loads in Dagster's multiprocess
    executor (several processes), and the lake holds every file."""
    import dagster as dg

    catalog = postgres.create_database("cli")
    env = {
        **os.environ,
        "TRADEWH_HOME": str(tmp_path / "home"),
        "TRADEWH_BACI_DIR": str(year_files),
        "TRADEWH_LAKE": "postgres:" + catalog,
        "TRADEWH_LAKE_DATA": str(tmp_path / "lake_data"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    tradewh = str(Path(sys.executable).parent / "tradewh")
    done = subprocess.run([tradewh, "products"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for y in YEARS:  # each file's counts, printed from the lake's manifest rows
        n = csv_facts(year_files / f"BACI_HS17_Y{y}_VSYNTHETIC.csv")[0]
        line = rf"BACI_HS17_Y{y}_VSYNTHETIC\.csv\s+H5\s+{y}\s+2024-01-15\s+{n:,}\s+{n:,}\s+0\b"
        assert re.search(line, done.stdout), done.stdout
    the_lake = lake.Lake("postgres:" + catalog, str(tmp_path / "lake_data"))
    with lake.connect(the_lake) as con:
        got = dict(con.execute("SELECT year, count(*) FROM lake.product_observations GROUP BY 1").fetchall())
    assert got == {y: csv_facts(year_files / f"BACI_HS17_Y{y}_VSYNTHETIC.csv")[0] for y in YEARS}
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        pids = {
            e.dagster_event.pid
            for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
            if "load" in (e.step_key or "")
        }
    assert len(pids) == len(YEARS)  # one process per load step


def test_tradewh_sql_and_product_growth_read_the_lake(postgres, year_files, tmp_path, store, inbox, monkeypatch):
    """With TRADEWH_LAKE set, `tradewh sql` attaches the lake read-only as `lake` (its data folder
    readable, other files not) and `tradewh product-growth` reads it when there is no local store."""
    from click.testing import CliRunner

    from tradewh.cli import main

    from conftest import AFGHANISTAN, run_build

    the_lake = new_lake(postgres, tmp_path, "readers")
    files, _ = BACI.input_files(year_files)
    con = bulk.connect()
    for f in files:
        bulk.load_file(BACI, f, tmp_path, con=con, lake=the_lake)
    con.close()
    assert run_build(store, inbox(AFGHANISTAN)).success  # the warehouse with its ref tables
    for name, value in {"TRADEWH_HOME": store.home, "TRADEWH_DB": store.db_path, "TRADEWH_LAKE": the_lake.catalog,
                        "TRADEWH_LAKE_DATA": the_lake.data_path}.items():  # fmt: skip
        monkeypatch.setenv(name, str(value))
    counted = CliRunner().invoke(
        main, ["sql", "SELECT count(*) AS n FROM lake.product_observations", "--format", "csv"]
    )
    assert counted.exit_code == 0, counted.output
    assert counted.output.split() == ["n", str(sum(csv_facts(f.path)[0] for f in files))]
    refused = CliRunner().invoke(main, ["sql", f"SELECT count(*) FROM read_csv('{files[0].path}')"])
    assert refused.exit_code == 1 and "disabled" in refused.output
    grown = CliRunner().invoke(
        main, ["product-growth", "--group", "ASEAN", "--partner", "RUS", "--chapter", "27", "--from", "2018",
               "--to", "2020", "--format", "csv"],
    )  # fmt: skip
    assert grown.exit_code == 0, grown.output
    assert grown.output.splitlines()[0].startswith("member_iso3,year,exports_usd")
    assert any(line.startswith("ASEAN,2020,") for line in grown.output.splitlines())
