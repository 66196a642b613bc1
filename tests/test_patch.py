"""A run that changes a few input files patches the published warehouse (warehouse.patch) instead of
rebuilding it, and the patched warehouse is the one a whole build makes from the same files, to the
bit: every table and view of ref, canonical and marts, and the load's reconciliation in meta."""

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tradewh.warehouse import patch
from tradewh.warehouse.store import Store

from conftest import (
    AFGHANISTAN,
    DATA,
    DOTS,
    INDONESIA,
    MALAYSIA,
    NICARAGUA_A,
    NICARAGUA_B,
    content_hashes,
    edit_workbook,
    find_cell,
    number,
    run_build,
)


@pytest.fixture
def patch_any_share(monkeypatch):
    """A few workbooks are a small warehouse, in which one file is a large share of the rows: patch
    whatever the share (the rule that builds whole above PATCH_MAX_SHARE is tested on its own)."""
    monkeypatch.setattr(patch, "PATCH_MAX_SHARE", 1.0)


def built(result) -> str:
    """How the run's canonical step built its candidate (its `built` metadata)."""
    [mat] = result.asset_materializations_for_node("canonical__observations")
    return mat.metadata["built"].value


def meta(db_path: Path) -> dict:
    """The meta rows a patch rewrites, without what differs between homes and runs (paths, run ids,
    times, check timings)."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        return {
            "source_files": con.execute("SELECT * FROM meta.source_files ORDER BY ALL").fetchall(),
            "raw_files": con.execute(
                "SELECT source, file_index, regexp_extract(path, '[^/]+$'), first_raw_id, rows FROM meta.raw_files ORDER BY ALL"
            ).fetchall(),
            "entity_validity": con.execute("SELECT * FROM meta.entity_validity_report ORDER BY ALL").fetchall(),
            "summary": json.loads(con.execute("SELECT summary_json FROM meta.load_runs").fetchone()[0]),
            "checks": con.execute(
                "SELECT check_name, asset, status, checked_rows, failing_rows FROM meta.check_results ORDER BY ALL"
            ).fetchall(),
            # a patched build counts a view only where the patch changed it, and carries the rest
            "mart_rows": con.execute("SELECT * FROM meta.mart_rows ORDER BY ALL").fetchall(),
        }


@pytest.fixture
def assembled(monkeypatch):
    """The names of the checks whose frame a patched candidate assembled from its kept frame
    (expectations.frames.assemble, spied on)."""
    from tradewh.expectations import frames

    names, real = [], frames.assemble
    monkeypatch.setattr(
        frames,
        "assemble",
        lambda kept, scoped, check, scope: names.append(check.name) or real(kept, scoped, check, scope),
    )
    return names


def kept_frames_are_the_sql_frames(store: Store, run_id: str) -> dict[str, int]:
    """Every scoped check's frame kept by run `run_id` (its candidate, now published) holds the rows
    its SQL finds over the whole published warehouse (raw_ids included: a patch renumbers files).
    Returns {check: rows}."""
    import polars as pl
    import pyarrow as pa
    from polars.testing import assert_frame_equal

    from tradewh.expectations.checks import CHECKS
    from tradewh.expectations.frames import Frames

    rows = {}
    for check in (c for c in CHECKS if c.scope_columns):
        with pa.OSFile(str(Frames(store.check_cache, run_id, None).path(check)), "rb") as f:
            kept = pa.ipc.open_file(f).read_all()
        assert kept.schema.metadata[b"tradewh.run_id"] == run_id.encode()
        with duckdb.connect(str(store.db_path), read_only=True) as con:
            sql = con.execute(check.frame_sql()).pl()
        sql = sql.with_columns(pl.col(pl.Enum, pl.Categorical).cast(pl.String), pl.col(pl.Decimal).cast(pl.Float64))
        kept = pl.from_arrow(kept)
        assert kept.height == sql.height, check.name
        assert_frame_equal(kept.sort(kept.columns), sql.sort(sql.columns)), check.name
        rows[check.name] = kept.height
    return rows


def imts_folder(tmp_path: Path) -> tuple[Path, Path]:
    """(an IMTS input folder with a copy of the bundled export and its RELEASES.csv, the bundled export)."""
    imts = tmp_path / "imts"
    imts.mkdir()
    [export] = [p for p in (DATA / "imf_imts").glob("*.csv") if p.name != "RELEASES.csv"]
    (imts / export.name).write_bytes(export.read_bytes())
    (imts / "RELEASES.csv").write_bytes((DATA / "imf_imts" / "RELEASES.csv").read_bytes())
    return imts, export


def declare_only(folder: Path, name: str, retrieved_by: str) -> None:
    """Rewrite the IMTS folder's RELEASES.csv to declare only `name` as it is now, retrieved by that date."""
    from tradewh.sources.contract import file_sha256

    header = (folder / "RELEASES.csv").read_text().splitlines()[0]
    (folder / "RELEASES.csv").write_text(f"{header}\n{name},{file_sha256(folder / name)},{retrieved_by},retrieved_by\n")


