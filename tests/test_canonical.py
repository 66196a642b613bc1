"""Load policies on real rows: duplicates, conflicts, negatives, estimates, empty cells, quarantine,
historical entities, and the count reconciliation. Expected numbers come from openpyxl reads of the
workbooks, not from the pipeline's frames."""

import openpyxl
import polars as pl
import pytest

from tradewh.sources.imf_dots.source import SOURCE as IMF_DOTS
from tradewh.warehouse import ingest
from tradewh.warehouse.canonical import DuplicateConflictError, canonicalise
from tradewh.warehouse.crosswalk import UnmappedNamesError, load_crosswalk

from conftest import (
    AFGHANISTAN,
    DOTS,
    INDONESIA,
    NICARAGUA_A,
    NICARAGUA_B,
    WORLD,
    edit_workbook,
    find_cell,
    write_releases,
)


def build(store, folder):
    ingest.ingest(IMF_DOTS, folder, store, "test")
    raw = ingest.load_raw(store, IMF_DOTS, "test")
    return raw, canonicalise({"imf_dots": raw}, load_crosswalk())


def non_empty(ws, row: int) -> int:
    return sum(1 for c in next(ws.iter_rows(min_row=row, max_row=row, min_col=3)) if c.value not in (None, ""))


def test_exact_duplicate_inside_a_workbook_is_kept_once(store, inbox):
    # Every DOTS sheet prints the Australia row twice (rows 8 and 32 in Afghanistan's), same values.
    wb = openpyxl.load_workbook(DOTS / AFGHANISTAN, read_only=True)
    assert wb["Exports, FOB"]["B8"].value == wb["Exports, FOB"]["B32"].value == "Australia"
    expected = non_empty(wb["Exports, FOB"], 32) + non_empty(wb["Imports, CIF"], 32)
    raw, res = build(store, inbox(AFGHANISTAN))
    assert res.duplicates.height == expected == res.summary["duplicates"]
    assert set(res.duplicates["scope"]) == {"same_file"}
    assert set(res.duplicates["source_cell"].str.extract(r"(\d+)$").cast(int)) == {32}
    aus = res.observations.filter((pl.col("partner_iso3") == "AUS") & (pl.col("flow") == "X"))
    assert aus.height == non_empty(wb["Exports, FOB"], 8)
    assert set(aus["source_cell"].str.extract(r"(\d+)$").cast(int)) == {8}


def test_exact_duplicates_across_files_are_kept_once(store, inbox):
    # DOTS_143 and DOTS_144 are two downloads of Nicaragua (different bytes, same cells).
    raw, res = build(store, inbox(NICARAGUA_A, NICARAGUA_B))
    per_file = res.source_files.sort("source_file")
    cells_b = per_file.filter(pl.col("source_file") == NICARAGUA_B)["raw_cells"][0]
    assert per_file.filter(pl.col("source_file") == NICARAGUA_B)["duplicates"][0] == cells_b
    other = res.duplicates.filter(pl.col("scope") == "other_file")
    assert (
        other.height
        == cells_b
        - res.duplicates.filter((pl.col("scope") == "same_file") & (pl.col("source_file") == NICARAGUA_B)).height
    )
    assert res.observations["source_file"].unique().to_list() == [NICARAGUA_A]
    assert res.summary["raw_cells"] == res.summary["observations"] + res.summary["duplicates"]


