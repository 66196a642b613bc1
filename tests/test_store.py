"""Build-then-swap publishing: readers are never blocked or shown a half-written warehouse, and a
failed or killed run leaves the published warehouse and the raw store as they were."""

import hashlib
import shutil

import duckdb
import pytest

from tradewh.warehouse import db
from tradewh.warehouse.store import PublishError

from conftest import AFGHANISTAN, DATA, INDONESIA, NICARAGUA_A, run_build


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def count(con):
    return con.execute("SELECT count(*) FROM canonical.observations").fetchone()[0]


def test_reader_keeps_its_snapshot_while_a_new_warehouse_is_published(store, inbox):
    folder = inbox(AFGHANISTAN)
    assert run_build(store, folder).success
    reader = duckdb.connect(str(store.db_path), read_only=True)
    before = count(reader)
    raw_before = reader.execute("SELECT count(*) FROM raw.imf_dots_cells").fetchone()[0]
    inbox(INDONESIA)  # a new workbook arrives in the same folder
    assert run_build(store, folder).success  # not blocked by the open reader
    assert count(reader) == before  # the open reader still sees the file it opened
    # and its raw view still reads its own raw-store files (the raw store only gains files)
    assert reader.execute("SELECT count(*) FROM raw.imf_dots_cells").fetchone()[0] == raw_before
    reader.close()
    with store.connect_published() as fresh:
        assert count(fresh) > before


def test_failed_build_leaves_published_warehouse_and_raw_store_untouched(store, inbox, tmp_path, monkeypatch):
    from tradewh.sources.imf_dots.source import SOURCE as IMF_DOTS

    monkeypatch.setattr(
        IMF_DOTS, "batch", 1
    )  # every workbook its own batch: the good ones are staged before the bad one fails
    folder = inbox(AFGHANISTAN, NICARAGUA_A)
    assert run_build(store, folder).success
    published = digest(store.db_path)
    raw_files = {p.name: digest(p) for p in store.raw_files("imf_dots")}
    (folder / "DOTS_999.xlsx").write_text("<html>rate limited</html>")  # a broken download
    inbox(INDONESIA)  # and a good new one beside it
    result = run_build(store, folder)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "DOTS_999.xlsx" in str(failure.step_failure_data.error)
    assert digest(store.db_path) == published
    assert {p.name: digest(p) for p in store.raw_files("imf_dots")} == raw_files  # nothing half-ingested
    # good workbooks are staged batch by batch as they are scanned; a bad one removes them again
    assert not store.staging_dir(result.run_id, "imf_dots").exists()


def test_publish_refuses_missing_or_broken_candidates(store, inbox):
    assert run_build(store, inbox(AFGHANISTAN)).success
    published = digest(store.db_path)
    with pytest.raises(PublishError, match="no candidate warehouse"):
        store.publish("run-that-never-built")
    store.candidate_path("killed").write_bytes(b"DUCK" + b"\0" * 100)  # a run killed mid-write
    with pytest.raises(PublishError, match="not a readable warehouse"):
        store.publish("killed")
    assert digest(store.db_path) == published


def test_the_raw_view_reads_the_raw_store_in_place_and_publish_needs_its_files(store, inbox):
    assert run_build(store, inbox(AFGHANISTAN, INDONESIA)).success
    files = store.raw_files("imf_dots")
    with store.connect_published() as con:
        kinds = dict(
            con.execute(
                "SELECT table_name, 'table' FROM duckdb_tables() WHERE schema_name = 'raw' "
                "UNION ALL SELECT view_name, 'view' FROM duckdb_views() WHERE schema_name = 'raw'"
            ).fetchall()
        )
        listed = [p for (p,) in con.execute("SELECT path FROM meta.raw_files ORDER BY file_index").fetchall()]
        rows = con.execute("SELECT count(*) FROM raw.imf_dots_cells").fetchone()[0]
    assert kinds == {"imf_dots_cells": "view"}  # no copy of the raw cells in the warehouse file
    assert listed == [str(f) for f in files]
    assert rows == sum(duckdb.sql(f"SELECT count(*) FROM '{f}'").fetchone()[0] for f in files)
    # a candidate whose raw-store files are gone is not published
    published = digest(store.db_path)
    candidate = store.candidate_path("raw-lost")
    shutil.copyfile(store.db_path, candidate)  # the published file, as a candidate before its raw view
    with duckdb.connect(str(candidate)) as con:
        con.execute("DROP VIEW raw.imf_dots_cells")
    files[0].rename(files[0].with_suffix(".moved"))
    with pytest.raises(PublishError, match=f"missing: {files[0]}"):
        store.publish("raw-lost", finalize=db.create_raw_views)
    assert digest(store.db_path) == published


