"""Releases are declared, kept and diffable (issue 14): a workbook's release comes from RELEASES.csv,
never from the timestamp inside it; two files that give a key different values in one release stop
the load naming both; a second release made from the real workbook (values edited, a partner row
added, one removed) loads beside the first, and the views, the release-diff mart and
`growth --as-of` tell them apart. Expected values are read from the workbook with openpyxl."""

import shutil
from datetime import date

import duckdb
import openpyxl
import pytest

from tradewh.warehouse.canonical import DuplicateConflictError
from tradewh.warehouse.ingest import FileSetError

from conftest import DOTS, INDONESIA, edit_workbook, find_cell, number, run_build, write_releases

SECOND = "DOTS_94_2022-06.xlsx"  # Indonesia's workbook, second release
ADDED = "South Sudan, Rep. of"  # a partner Indonesia's export sheet does not list
REMOVED = "Tonga"  # a partner row the second release no longer has


def observation(con, view: str, partner: str, period: str = "2020"):
    return con.execute(
        f"SELECT value_usd FROM {view} WHERE source = 'imf_dots' AND reporter_iso3 = 'IDN' AND partner_iso3 = ? "
        "AND flow = 'X' AND period = ?",
        [partner, period],
    ).fetchone()


def test_a_copy_without_a_declared_release_is_refused_naming_it(store, inbox, tmp_path):
    # issue 14: a copy of DOTS_94.xlsx under another name with one number changed loaded with no error,
    # as a "release" dated from the workbook's internal timestamp
    folder = inbox(INDONESIA)
    cell, _ = find_cell(DOTS / INDONESIA, "Exports, FOB", "Russian Federation", 2020)
    edit_workbook(
        DOTS / INDONESIA, tmp_path / "DOTS_94_copy.xlsx", lambda wb: wb["Exports, FOB"].__setitem__(cell, 999.5)
    )
    shutil.copy(tmp_path / "DOTS_94_copy.xlsx", folder / "DOTS_94_copy.xlsx")  # dropped in, no RELEASES.csv row
    result = run_build(store, folder)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = str(failure.step_failure_data.error)
    assert "DOTS_94_copy.xlsx" in message and "no declared release: give it a row in RELEASES.csv" in message
    assert not store.db_path.exists()
    with pytest.raises(FileSetError, match="DOTS_94_copy.xlsx"):
        from tradewh.sources.imf_dots.source import SOURCE
        from tradewh.warehouse import ingest

        ingest.input_files(SOURCE, folder)


def test_two_files_of_one_release_that_disagree_stop_the_load_naming_both(store, inbox):
    folder = inbox(INDONESIA)
    cell, _ = find_cell(DOTS / INDONESIA, "Exports, FOB", "Russian Federation", 2020)
    edit_workbook(
        DOTS / INDONESIA, folder / "DOTS_94_copy.xlsx", lambda wb: wb["Exports, FOB"].__setitem__(cell, 999.5)
    )
    result = run_build(store, folder)  # both declared in the bundled release: no order between them
    assert not result.success
    error = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error
    while error.cause is not None and error.cls_name != DuplicateConflictError.__name__:
        error = error.cause
    assert error.cls_name == DuplicateConflictError.__name__
    assert f"DOTS_94.xlsx!Exports, FOB!{cell}=973.823955" in error.message
    assert f"DOTS_94_copy.xlsx!Exports, FOB!{cell}=999.5" in error.message


def second_release(wb) -> None:
    """The edits of Indonesia's second release: two values revised, a partner added, one removed."""
    ws = wb["Exports, FOB"]
    ws[find_cell(DOTS / INDONESIA, "Exports, FOB", "Russian Federation", 2020)[0]] = 999.5
    ws[find_cell(DOTS / INDONESIA, "Exports, FOB", "Japan", 2019)[0]] = 15000.25
    row = ws.max_row + 1
    ws.cell(row=row, column=2, value=ADDED)
    ws[f"{find_cell(DOTS / INDONESIA, 'Exports, FOB', 'Japan', 2020)[0][:2]}{row}"] = 12.5
    removed = int(find_cell(DOTS / INDONESIA, "Exports, FOB", REMOVED, 2020)[0][2:])
    for c in ws[removed][2:]:
        c.value = None