def test_same_key_with_different_values_stops_the_load_and_lists_the_key(store, inbox, tmp_path):
    folder = inbox(NICARAGUA_A)
    cell, value = find_cell(DOTS / NICARAGUA_A, "Exports, FOB", "United States", 2019)

    def edit(wb):
        wb["Exports, FOB"][cell] = value + 1.0

    edit_workbook(DOTS / NICARAGUA_A, folder / "DOTS_143_revised.xlsx", edit)
    from conftest import write_releases

    write_releases(folder, {NICARAGUA_A: "2022-02-20", "DOTS_143_revised.xlsx": "2022-02-20"})
    ingest.ingest(IMF_DOTS, folder, store, "test")
    with pytest.raises(DuplicateConflictError) as err:
        canonicalise({"imf_dots": ingest.load_raw(store, IMF_DOTS, "test")}, load_crosswalk())
    msg = str(err.value)
    # Only the edited cell conflicts: openpyxl's re-save also changed the last bit of some doubles
    # (e.g. 20.900000000000006 -> 20.90000000000001), which must not count as a revision.
    assert msg.startswith("1 observation key(s) published with different values")
    assert "reporter_iso3=NIC partner_iso3=USA flow=X freq=A period=2019" in msg
    assert f"{NICARAGUA_A}!Exports, FOB!{cell}={value}" in msg
    assert f"DOTS_143_revised.xlsx!Exports, FOB!{cell}={value + 1.0}" in msg


def test_two_releases_of_one_workbook_are_both_kept(store, inbox):
    folder = inbox(NICARAGUA_A, NICARAGUA_B, releases={NICARAGUA_A: "2022-02-20", NICARAGUA_B: "2022-03-15"})
    raw, res = build(store, folder)
    assert sorted(res.summary["vintages"]) == ["2022-02-20", "2022-03-15"]
    assert res.summary["duplicates_by_scope"].get("other_file", 0) == 0
    counts = res.observations.group_by("vintage").len().sort("vintage")["len"].to_list()
    assert counts[0] == counts[1]


def test_negative_values_are_loaded_as_published_and_flagged(store, inbox):
    # World's exports to Malaysia in 1960 are published as -4.8 (DOTS_221.xlsx).
    cell, value = find_cell(DOTS / WORLD, "Exports, FOB", "Malaysia", 1960)
    assert value == -4.8
    raw, res = build(store, inbox(WORLD))
    row = res.observations.filter(
        (pl.col("partner_iso3") == "MYS") & (pl.col("flow") == "X") & (pl.col("period") == "1960")
    ).row(0, named=True)
    assert row["reporter_iso3"] == "W00" and row["reporter_type"] == "world"
    assert row["original_value"] == -4.8 and row["value_usd"] == pytest.approx(-4.8e6) and row["is_negative"]
    assert row["source_cell"] == cell


def test_estimates_keep_value_and_flag(store, inbox):
    cell, value = find_cell(DOTS / AFGHANISTAN, "Exports, FOB", "Australia", 1983)
    assert value == "27.81 e"
    raw, res = build(store, inbox(AFGHANISTAN))
    row = res.observations.filter(
        (pl.col("partner_iso3") == "AUS") & (pl.col("flow") == "X") & (pl.col("period") == "1983")
    ).row(0, named=True)
    assert row["is_estimated"] and row["original_value"] == 27.81 and row["value_usd"] == pytest.approx(27.81e6)


def test_units_are_us_dollars(store, inbox):
    raw, res = build(store, inbox(INDONESIA))
    row = res.observations.filter(
        (pl.col("partner_iso3") == "RUS") & (pl.col("flow") == "X") & (pl.col("period") == "2020")
    ).row(0, named=True)
    assert row["value_usd"] == pytest.approx(973_823_955.0, abs=1e-3)
    assert (row["original_value"], row["original_unit"], row["valuation"]) == (973.823955, "USD millions", "FOB")