def whole_build(tmp_path: Path, folder: Path, **sources: Path) -> Store:
    store = Store(tmp_path / "whole", tmp_path / "whole" / "tradewh.duckdb")
    result = run_build(store, folder, **sources)
    assert result.success and built(result).startswith("built whole: no published warehouse")
    return store


def test_changed_workbooks_patch_the_warehouse_into_what_a_whole_build_makes(
    store, inbox, tmp_path, patch_any_share, assembled
):
    # Indonesia's 2020 exports to Russia corrected (same cells), and a value put in an empty cell of
    # Afghanistan's workbook (one raw row more: every later file's raw_ids move up by one); the IMTS
    # export (Russia, every partner), Malaysia's workbook (Indonesia's mirror) and the two identical
    # Nicaragua workbooks (exact duplicates across files) stay as they are
    folder = inbox(AFGHANISTAN, INDONESIA, MALAYSIA, NICARAGUA_A, NICARAGUA_B)
    sources = {"imf_imts": DATA / "imf_imts"}
    first = run_build(store, folder, **sources)
    assert first.success and built(first).startswith("built whole: no published warehouse")
    with duckdb.connect(str(store.db_path), read_only=True) as con:
        rows_before = con.execute("SELECT count(*) FROM canonical.observations").fetchone()[0]

    cell, before = find_cell(DOTS / INDONESIA, "Exports, FOB", "Russian Federation", 2020)
    empty_cell, empty = find_cell(DOTS / AFGHANISTAN, "Exports, FOB", "Russian Federation", 1960)
    assert empty is None
    edit_workbook(DOTS / INDONESIA, folder / INDONESIA, lambda wb: wb["Exports, FOB"].__setitem__(cell, 999.5))
    edit_workbook(DOTS / AFGHANISTAN, folder / AFGHANISTAN, lambda wb: wb["Exports, FOB"].__setitem__(empty_cell, 1.25))

    second = run_build(store, folder, **sources)
    assert second.success
    assert built(second).startswith("patched the published warehouse: 2 affected file(s), 2 reporter(s)")
    # the scoped checks' frames were assembled from the first run's, and hold what their SQL finds
    from tradewh.expectations.checks import CHECKS

    assert sorted(assembled) == sorted(c.name for c in CHECKS if c.scope_columns)
    rows = kept_frames_are_the_sql_frames(store, second.run_id)
    assert rows["mirror_ratio_extreme"] and rows["world_totals_plausible"]  # Indonesia-Malaysia; every reporter
    whole = whole_build(tmp_path, folder, **sources)
    assert content_hashes(store.db_path) == content_hashes(whole.db_path)
    assert meta(store.db_path) == meta(whole.db_path)
    with duckdb.connect(str(store.db_path), read_only=True) as con:
        q = (
            "SELECT original_value FROM canonical.observations WHERE reporter_iso3 = '{}' AND partner_iso3 = 'RUS' "
            "AND flow = 'X' AND period = '{}'"
        )
        assert con.execute(q.format("IDN", 2020)).fetchall() == [(999.5,)] and number(before) != 999.5
        assert con.execute(q.format("AFG", 1960)).fetchall() == [(1.25,)]
        assert con.execute("SELECT count(*) FROM canonical.observations").fetchone()[0] == rows_before + 1


