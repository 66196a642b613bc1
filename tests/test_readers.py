"""Readers during and after rebuilds (issue 14): a reader always gets the warehouse as published now,
and a file held for writing by another program is one clear line from every CLI command."""

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import AFGHANISTAN, INDONESIA, run_build

TRADEWH = str(Path(sys.executable).parent / "tradewh")


def reporters(con) -> set[str]:
    return {r for (r,) in con.execute("SELECT DISTINCT reporter_iso3::VARCHAR FROM canonical.observations").fetchall()}


def test_a_reader_sees_the_newest_published_warehouse_while_an_older_connection_is_open(store, inbox):
    folder = inbox(AFGHANISTAN)
    assert run_build(store, folder).success
    old = duckdb.connect(str(store.db_path), read_only=True)  # e.g. a notebook's connection
    assert reporters(old) == {"AFG"}
    assert inbox(INDONESIA) == folder  # a new download in the same folder
    assert run_build(store, folder).success  # publishes a new file in place of the old one
    # DuckDB's caveat: in this process, a plain connect() to the same path reuses the open instance
    with duckdb.connect(str(store.db_path), read_only=True) as plain:
        assert reporters(plain) == {"AFG"}
    # the product's readers open the file as it is now
    with store.connect_published() as fresh:
        assert reporters(fresh) == {"AFG", "IDN"}
    from tradewh.warehouse.queries import connect_read_only

    with connect_read_only(store.db_path) as con:
        assert reporters(con) == {"AFG", "IDN"}
        assert con.execute("SELECT count(*) FROM canonical.observations_asof(DATE '2030-01-01')").fetchone()[0] > 0
    old.close()


HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])  # read-write, as GUI tools open a file
print("held", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize(
    "command",
    [
        ["summary"],
        ["sql", "SELECT count(*) FROM canonical.observations"],
        ["growth", "--partner", "RUS", "--group", "ASEAN", "--from", "2019", "--to", "2020"],
    ],
)
def test_a_warehouse_held_for_writing_is_one_clear_line(tmp_path, store, inbox, command):
    # issue 14: tradewh growth and summary printed a 26-28-line traceback
    assert run_build(store, inbox(AFGHANISTAN)).success
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(store.db_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        env = {**os.environ, "TRADEWH_HOME": str(store.home), "TRADEWH_DB": str(store.db_path)}
        proc = subprocess.run([TRADEWH, *command], env=env, capture_output=True, text=True, timeout=120)
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"Error: {store.db_path} is open for writing in another program ({proc.stderr.split('program (')[1].split(',')[0]}, "
        f"process {holder.pid}), and DuckDB lets no one read it meanwhile: close it there, or open it read-only there, "
        "and run this again"
    ]