def test_unparseable_and_partnerless_cells_are_quarantined_and_counted(store, inbox):
    folder = inbox()

    def edit(wb):
        wb["Exports, FOB"]["D9"] = "n.a."
        wb["Imports, CIF"]["B9"] = None  # the World row loses its name, keeps its values

    edit_workbook(DOTS / AFGHANISTAN, folder / AFGHANISTAN, edit)
    wb = openpyxl.load_workbook(folder / AFGHANISTAN, read_only=True)
    partnerless = non_empty(wb["Imports, CIF"], 9)
    raw, res = build(store, folder)
    reasons = dict(res.quarantine.group_by("reason").len().iter_rows())
    assert reasons == {"unparseable_value": 1, "missing_partner": partnerless}
    bad = res.quarantine.filter(pl.col("reason") == "unparseable_value").row(0, named=True)
    assert (bad["source_file"], bad["source_sheet"], bad["source_cell"]) == (AFGHANISTAN, "Exports, FOB", "D9")
    assert "n.a." in bad["detail"]
    s = res.summary
    assert s["raw_cells"] == s["observations"] + s["duplicates"] + s["quarantined"]
    # The partnerless World row still has its values: they are counted on the quarantine side.
    world_row_total = sum(
        float(c.value.removesuffix(" e").replace(",", "")) if isinstance(c.value, str) else c.value
        for c in next(wb["Imports, CIF"].iter_rows(min_row=9, max_row=9, min_col=3))
        if c.value not in (None, "")
    )
    dots = s["by_source"]["imf_dots"]  # values in the source's unit, US$ millions
    assert dots["quarantined_value_total"] == pytest.approx(world_row_total)
    assert dots["raw_value_total"] == pytest.approx(
        dots["loaded_value_total"] + dots["duplicate_value_total"] + dots["quarantined_value_total"]
    )


def test_unmapped_names_stop_the_load_and_are_listed(store, inbox):
    folder = inbox()

    def edit(wb):
        wb["Exports, FOB"]["B10"] = "Atlantis"

    edit_workbook(DOTS / AFGHANISTAN, folder / AFGHANISTAN, edit)
    ingest.ingest(IMF_DOTS, folder, store, "test")
    with pytest.raises(UnmappedNamesError) as err:
        canonicalise({"imf_dots": ingest.load_raw(store, IMF_DOTS, "test")}, load_crosswalk())
    assert "'Atlantis' (partner; first seen in DOTS_1.xlsx sheet 'Exports, FOB' cell" in str(err.value)


def test_historical_partner_after_its_end_is_loaded_under_its_own_code_and_reported(store, inbox):
    # Indonesia's workbook still has a USSR row with values after 1991 (checked with openpyxl).
    wb = openpyxl.load_workbook(DOTS / INDONESIA, read_only=True)
    rows = list(wb["Exports, FOB"].iter_rows(values_only=True))
    years = rows[6]
    ussr = next(r for r in rows[7:] if r[1] == "USSR")
    late = [int(y) for y, v in zip(years[2:], ussr[2:]) if y and int(y) > 1991 and v not in (None, "")]
    raw, res = build(store, inbox(INDONESIA))
    sun = res.observations.filter((pl.col("partner_iso3") == "SUN") & (pl.col("flow") == "X") & (pl.col("year") > 1991))
    assert sorted(sun["year"].to_list()) == late
    assert set(sun["partner_type"]) == {"historical"}
    report = res.entity_validity.filter((pl.col("code") == "SUN") & (pl.col("role") == "partner")).row(0, named=True)
    assert report["observations"] >= len(late) and report["first_year"] == min(late)


def test_upper_case_extension_is_read_and_excel_lock_files_are_skipped(store, inbox):
    import shutil

    folder = inbox(AFGHANISTAN)
    shutil.copy(DOTS / INDONESIA, folder / "DOTS_94.XLSX")
    write_releases(folder)
    (folder / "~$DOTS_1.xlsx").write_bytes(b"\x00owner")  # Excel's lock file while DOTS_1 is open
    report = ingest.ingest(IMF_DOTS, folder, store, "test")
    assert sorted(f["file"] for f in report.files) == [AFGHANISTAN, "DOTS_94.XLSX"]
    assert report.skipped == ["~$DOTS_1.xlsx"]


def test_a_value_too_large_for_us_dollars_is_quarantined(store, inbox):
    folder = inbox()
    edit_workbook(DOTS / AFGHANISTAN, folder / AFGHANISTAN, lambda wb: wb["Exports, FOB"].__setitem__("D9", 1.7e308))
    raw, res = build(store, folder)
    bad = res.quarantine.filter(pl.col("reason") == "non_finite_value").row(0, named=True)
    assert bad["source_cell"] == "D9" and "not finite" in bad["detail"]
    assert res.observations["value_usd"].is_finite().all()