def test_a_new_release_of_a_multi_reporter_file_is_patched_with_its_release_chain(
    store, inbox, tmp_path, patch_any_share
):
    # The IMTS export again, one value revised (Russia's 2016 exports to the first partner with a
    # value), as a later release of the same file name: the release chain and the release diff of
    # Russia are computed again, and only they
    imts, export = imts_folder(tmp_path)
    folder = inbox(INDONESIA)
    assert run_build(store, folder, imf_imts=imts).success
    revised = export.read_bytes().replace(b'"0.001435"', b'"0.001436"', 1)
    assert revised != export.read_bytes()
    (imts / export.name).write_bytes(revised)
    declare_only(imts, export.name, "2026-09-01")

    second = run_build(store, folder, imf_imts=imts)
    assert second.success and built(second).startswith("patched the published warehouse: 1 affected file(s)")
    patched = content_hashes(store.db_path), meta(store.db_path)
    with duckdb.connect(str(store.db_path), read_only=True) as con:
        diff = con.execute(
            "SELECT change, previous_value_usd::DOUBLE, value_usd::DOUBLE FROM marts.release_diff WHERE source = 'imf_imts'"
        ).fetchall()
    assert diff == [("changed", 1435.0, 1436.0)]  # US$ millions in the file: 0.001435 -> 0.001436
    # the same home built again whole (nothing changed: as `tradewh build --force`), from the same raw
    # store, which keeps both releases
    again = run_build(store, folder, imf_imts=imts)
    assert again.success and built(again) == "built whole: no input file changed"
    assert (content_hashes(store.db_path), meta(store.db_path)) == patched


def test_a_conflict_in_a_patched_run_stops_it_and_names_both_files(store, inbox, patch_any_share):
    # the Nicaragua workbooks are the same download twice: one edited, the copies of a key disagree
    folder = inbox(NICARAGUA_A, NICARAGUA_B, INDONESIA)
    assert run_build(store, folder).success
    cell, _ = find_cell(DOTS / NICARAGUA_B, "Exports, FOB", "United States", 2019)
    edit_workbook(DOTS / NICARAGUA_B, folder / NICARAGUA_B, lambda wb: wb["Exports, FOB"].__setitem__(cell, 1.5))
    failed = run_build(store, folder)
    assert not failed.success
    error = str(next(e for e in failed.all_events if e.is_step_failure).step_failure_data.error)
    assert "published with different values" in error and NICARAGUA_A in error and NICARAGUA_B in error


def test_runs_that_cannot_be_patched_build_whole_and_say_why(store, inbox):
    folder = inbox(INDONESIA, NICARAGUA_A)
    assert run_build(store, folder).success
    cell, _ = find_cell(DOTS / INDONESIA, "Exports, FOB", "Russian Federation", 2020)
    edit_workbook(DOTS / INDONESIA, folder / INDONESIA, lambda wb: wb["Exports, FOB"].__setitem__(cell, 999.5))
    result = run_build(store, folder)  # one of two workbooks: half the rows
    assert result.success and built(result).startswith("built whole: the affected files hold 16,4")
    inbox(AFGHANISTAN)  # a new file name: a value the file_name ENUM of the published warehouse lacks
    result = run_build(store, folder)
    assert result.success
    assert built(result).startswith("built whole: new values for the published warehouse's ENUM types: file_name: ")
    assert AFGHANISTAN in built(result)