def test_write_failure_mid_build_publishes_nothing(store, inbox, monkeypatch):
    folder = inbox(AFGHANISTAN)
    assert run_build(store, folder).success
    published = digest(store.db_path)
    calls = {"n": 0}
    real_insert = db.insert

    def failing_insert(con, table, frame, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise duckdb.IOException("disk full (simulated)")
        real_insert(con, table, frame, **kwargs)

    monkeypatch.setattr(db, "insert", failing_insert)
    result = run_build(store, folder)
    assert not result.success
    assert digest(store.db_path) == published
    assert not store.candidate_path(result.run_id).exists()  # the partial candidate was removed


def test_as_of_and_latest_pick_one_release_per_observation(store, inbox):
    from conftest import NICARAGUA_B

    folder = inbox(NICARAGUA_A, NICARAGUA_B, releases={NICARAGUA_A: "2022-02-20", NICARAGUA_B: "2022-03-15"})
    assert run_build(store, folder).success
    with store.connect_published() as con:
        per_vintage = dict(
            con.execute("SELECT vintage::VARCHAR, count(*) FROM canonical.observations GROUP BY 1").fetchall()
        )
        assert set(per_vintage) == {"2022-02-20", "2022-03-15"}

        def vintages(sql):
            return dict(con.execute(f"SELECT vintage::VARCHAR, count(*) FROM {sql} GROUP BY 1").fetchall())

        assert vintages("canonical.observations_latest") == {"2022-03-15": per_vintage["2022-03-15"]}
        assert vintages("canonical.observations_asof(DATE '2022-03-01')") == {"2022-02-20": per_vintage["2022-02-20"]}
        assert vintages("canonical.observations_asof(DATE '2022-03-15')") == {"2022-03-15": per_vintage["2022-03-15"]}
        assert vintages("canonical.observations_asof(DATE '2022-01-01')") == {}
        comments = dict(
            con.execute("SELECT view_name, comment FROM duckdb_views() WHERE schema_name = 'canonical'").fetchall()
        )
        assert "newest release" in comments["observations_latest"]


def test_a_failed_load_does_not_poison_later_builds(store, inbox):
    # A workbook with a name the crosswalk lacks stops the run. Once the file is fixed, the next
    # build must succeed: the bad version never reached the raw store.
    from conftest import DOTS, edit_workbook

    folder = inbox(INDONESIA)
    edit_workbook(
        DOTS / AFGHANISTAN, folder / AFGHANISTAN, lambda wb: wb["Exports, FOB"].__setitem__("B10", "Atlantis")
    )
    failed = run_build(store, folder)
    assert not failed.success
    assert "Atlantis" in str(next(e for e in failed.all_events if e.is_step_failure).step_failure_data.error)
    assert store.raw_files("imf_dots") == []
    inbox(AFGHANISTAN)  # the original file back in place
    assert run_build(store, folder).success
    assert len(store.raw_files("imf_dots")) == 2


def test_a_corrected_file_in_the_same_release_supersedes_the_old_one(store, inbox):
    from conftest import DOTS, edit_workbook, find_cell, write_releases

    folder = inbox(AFGHANISTAN, releases={AFGHANISTAN: "2022-02-20"})
    assert run_build(store, folder).success
    cell, value = find_cell(DOTS / AFGHANISTAN, "Exports, FOB", "World", 2020)
    edit_workbook(DOTS / AFGHANISTAN, folder / AFGHANISTAN, lambda wb: wb["Exports, FOB"].__setitem__(cell, 999.0))
    write_releases(folder, {AFGHANISTAN: "2022-02-20"})  # same release, corrected file
    assert run_build(store, folder).success  # no conflict with the superseded version
    assert len(store.raw_files("imf_dots")) == 1
    with store.connect_published() as con:
        got = con.execute(
            "SELECT original_value FROM canonical.observations WHERE reporter_iso3='AFG' AND partner_iso3='W00' "
            "AND flow='X' AND period='2020'"
        ).fetchall()
    assert got == [(999.0,)] and value != 999.0


def test_latest_does_not_fill_a_dropped_value_from_an_older_release(store, inbox):
    from conftest import DOTS, edit_workbook, find_cell, write_releases

    folder = inbox(AFGHANISTAN, releases={AFGHANISTAN: "2022-02-20"})
    cell, _ = find_cell(DOTS / AFGHANISTAN, "Exports, FOB", "World", 2019)
    edit_workbook(
        DOTS / AFGHANISTAN, folder / "DOTS_1_2022-06.xlsx", lambda wb: wb["Exports, FOB"].__setitem__(cell, None)
    )
    write_releases(folder, {AFGHANISTAN: "2022-02-20", "DOTS_1_2022-06.xlsx": "2022-06-01"})
    assert run_build(store, folder).success
    q = "SELECT vintage::VARCHAR FROM {} WHERE reporter_iso3='AFG' AND partner_iso3='W00' AND flow='X' AND period='2019'"
    with store.connect_published() as con:
        assert con.execute(q.format("canonical.observations")).fetchall() == [("2022-02-20",)]
        assert con.execute(q.format("canonical.observations_latest")).fetchall() == []
        assert con.execute(q.format("canonical.observations_asof(DATE '2022-05-01')")).fetchall() == [("2022-02-20",)]


def test_summary_tells_file_versions_and_releases_apart(store, inbox, capsys):
    """One workbook in two releases: the summary counts 1 workbook in 2 file versions, and each line
    about entities outside their validity says which release it is from."""
    from tradewh.cli import _print_summary

    from conftest import DOTS, edit_workbook, write_releases

    assert run_build(store, inbox(INDONESIA, name="first", releases={INDONESIA: "2022-02-20"})).success
    second = inbox(name="second")
    edit_workbook(DOTS / INDONESIA, second / INDONESIA, lambda wb: None)  # re-saved: new bytes, same cells
    write_releases(second, {INDONESIA: "2022-03-15"})
    assert run_build(store, second).success
    _print_summary(store)
    out = capsys.readouterr().out
    assert "files      1 workbooks or archived answers in 2 file versions, vintages 2022-02-20, 2022-03-15" in out
    validity = [
        line
        for line in out.splitlines()
        if "observations" in line and ("after its end" in line or "before its start" in line)
    ]
    assert validity and all(line.endswith(("(release 2022-02-20)", "(release 2022-03-15)")) for line in validity)
    assert len(validity) == len(set(validity))


@pytest.fixture
def parses(monkeypatch):
    """The names of the workbooks the next runs parse (imf_dots.scan_workbook calls)."""
    from tradewh.sources.imf_dots import workbook as imf_dots

    seen, scan = [], imf_dots.scan_workbook
    monkeypatch.setattr(imf_dots, "scan_workbook", lambda path, *a, **k: seen.append(path.name) or scan(path, *a, **k))
    return seen


def test_a_workbook_already_in_the_raw_store_is_not_parsed_again(store, inbox, parses):
    folder = inbox(AFGHANISTAN, INDONESIA)
    assert run_build(store, folder).success
    assert sorted(parses) == [AFGHANISTAN, INDONESIA]
    with store.connect_published() as con:
        before = con.execute("SELECT count(*), sum(value_usd) FROM canonical.observations").fetchone()
    raw_before = {p.name: digest(p) for p in store.raw_files("imf_dots")}
    parses.clear()
    result = run_build(store, folder)  # nothing new: both come from the raw store
    assert result.success and parses == []
    assert {p.name: digest(p) for p in store.raw_files("imf_dots")} == raw_before
    with store.connect_published() as con:
        assert con.execute("SELECT count(*), sum(value_usd) FROM canonical.observations").fetchone() == before
    raw = next(m for m in result.get_asset_materialization_events() if m.asset_key.path == ["raw", "imf_dots_cells"])
    meta = raw.materialization.metadata
    assert meta["files"].value == 2 and meta["files_parsed"].value == 0
    assert meta["dagster/row_count"].value == sum(pq_rows(p) for p in store.raw_files("imf_dots"))
    inbox(NICARAGUA_A)  # a new workbook: only it is parsed
    assert run_build(store, folder).success and parses == [NICARAGUA_A]


def pq_rows(path):
    import pyarrow.parquet as pq

    return pq.read_metadata(path).num_rows


def test_a_changed_parser_or_a_file_without_its_fingerprint_is_parsed_again(store, inbox, parses, monkeypatch):
    import polars as pl

    from tradewh.sources.imf_dots import workbook as imf_dots
    from tradewh.warehouse.ingest import PARSER_KEY

    folder = inbox(AFGHANISTAN, INDONESIA)
    assert run_build(store, folder).success
    parses.clear()
    monkeypatch.setattr(imf_dots, "parser_fingerprint", lambda: "a fixed parser")
    assert run_build(store, folder).success and sorted(parses) == [AFGHANISTAN, INDONESIA]
    assert {store.raw_metadata(p)[PARSER_KEY] for p in store.raw_files("imf_dots")} == {"a fixed parser"}
    # a raw file written before fingerprints were kept (no metadata) is parsed again too
    old = next(p for p in store.raw_files("imf_dots") if p.name.startswith(INDONESIA))
    pl.read_parquet(old).write_parquet(old)
    parses.clear()
    assert run_build(store, folder).success and parses == [INDONESIA]


def test_a_damaged_raw_file_is_parsed_again_and_replaced(store, inbox, parses):
    folder = inbox(AFGHANISTAN)
    assert run_build(store, folder).success
    (raw,) = store.raw_files("imf_dots")
    good = digest(raw)
    raw.write_bytes(raw.read_bytes()[:1000])  # cut short, e.g. a disk that filled up
    parses.clear()
    assert run_build(store, folder).success and parses == [AFGHANISTAN]
    assert digest(raw) == good  # written again, the same bytes as before the damage


def test_a_new_release_of_one_source_runs_only_its_own_partition(store, inbox, tmp_path, parses):
    # Partitions are source releases (<source>/<date>): a new IMTS release beside the DOTS workbooks
    # already ingested runs the imf_imts partition alone, and no workbook is parsed again.
    import dagster as dg

    from tradewh.assets.partitions import run_tags
    from tradewh.sources.contract import file_sha256

    from conftest import DATA, warehouse_resource

    instance = dg.DagsterInstance.ephemeral()
    imts = tmp_path / "imts"
    imts.mkdir()
    [export] = [p for p in (DATA / "imf_imts").glob("*.csv") if p.name != "RELEASES.csv"]
    shutil.copy(export, imts / export.name)
    shutil.copy(DATA / "imf_imts" / "RELEASES.csv", imts / "RELEASES.csv")
    dots = inbox(AFGHANISTAN, releases={AFGHANISTAN: "2022-02-20"})
    first = run_build(store, dots, instance=instance, imf_imts=imts)
    assert first.success and sorted(parses) == [AFGHANISTAN]
    assert first.dagster_run.tags["dagster/asset_partition_range_start"] == "imf_dots/2022-02-20"
    assert first.dagster_run.tags["dagster/asset_partition_range_end"] == "imf_imts/2026-05-09"
    # the IMF publishes again: the same export, one value revised, retrieved by a later date
    revised = imts / "imts_rus_annual_2016_2024_rev.csv"
    revised.write_bytes(export.read_bytes().replace(b'"0.001435"', b'"0.001436"', 1))
    (imts / "RELEASES.csv").write_text(
        (imts / "RELEASES.csv").read_text() + f"{revised.name},{file_sha256(revised)},2026-09-01,retrieved_by\n"
    )
    parses.clear()
    tags = run_tags(instance, warehouse_resource(store, imf_dots=dots, imf_imts=imts).folders(), store)
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (
        "imf_imts/2026-09-01",
    ) * 2
    second = run_build(store, dots, instance=instance, imf_imts=imts)
    assert second.success and parses == []  # no workbook parsed: the DOTS release is read from the raw store
    with store.connect_published() as con:
        releases = con.execute(
            "SELECT DISTINCT vintage::VARCHAR FROM canonical.observations WHERE source = 'imf_imts' ORDER BY 1"
        ).fetchall()
    assert releases == [("2026-05-09",), ("2026-09-01",)]


def test_two_builds_from_the_same_input_are_identical_to_the_bit(tmp_path, inbox):
    # issue 14: sum(value_usd) differed from run to run (DOUBLE added in parallel, in any order), and two
    # builds from identical input differed in ~2,150 rows of marts.group_partner_annual. Amounts are
    # exact cents now (DECIMAL), and so are their sums. SingStat's monthly rows are summed into years.
    from tradewh.warehouse.store import Store

    from conftest import MALAYSIA, content_hashes

    folder = inbox(AFGHANISTAN, INDONESIA, MALAYSIA)
    hashes = []
    for name in ("one", "two"):
        store = Store(tmp_path / name, tmp_path / name / "tradewh.duckdb")
        assert run_build(store, folder, singstat=DATA / "singstat", imf_imts=DATA / "imf_imts").success
        hashes.append(content_hashes(store.db_path))
    assert hashes[0] == hashes[1]
    assert {
        "canonical.observations",
        "canonical.observations_latest",
        "marts.group_partner_annual",
        "marts.bilateral_annual",
        "marts.bilateral_growth",
        "ref.entities",
    } <= hashes[0].keys()
    assert hashes[0]["marts.group_partner_annual"][0] > 0
    with duckdb.connect(str(store.db_path), read_only=True) as con:
        totals = {con.execute("SELECT sum(value_usd) FROM canonical.observations").fetchone()[0] for _ in range(20)}
        kind = con.execute("SELECT typeof(sum(value_usd)) FROM canonical.observations").fetchone()[0]
    assert len(totals) == 1 and kind.startswith("DECIMAL")


def test_a_file_rewritten_at_once_with_the_same_size_and_time_is_read_again(tmp_path):
    # What a process remembers of a file (its SHA-256, a Parquet footer) is keyed by its size,
    # modification time and inode; a file modified in the last RACY_NS is read again each time, so a
    # rewrite within the file system's timestamp granularity (same size, same time) is not missed
    import os

    import polars as pl

    from tradewh.sources.contract import file_sha256
    from tradewh.warehouse.store import footer

    path = tmp_path / "file.bin"
    path.write_bytes(b"a" * 100)
    before, st = file_sha256(path), path.stat()
    path.write_bytes(b"b" * 100)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # the same size and time as when it was hashed
    assert file_sha256(path) != before == hashlib.sha256(b"a" * 100).hexdigest()
    parquet = tmp_path / "file.parquet"
    pl.DataFrame({"x": [1, 2]}).write_parquet(parquet)
    assert footer(parquet).num_rows == 2
    pl.DataFrame({"x": [1, 2, 3]}).write_parquet(parquet)
    assert footer(parquet).num_rows == 3