def test_a_second_release_is_kept_beside_the_first_and_diffed(store, inbox):
    folder = inbox(INDONESIA)
    edit_workbook(DOTS / INDONESIA, folder / SECOND, second_release)
    write_releases(folder, {SECOND: "2022-06-01"})
    result = run_build(store, folder)
    assert result.success

    # expected, from the workbook with openpyxl
    rus_old = number(find_cell(DOTS / INDONESIA, "Exports, FOB", "Russian Federation", 2020)[1]) * 1e6
    jpn_old = number(find_cell(DOTS / INDONESIA, "Exports, FOB", "Japan", 2019)[1]) * 1e6
    ws = openpyxl.load_workbook(DOTS / INDONESIA, read_only=True)["Exports, FOB"]
    rows = list(ws.iter_rows(values_only=True))
    years = {i: int(v) for i, v in enumerate(rows[6]) if v}
    tonga = next(r for r in rows[7:] if r[1] == REMOVED)
    tonga_years = {str(years[i]) for i, v in enumerate(tonga) if i >= 2 and v not in (None, "")}
    assert tonga_years

    with duckdb.connect(str(store.db_path), read_only=True) as con:
        assert float(observation(con, "canonical.observations_latest", "RUS")[0]) == 999.5e6
        assert float(observation(con, "canonical.observations_first", "RUS")[0]) == pytest.approx(rus_old, abs=0.005)
        assert float(observation(con, "canonical.observations_asof(DATE '2022-03-01')", "RUS")[0]) == pytest.approx(
            rus_old, abs=0.005
        )
        assert observation(con, "canonical.observations_latest", "TON") is None  # removed: not filled in from the first
        assert observation(con, "canonical.observations_first", "TON") is not None
        diff = con.execute(
            "SELECT change, partner_iso3::VARCHAR, period::VARCHAR, value_usd, previous_value_usd, change_pct, source_file::VARCHAR, "
            "previous_source_file::VARCHAR, vintage, previous_vintage FROM marts.release_diff WHERE reporter_iso3 = 'IDN' ORDER BY ALL"
        ).fetchall()
    changed = {(p, y): (float(v), float(pv), pct) for c, p, y, v, pv, pct, *_ in diff if c == "changed"}
    assert changed.keys() == {("RUS", "2020"), ("JPN", "2019")}
    assert changed["RUS", "2020"][:2] == (999.5e6, pytest.approx(rus_old, abs=0.005))
    assert changed["RUS", "2020"][2] == pytest.approx((999.5e6 / rus_old - 1) * 100)
    assert changed["JPN", "2019"][:2] == (15000.25e6, pytest.approx(jpn_old, abs=0.005))
    assert [(p, y, float(v)) for c, p, y, v, *_ in diff if c == "added"] == [("SSD", "2020", 12.5e6)]
    assert {y for c, p, y, *_ in diff if c == "removed" and p == "TON"} == tonga_years
    assert all(c != "removed" or p == "TON" for c, p, *_ in diff)
    assert {(r[6], r[7], r[8], r[9]) for r in diff if r[0] == "changed"} == {
        (SECOND, INDONESIA, date(2022, 6, 1), date(2022, 2, 20))
    }

    # growth as of a date reproduces what the first release answered
    from tradewh.warehouse.queries import connect_read_only, group_growth

    with connect_read_only(store.db_path) as con:
        now, _ = group_growth(con, "RUS", None, 2020, 2020, ("reporter",), reporter="IDN", source="imf_dots")
        then, _ = group_growth(
            con, "RUS", None, 2020, 2020, ("reporter",), reporter="IDN", source="imf_dots", as_of=date(2022, 3, 1)
        )
    x_2020 = {"now": now, "then": then}
    values = {
        k: f.filter((f["reporter"] == "IDN") & (f["year"] == 2020))["value_usd"].item() for k, f in x_2020.items()
    }
    imports_2020 = number(find_cell(DOTS / INDONESIA, "Imports, CIF", "Russian Federation", 2020)[1]) * 1e6
    assert values["then"] == pytest.approx(rus_old + imports_2020, abs=0.01)
    assert values["now"] == pytest.approx(999.5e6 + imports_2020, abs=0.01)