def test_a_file_taken_out_of_the_raw_store_is_patched_out(store, inbox, tmp_path, patch_any_share):
    # docs/operations.md, "take out a file": the workbook leaves the input folder and its file version
    # the raw store; the next build patches its rows out (the files after it move down in raw_id)
    folder = inbox(AFGHANISTAN, INDONESIA, NICARAGUA_A)
    assert run_build(store, folder).success
    (folder / AFGHANISTAN).unlink()
    [version] = store.raw_dir("imf_dots").glob(f"{AFGHANISTAN}.*")
    version.unlink()
    from conftest import write_releases

    write_releases(folder)
    result = run_build(store, folder)
    assert result.success and built(result).startswith("patched the published warehouse: 1 affected file(s)")
    whole = whole_build(tmp_path, folder)
    assert content_hashes(store.db_path) == content_hashes(whole.db_path)
    assert meta(store.db_path) == meta(whole.db_path)
    with duckdb.connect(str(store.db_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM canonical.observations WHERE reporter_iso3 = 'AFG'").fetchone() == (0,)


def test_a_release_that_brings_a_new_year_is_patched(store, inbox, tmp_path, patch_any_share):
    # The IMTS export with a column for 2025 (Russia's imports from Tuvalu, US$ 0.002 million) as a
    # later release: "2025" was loaded by no file before, and the period ENUM already holds it
    # (db.period_headroom), so the new year patches the warehouse instead of rewriting it
    imts, export = imts_folder(tmp_path)
    folder = inbox(INDONESIA)
    assert run_build(store, folder, imf_imts=imts).success
    lines = export.read_bytes().rstrip(b"\n").split(b"\n")
    tuvalu = b'"RUS.MG_CIF_USD.TUV.A"'
    lines = [lines[0] + b',"2025"'] + [line + (b',"0.002"' if tuvalu in line else b',""') for line in lines[1:]]
    (imts / export.name).write_bytes(b"\n".join(lines) + b"\n")
    declare_only(imts, export.name, "2026-10-01")
    result = run_build(store, folder, imf_imts=imts)
    assert result.success and built(result).startswith("patched the published warehouse: 1 affected file(s)")
    patched = content_hashes(store.db_path), meta(store.db_path)
    with duckdb.connect(str(store.db_path), read_only=True) as con:
        got = con.execute(
            "SELECT value_usd::DOUBLE FROM canonical.observations_latest WHERE source = 'imf_imts' AND period = '2025'"
        ).fetchall()
    assert got == [(2000.0,)]
    again = run_build(store, folder, imf_imts=imts)  # whole, from the same raw store
    assert again.success and built(again) == "built whole: no input file changed"
    assert (content_hashes(store.db_path), meta(store.db_path)) == patched


# `tradewh build` in a process that then says whether it ever imported pandas (DuckDB's Python
# client imports it, 0.35 s, at the first bound parameter or scanned pandas or Arrow object: see
# warehouse.tables, _PARAM).
BUILD = r"""
import json, sys
from tradewh.warehouse import patch
patch.PATCH_MAX_SHARE = 1.0  # a small warehouse: patch whatever the share
from tradewh.cli import main
main(["build"], standalone_mode=False)
print(json.dumps({"pandas": "pandas" in sys.modules}))
"""


def test_a_patched_build_never_imports_pandas(tmp_path, inbox):
    # nor a whole build below a million observations (db.ARROW_MIN_ROWS: a larger one's insert goes
    # in as Arrow, which imports it once, because DuckDB would copy a LazyFrame's text)
    home, folder = tmp_path / "home", inbox(AFGHANISTAN, INDONESIA)
    env = {**os.environ, "TRADEWH_HOME": str(home), "TRADEWH_IMF_DOTS_DIR": str(folder)}
    env.pop("DAGSTER_HOME", None)
    env.pop("TRADEWH_DB", None)
    for built in ("built whole", "patched"):
        if built == "patched":  # Indonesia's 2020 exports to Russia corrected
            cell, _ = find_cell(DOTS / INDONESIA, "Exports, FOB", "Russian Federation", 2020)
            edit_workbook(DOTS / INDONESIA, folder / INDONESIA, lambda wb: wb["Exports, FOB"].__setitem__(cell, 999.5))
        proc = subprocess.run([sys.executable, "-c", BUILD], env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert f"tradewh build: {built}" in proc.stdout, proc.stdout[-3000:]
        assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"pandas": False}
