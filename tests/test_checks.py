"""Validation: each blocking check fails on real rows with one field corrupted (and only that check
fails, and publish does not run); warnings report real anomalies; a check that cannot run is an error."""

import dataclasses
import json
import os
import sys
import time

import dagster as dg
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from tradewh.expectations.checks import CHECKS
from tradewh.expectations.runner import validate

from conftest import (
    AFGHANISTAN,
    BULGARIA,
    DATA,
    DOTS,
    INDONESIA,
    MALAYSIA,
    WORLD,
    edit_workbook,
    find_cell,
    number,
    run_build,
    write_releases,
)

BLOCKING = {c.name for c in CHECKS if c.blocking}
PUBLISH = dg.AssetKey(["publish", "warehouse"])
CANONICAL = dg.AssetKey(["canonical", "observations"])


def shown(table) -> list[dict]:
    """The rows of a table metadata value as the web UI shows them."""
    return [r.data for r in table.records]


def evaluations(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def materialized(result) -> set[dg.AssetKey]:
    return (
        {m.asset_key for m in result.get_asset_materialization_events()}
        if hasattr(result, "get_asset_materialization_events")
        else {e.asset_key for e in result.all_events if e.is_step_materialization}
    )


def assert_only_blocking_failure(result, name):
    evals = evaluations(result)
    failed = {n for n, e in evals.items() if not e.passed and n in BLOCKING}
    assert failed == {name}, {n: evals[n].metadata for n in failed}
    assert PUBLISH not in materialized(result)
    return evals[name]


def test_bundled_rows_pass_every_blocking_check(store, inbox):
    # two DOTS workbooks and the other sources' bundled files: every asset has rows (Indonesia's
    # trade with Russia is in DOTS, IMTS and Comtrade, so marts.source_comparison has rows too)
    result = run_build(
        store,
        inbox(AFGHANISTAN, INDONESIA),
        imf_imts=DATA / "imf_imts",
        comtrade=DATA / "comtrade",
        singstat=DATA / "singstat",
    )
    assert result.success
    evals = evaluations(result)
    assert set(evals) == {c.name for c in CHECKS}
    assert all(evals[n].passed for n in BLOCKING)
    assert PUBLISH in materialized(result)
    # the featured question's chart (ASEAN members' trade with Russia), drawn from the published warehouse
    from tradewh.assets.publish import FEATURED_CHART, featured_chart

    from conftest import warehouse_resource

    chart = dg.materialize([featured_chart], resources={"warehouse": warehouse_resource(store)})
    [event] = [e for e in chart.get_asset_materialization_events() if e.asset_key == FEATURED_CHART]
    assert "data:image/png;base64," in event.materialization.metadata["chart"].value
    # every asset's materialization carries its row count and a table preview (the web UI shows both)
    for event in result.get_asset_materialization_events():
        meta = event.materialization.metadata
        if event.asset_key == dg.AssetKey(["marts", "release_diff"]):  # one release of each reporter: nothing to diff
            assert meta["dagster/row_count"].value == 0 and shown(meta["preview"]) == []
        else:
            assert meta["dagster/row_count"].value > 0 and shown(meta["preview"]), event.asset_key
    with store.connect_published() as con:
        rows = dict(con.execute("SELECT check_name, status FROM meta.check_results").fetchall())
        # raw.imf_dots_cells is a view over the raw store's files, the observations were numbered by
        # Polars reading the same files: both must number the raw cells alike (lineage by raw_id)
        mismatched, joined, observations = con.execute(
            "SELECT count(*) FILTER (WHERE r.source_file <> o.source_file OR r.cell <> o.source_cell OR r.sheet <> o.source_sheet), "
            "count(r.raw_id), (SELECT count(*) FROM canonical.observations WHERE source = 'imf_dots') "
            "FROM canonical.observations o LEFT JOIN raw.imf_dots_cells r USING (raw_id) WHERE o.source = 'imf_dots'"
        ).fetchone()
        # the other sources' rows lead back to their own raw views by the same raw_id numbering
        others = con.execute(
            "SELECT count(*) FILTER (WHERE o.source = 'imf_imts' AND i.raw_id IS NULL) "
            "+ count(*) FILTER (WHERE o.source = 'comtrade' AND c.raw_id IS NULL), count(*) FILTER (WHERE o.source <> 'imf_dots') "
            "FROM canonical.observations o LEFT JOIN raw.imf_imts_values i USING (raw_id) LEFT JOIN raw.comtrade_records c USING (raw_id)"
        ).fetchone()
        assert others[0] == 0 and others[1] > 0
    assert set(rows) == {c.name for c in CHECKS} and all(rows[n] == "passed" for n in BLOCKING)
    assert mismatched == 0 and joined == observations > 0


def test_raw_lineage_present_fails_on_a_stored_release_with_a_lost_cell_reference(store, inbox):
    assert run_build(store, inbox(AFGHANISTAN, name="first")).success
    [stored] = store.raw_files("imf_dots")
    frame = pl.read_parquet(stored)
    frame.with_columns(cell=pl.when(pl.int_range(pl.len()) == 7).then(None).otherwise(pl.col("cell"))).write_parquet(
        stored
    )
    result = run_build(store, inbox(INDONESIA, name="second"))  # the stored Afghanistan release is read too
    ev = assert_only_blocking_failure(result, "raw_lineage_present")
    assert ev.metadata["failing_rows"].value == 1
    assert CANONICAL not in materialized(result)  # blocked before the canonical layer


def test_period_check_fails_on_a_year_header_in_the_future(store, inbox):
    folder = inbox()
    edit_workbook(DOTS / AFGHANISTAN, folder / AFGHANISTAN, lambda wb: wb["Imports, CIF"].__setitem__("BE7", "2099"))
    result = run_build(store, folder)
    ev = assert_only_blocking_failure(result, "flow_valuation_freq_period_valid")
    assert "2099" in [r["period"] for r in shown(ev.metadata["examples"])]
    assert ev.metadata["failing_rows"].value > 0


def test_world_totals_check_fails_on_a_value_a_million_times_too_large(store, inbox):
    cell, value = find_cell(DOTS / AFGHANISTAN, "Exports, FOB", "World", 2020)
    folder = inbox()
    edit_workbook(
        DOTS / AFGHANISTAN, folder / AFGHANISTAN, lambda wb: wb["Exports, FOB"].__setitem__(cell, value * 1e6)
    )
    result = run_build(store, folder)
    ev = assert_only_blocking_failure(result, "world_totals_plausible")
    assert ev.metadata["failing_rows"].value == 1 and cell in [r["source_cell"] for r in shown(ev.metadata["examples"])]
    assert [(r["reporter_iso3"], r["reporter_name"]) for r in shown(ev.metadata["examples"])] == [
        ("AFG", "Afghanistan")
    ]


def test_warnings_report_real_anomalies_and_do_not_block(store, inbox):
    # World's exports to Malaysia 1960 are published as -4.8 (DOTS_221.xlsx).
    cell, value = find_cell(DOTS / WORLD, "Exports, FOB", "Malaysia", 1960)
    assert value == -4.8
    result = run_build(store, inbox(WORLD))
    assert result.success and PUBLISH in materialized(result)
    evals = evaluations(result)
    negative = evals["negative_values"]
    assert not negative.passed and negative.severity == dg.AssetCheckSeverity.WARN
    assert cell in [r["source_cell"] for r in shown(negative.metadata["examples"])]
    # The check validates a summary per reporter and flow; the rows it counts must be every negative
    # cell of the workbook, counted here with openpyxl (distinct sheet x partner x year: the
    # Australia row is printed twice).
    import openpyxl

    negatives = set()
    for ws in openpyxl.load_workbook(DOTS / WORLD, read_only=True).worksheets:
        rows = list(ws.iter_rows(values_only=True))
        for row in rows[7:]:
            negatives |= {
                (ws.title, row[1], y) for y, v in zip(rows[6][2:], row[2:]) if v not in (None, "") and number(v) < 0
            }
    assert len(negatives) > 1 and negative.metadata["failing_rows"].value == len(negatives)


# Former countries and the last year they existed (by hand, from their dissolution dates).
ENDED = {
    "USSR": 1991,
    "Yugoslavia": 1992,
    "Czechoslovakia": 1992,
    "Eastern Germany": 1990,
    "Serbia and Montenegro": 2006,
    "Netherlands Antilles": 2010,
    "Yemen, People's Dem. Rep. of": 1990,
    "Yemen Arab Rep.": 1990,
    "Belgium-Luxembourg": 1998,
    "Malaysia, West": 1963,
}


def test_historical_after_end_counts_every_late_cell_of_the_workbook(store, inbox):
    import openpyxl

    wb = openpyxl.load_workbook(DOTS / INDONESIA, read_only=True)
    late = 0
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        years = rows[6]
        for row in rows[7:]:
            if row[1] in ENDED:
                late += sum(
                    1 for y, v in zip(years[2:], row[2:]) if y and int(y) > ENDED[row[1]] and v not in (None, "")
                )
    assert late > 0
    result = run_build(store, inbox(INDONESIA))
    ev = evaluations(result)["historical_after_end"]
    assert not ev.passed and ev.metadata["failing_rows"].value == late


def test_a_check_that_cannot_run_is_an_error_not_a_pass():
    import great_expectations.expectations as gxe

    frame = pd.DataFrame({"value_usd": [1.0, 2.0]})
    outcome = validate(
        "broken", True, frame, [gxe.ExpectColumnValuesToBeBetween(column="no_such_column", min_value=0)], ["value_usd"]
    )
    assert outcome.status == "error" and not outcome.passed
    assert "no_such_column" in outcome.error


def test_a_failing_check_returns_its_rows():
    import great_expectations.expectations as gxe

    frame = pd.DataFrame({"k": ["a", "b", "c"], "value_usd": [1.0, -2.0, -3.0]})
    outcome = validate(
        "neg", False, frame, [gxe.ExpectColumnValuesToBeBetween(column="value_usd", min_value=0)], ["k", "value_usd"]
    )
    assert (outcome.status, outcome.failing_rows) == ("warning", 2)
    assert outcome.examples == [{"k": "b", "value_usd": -2.0}, {"k": "c", "value_usd": -3.0}]


ESTIMATE_FRAME = pa.table(
    {
        "source": ["imf_dots"] * 2,
        "vintage": ["2022-02-20"] * 2,
        "reporter_iso3": ["AGO", "ASM"],
        "observations": [10, 10],
        "estimated_share": [0.1, 0.8],
    }
)


def test_the_gx_helper_validates_and_a_dead_one_is_replaced():
    from tradewh.expectations import worker

    first = worker.validate("estimate_share_high", False, ESTIMATE_FRAME, 10)
    assert (first.status, first.failing_rows, first.examples[0]["reporter_iso3"]) == ("warning", 1, "ASM")
    helper = worker._shared()._process
    helper.kill()
    helper.wait()
    again = worker.validate("estimate_share_high", False, ESTIMATE_FRAME, 10)
    assert (again.status, again.failing_rows) == ("warning", 1)


def test_a_gx_helper_that_cannot_start_gives_an_error_never_a_pass(monkeypatch):
    from tradewh.expectations import worker

    worker.shutdown()
    monkeypatch.setattr(worker.GxWorker, "command", [sys.executable, "-c", "pass"])  # exits at once
    outcome = worker.validate("estimate_share_high", False, ESTIMATE_FRAME.slice(0, 1), 10)  # a frame that would pass
    assert outcome.status == "error" and not outcome.passed
    assert "GX helper process failed" in outcome.error
    monkeypatch.undo()
    assert worker.validate("estimate_share_high", False, ESTIMATE_FRAME.slice(0, 1), 10).status == "passed"


def test_tradewh_build_reports_the_blocking_check_and_keeps_the_published_warehouse(tmp_path, inbox):
    import hashlib
    import os
    import subprocess
    import sys
    from pathlib import Path

    tradewh = str(Path(sys.executable).parent / "tradewh")
    env = {
        **os.environ,
        "TRADEWH_HOME": str(tmp_path / "home"),
        "TRADEWH_IMF_DOTS_DIR": str(inbox(AFGHANISTAN, name="good")),
    }
    env.pop("DAGSTER_HOME", None)
    env.pop("TRADEWH_DB", None)
    assert subprocess.run([tradewh, "build"], env=env, capture_output=True, timeout=300).returncode == 0
    db = tmp_path / "home" / "tradewh.duckdb"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    cell, value = find_cell(DOTS / AFGHANISTAN, "Exports, FOB", "World", 2020)
    bad = tmp_path / "bad"
    bad.mkdir()
    edit_workbook(DOTS / AFGHANISTAN, bad / AFGHANISTAN, lambda wb: wb["Exports, FOB"].__setitem__(cell, value * 1e6))
    write_releases(bad)
    proc = subprocess.run(
        [tradewh, "build"], env={**env, "TRADEWH_IMF_DOTS_DIR": str(bad)}, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 1
    assert "check world_totals_plausible on canonical/observations failed: 1 of" in proc.stderr
    example = next(line for line in proc.stderr.splitlines() if line.split()[:2] and cell in line.split())
    assert "DOTS_1.xlsx" in example and "Exports, FOB" in example  # the failing row, printed as a table row
    assert "the published warehouse was not changed" in proc.stderr
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


RUSSIA = "DOTS_162.xlsx"  # the Russian Federation's DOTS workbook (its name is in B4)


def test_constant_factor_catches_a_release_multiplied_by_a_constant(store, inbox, tmp_path):
    # The IMTS export for Russia overlaps Russia's DOTS workbook in 2016-2020: the same figures, four
    # years apart. Divide one year of the export by 1000 (billions read as millions): against DOTS
    # that year's ratios are all 1000, a constant factor, and the warning names it (x1000 would be
    # stopped earlier: Russia's World total would pass the blocking world_totals_plausible bound).
    # The untouched export passes (the bundled data: 0 warned about).
    import csv
    import shutil

    original = DATA / "imf_imts"
    edited = tmp_path / "imts_div1000"
    edited.mkdir()
    [export] = [p for p in original.glob("*.csv") if p.name != "RELEASES.csv"]
    with open(export, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    year = rows[0].index("2019")
    for r in rows[1:]:
        if r[year]:
            r[year] = repr(float(r[year]) / 1000)
    with open(edited / export.name, "w", newline="", encoding="utf-8-sig") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL).writerows(rows)
    from tradewh.sources.contract import file_sha256

    (edited / "RELEASES.csv").write_text(
        f"source_file,file_sha256,vintage,release_kind\n{export.name},{file_sha256(edited / export.name)},2026-05-09,retrieved_by\n"
    )
    result = run_build(store, inbox(RUSSIA), imf_imts=edited)
    assert result.success  # a warning, not a blocking check
    ev = evaluations(result)["constant_factor"]
    assert not ev.passed and ev.severity == dg.AssetCheckSeverity.WARN
    with store.connect_published() as con:
        found = [
            json.loads(r)
            for (r,) in con.execute(
                "SELECT row_json FROM meta.check_failures WHERE check_name = 'constant_factor'"
            ).fetchall()
        ]
    assert {(f["reporter_iso3"], f["year"], f["comparison"]) for f in found} == {("RUS", 2019, "same_side")}
    assert {f["flow"] for f in found} == {"X", "M"}
    assert all(f["median_ratio"] == pytest.approx(1000, rel=0.01) for f in found)  # DOTS / IMTS
    # the same build with the export as published finds nothing
    shutil.rmtree(store.home)
    clean = run_build(store, inbox(RUSSIA, name="again"), imf_imts=original)
    assert evaluations(clean)["constant_factor"].passed


LAOS = "DOTS_110.xlsx"  # Lao People's Dem. Rep. (B4)


def scale_workbook(wb, factor: float) -> None:
    """Every published value of both sheets x factor, in the tests' own terms: numbers multiplied,
    IMF estimates ("14.43 e") rewritten as text estimates of the multiplied value."""
    for ws in wb.worksheets:
        for row in ws.iter_rows(min_row=8, min_col=3):
            for c in row:
                if isinstance(c.value, (int, float)):
                    c.value = c.value * factor
                elif isinstance(c.value, str) and c.value.strip():
                    c.value = f"{number(c.value) * factor:.2f} e"


def test_a_release_multiplied_by_1000_stops_the_publish(store, inbox, tmp_path):
    # Issue 14: Laos's workbook with every value x1000, dropped in as a new release, built with every
    # blocking check passing. Now the new release is compared with Laos's previous one, partner by
    # partner: every ratio is 1000, which no revision does, and the publish stops naming the file.
    folder = inbox(LAOS)
    assert run_build(store, folder).success
    published = store.db_path.read_bytes()
    edit_workbook(DOTS / LAOS, folder / "DOTS_110_x1000.xlsx", lambda wb: scale_workbook(wb, 1000))
    write_releases(folder, {"DOTS_110_x1000.xlsx": "2022-06-01"})
    result = run_build(store, folder)
    ev = evaluations(result)["release_constant_factor"]
    assert not ev.passed and ev.severity == dg.AssetCheckSeverity.ERROR
    assert dg.AssetKey(["publish", "warehouse"]) not in materialized(result)
    assert store.db_path.read_bytes() == published
    # the UI's table: the reporter, both files, the factor and its spread rounded to be read
    assert {
        (r["reporter_iso3"], r["source_file"], r["previous_file"], r["median_ratio"], r["spread"])
        for r in shown(ev.metadata["examples"])
    } == {("LAO", "DOTS_110_x1000.xlsx", "DOTS_110.xlsx", "1,000.00", "1.00")}
    # the same workbook as a real revision (one value changed) is a new release like any other
    edit_workbook(
        DOTS / LAOS,
        folder / "DOTS_110_x1000.xlsx",
        lambda wb: wb["Exports, FOB"].__setitem__(find_cell(DOTS / LAOS, "Exports, FOB", "Thailand", 2019)[0], 1.0),
    )
    write_releases(folder, {"DOTS_110_x1000.xlsx": "2022-06-01"})
    revised = run_build(store, folder)
    assert revised.success and evaluations(revised)["release_constant_factor"].passed


def test_a_checks_outcome_is_reused_only_for_the_same_frame(store, inbox, tmp_path, monkeypatch):
    # A patched build validates the whole candidate again; a check whose frame (its rows, in any
    # order) is the one it validated last reuses that GX outcome, and only that one
    import duckdb

    from tradewh.expectations import validate as v

    def candidate_checks(path, cache):
        with duckdb.connect(str(path), read_only=True) as con:
            return v.validate_candidate(con, cache=cache)

    assert run_build(store, inbox(INDONESIA)).success
    db = tmp_path / "copy.duckdb"
    db.write_bytes(store.db_path.read_bytes())
    cache = tmp_path / "cache"
    first = candidate_checks(db, cache)
    validated = []
    real = v.worker.validate
    monkeypatch.setattr(v.worker, "validate", lambda name, *a: validated.append(name) or real(name, *a))
    again = candidate_checks(db, cache)
    assert validated == [] and [o for o, _ in again] == [o for o, _ in first]
    # one value of Indonesia made negative: the frames of the checks that look at values change
    with duckdb.connect(str(db)) as con:
        con.execute(
            "UPDATE canonical.observations SET value_usd = -value_usd, is_negative = true "
            "WHERE reporter_iso3 = 'IDN' AND partner_iso3 = 'RUS' AND flow = 'X' AND period = '2019'"
        )
    third = {o.name: o for o, _ in candidate_checks(db, cache)}
    assert "negative_values" in validated and "flow_valuation_freq_period_valid" not in validated
    assert third["negative_values"].failing_rows == {o.name: o for o, _ in first}["negative_values"].failing_rows + 1


def test_a_raw_files_summary_is_computed_once_and_again_when_the_file_changes(store, inbox, tmp_path, monkeypatch):
    # raw_lineage_present's frame aggregates one summary per raw-store file: a run summarises only the
    # files it has not summarised as they are now, and its outcome is the one of summarising them all
    from tradewh.expectations import validate as v
    from tradewh.expectations.checks import raw_columns

    assert run_build(store, inbox(AFGHANISTAN, INDONESIA)).success
    asset = "raw/imf_dots_cells"
    files = store.raw_files("imf_dots")
    for f in files:  # written a minute ago: not "racy" (sources.contract.RACY_NS), whenever the test runs
        os.utime(f, ns=(time.time_ns() - 60 * 10**9,) * 2)
    empty = pl.DataFrame(schema={"raw_id": pl.Int64, **{c: pl.String for c in raw_columns(asset)}})
    summarised = []
    real = v._create_raw_cells
    monkeypatch.setattr(
        v,
        "_create_raw_cells",
        lambda con, a, fs, first: (summarised.append([f.name for f in fs]), real(con, a, fs, first))[1],
    )
    cache = tmp_path / "cache"
    [(alone, _)] = v.validate_raw(asset, files[:1], 0, empty, cache=cache)
    [(both, _)] = v.validate_raw(asset, files, 0, empty, cache=cache)
    names = [f.name for f in files]
    assert summarised == [names[:1], names[:1], names, names[1:]]  # each call: the view, then the files summarised
    [(uncached, _)] = v.validate_raw(asset, files, 0, empty)
    assert both.passed and (both.checked_rows, both.failing_rows) == (uncached.checked_rows, uncached.failing_rows)
    assert alone.checked_rows < both.checked_rows
    # a raw file damaged in place (one cell reference lost) is summarised again and fails
    frame = pl.read_parquet(files[1])
    frame.with_columns(cell=pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise(pl.col("cell"))).write_parquet(
        files[1]
    )
    summarised.clear()
    [(damaged, _)] = v.validate_raw(asset, files, 0, empty, cache=cache)
    assert summarised[-1] == [files[1].name] and not damaged.passed and damaged.failing_rows == 1


def test_the_checks_constants_as_literals_give_what_duckdb_binds(store, inbox):
    # A build binds no parameters (warehouse.tables.bind): each check's SQL with its params written
    # in as literals must find what DuckDB finds with them bound, on real rows (World's workbook:
    # every partner, negatives; Indonesia's with Russia's IMTS figures beside it: mirrors, yoy jumps).
    import duckdb

    from tradewh.expectations.checks import SQL_DIR
    from tradewh.warehouse.tables import sql_value

    result = run_build(store, inbox(WORLD, INDONESIA, MALAYSIA, BULGARIA, AFGHANISTAN), imf_imts=DATA / "imf_imts")
    assert result.success
    found = {}
    with duckdb.connect(str(store.db_path), read_only=True) as con:
        cases = [c for c in CHECKS if c.params]
        # with one partner enough, constant_factor has groups here (five would need five reporters)
        cases += [
            dataclasses.replace(c, name=f"{c.name}, 1 partner", params={**c.params, "min_partners": 1})
            for c in CHECKS
            if "min_partners" in c.params
        ]
        for check in cases:
            bound = con.execute((SQL_DIR / check.sql).read_text(), check.params).pl()
            literal = con.execute(check.frame_sql()).pl()
            assert literal.schema == bound.schema and literal.sort(pl.all()).equals(bound.sort(pl.all())), check.name
            found[check.name] = literal.height
        for value in (0.1, 1.06, 1 / 3, 1e-300, 2.5e15, -4.8, 1948, "ASEAN", "O'Brien", True, None):
            assert con.execute(f"SELECT {sql_value(value)} IS NOT DISTINCT FROM ?", [value]).fetchone() == (True,)
    assert found["mirror_ratio_extreme"] and found["yoy_jump_extreme"] and found["flow_valuation_freq_period_valid"]
    assert found["constant_factor, 1 partner"]
