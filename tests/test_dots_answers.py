"""An archived answer of the retired DOTS web service loads as a later release of the DOTS source
(issue 13): the recorded CompactData answer (US exports to W00 and B0, 2020-2023, recorded
2024-09-20) beside the bundled US workbook (release 2022-02-20). Its 2020 values differ from the
workbook's: the latest view takes the answer's, the first view and an as-of date before the fetch
the workbook's, and the workbook's other partners stay (the answer replaces only what it holds).
Expected values are read from the recording (json, gzip) and the workbook (openpyxl), not through
the reader under test."""

import gzip
import json
import shutil
from decimal import Decimal
from email.utils import parsedate_to_datetime
from pathlib import Path

import duckdb
import pytest
import yaml

from tradewh.sources.contract import append_fetched, file_sha256

from conftest import DOTS, edit_workbook, find_cell, number, run_build, write_releases

RECORDING = Path(__file__).parent / "recordings" / "legacy_dots_compactdata_usa_2020_2023.yaml"
USA = "DOTS_208.xlsx"  # the bundled workbook whose B4 reads "United States"
ANSWER = "dots_A.US.TXG_FOB_USD.W00+B0_2020-2023.json"
PARTNERS = {"W00": ("World", "W00"), "B0": ("European Union", "XEU")}  # area code -> (workbook name, entity)


def recorded() -> tuple[bytes, str, str]:
    """(the answer's body, decompressed; its fetch time as ISO UTC, from the Date header; its URL)."""
    interaction = yaml.safe_load(RECORDING.read_text())["interactions"][0]
    body = gzip.decompress(interaction["response"]["body"]["string"])
    at = parsedate_to_datetime(interaction["response"]["headers"]["Date"][0]).strftime("%Y-%m-%dT%H:%M:%SZ")
    return body, at, interaction["request"]["uri"]


def recorded_values(body: bytes) -> dict[tuple[str, int], Decimal]:
    """{(counterpart code, year): US dollars} straight from the JSON (OBS_VALUE x 10^UNIT_MULT)."""
    out = {}
    for series in json.loads(body)["CompactData"]["DataSet"]["Series"]:
        for obs in series["Obs"]:
            out[(series["@COUNTERPART_AREA"], int(obs["@TIME_PERIOD"]))] = Decimal(obs["@OBS_VALUE"]).scaleb(
                int(series["@UNIT_MULT"])
            )
    return out


def workbook_usd(partner: str, year: int, sheet: str = "Exports, FOB") -> Decimal:
    _, value = find_cell(DOTS / USA, sheet, partner, year)
    return (Decimal(repr(number(value))) * 1_000_000).quantize(Decimal("0.01"))


@pytest.fixture
def folder(tmp_path) -> Path:
    """The US workbook with its RELEASES.csv row, and the recorded answer with its FETCHED.csv row."""
    folder = tmp_path / "imf_dots"
    folder.mkdir()
    shutil.copy(DOTS / USA, folder / USA)
    write_releases(folder)
    body, at, url = recorded()
    (folder / ANSWER).write_bytes(body)
    append_fetched(folder, {"file": ANSWER, "sha256": file_sha256(folder / ANSWER), "fetched_at": at, "url": url})
    return folder


def value(con, view: str, partner: str, year: int, flow: str = "X"):
    row = con.execute(
        f"SELECT value_usd, vintage::VARCHAR FROM {view} WHERE source = 'imf_dots' AND reporter_iso3 = 'USA' "
        "AND partner_iso3 = ? AND flow = ? AND period = ?",
        [partner, flow, str(year)],
    ).fetchall()
    assert len(row) <= 1, row
    return tuple(row[0]) if row else None


def test_the_answer_is_a_later_release_that_replaces_only_what_it_holds(store, folder):
    body, at, _ = recorded()
    answer = recorded_values(body)
    assert at.startswith("2024-09-20")
    assert run_build(store, folder).success
    with duckdb.connect(str(store.db_path), read_only=True) as con:
        # 2020: both releases have it; the answer's is newer and different
        for code, (name, entity) in PARTNERS.items():
            old = workbook_usd(name, 2020)
            assert answer[(code, 2020)] != old
            assert value(con, "canonical.observations_latest", entity, 2020) == (answer[(code, 2020)], "2024-09-20")
            assert value(con, "canonical.observations_first", entity, 2020) == (old, "2022-02-20")
            assert value(con, "canonical.observations_asof(DATE '2024-09-19')", entity, 2020) == (old, "2022-02-20")
            assert value(con, "canonical.observations_asof(DATE '2024-09-20')", entity, 2020) == (
                answer[(code, 2020)],
                "2024-09-20",
            )
            # 2019: only the workbook; 2021-2023: only the answer
            assert value(con, "canonical.observations_latest", entity, 2019) == (workbook_usd(name, 2019), "2022-02-20")
            for year in (2021, 2022, 2023):
                assert value(con, "canonical.observations_latest", entity, year) == (answer[(code, year)], "2024-09-20")
        # the same US-dollar value as the IMTS service's answer for 2023 (tests/test_imf_api.py)
        assert value(con, "canonical.observations_latest", "W00", 2023)[0] == Decimal("2019551635133.00")
        # the workbook's other partners and its imports are not replaced by an answer that never held them
        assert value(con, "canonical.observations_latest", "FRA", 2020) == (workbook_usd("France", 2020), "2022-02-20")
        assert value(con, "canonical.observations_latest", "W00", 2020, "M") == (
            workbook_usd("World", 2020, "Imports, CIF"),
            "2022-02-20",
        )
        workbook_rows = con.execute(
            "SELECT count(*) FROM canonical.observations WHERE vintage = DATE '2022-02-20'"
        ).fetchone()[0]
        latest_rows = con.execute("SELECT count(*) FROM canonical.observations_latest").fetchone()[0]
        assert latest_rows == workbook_rows - 2 + len(answer)  # two 2020 values replaced, eight added
        assert dict(con.execute("SELECT source_file::VARCHAR, release_scope FROM meta.source_files").fetchall()) == {
            USA: "reporter",
            ANSWER: "observation",
        }
        # what the answer changed: the two 2020 values, and nothing removed
        diff = con.execute(
            "SELECT partner_iso3::VARCHAR, period::VARCHAR, change, value_usd, previous_value_usd, vintage::VARCHAR, "
            "previous_vintage::VARCHAR FROM marts.release_diff ORDER BY ALL"
        ).fetchall()
        assert diff == [
            (entity, "2020", "changed", answer[(code, 2020)], workbook_usd(name, 2020), "2024-09-20", "2022-02-20")
            for code, (name, entity) in sorted(PARTNERS.items(), key=lambda kv: kv[1][1])
        ]
        # the answer holds no partners of the US: its World rows have no partner sum to be compared with
        warned = con.execute(
            "SELECT count(*) FROM meta.check_failures WHERE check_name = 'world_vs_partner_sum' "
            "AND row_json LIKE '%2024-09-20%'"
        ).fetchone()[0]
        assert warned == 0
        lineage = con.execute(
            "SELECT source_sheet, source_cell FROM canonical.observations WHERE source_file = ? AND partner_iso3 = 'W00' "
            "AND period = '2020'",
            [ANSWER],
        ).fetchone()
        assert lineage == (None, "series 2 A.US.TXG_FOB_USD.W00, observation 2020")


def test_a_later_workbook_release_replaces_the_answer_for_the_years_it_publishes(store, folder):
    # the same figures re-saved (another file, so another release can hold it)
    edit_workbook(DOTS / USA, folder / "DOTS_208_2025.xlsx", lambda wb: None)
    write_releases(folder, {"DOTS_208_2025.xlsx": "2025-01-15"})
    answer = recorded_values(recorded()[0])
    assert run_build(store, folder).success
    with duckdb.connect(str(store.db_path), read_only=True) as con:
        # the 2025 workbook publishes 2020 for every partner: it covers the answer's 2020 values
        assert value(con, "canonical.observations_latest", "W00", 2020) == (workbook_usd("World", 2020), "2025-01-15")
        # it has no 2021 column: the answer's 2021 stays
        assert value(con, "canonical.observations_latest", "W00", 2021) == (answer[("W00", 2021)], "2024-09-20")
        assert value(con, "canonical.observations_asof(DATE '2024-12-31')", "W00", 2020) == (
            answer[("W00", 2020)],
            "2024-09-20",
        )
        superseded = con.execute(
            "SELECT superseded_by::VARCHAR, previous_vintage::VARCHAR FROM canonical.observations "
            "WHERE source_file = ? AND partner_iso3 = 'W00' AND period = '2020'",
            [ANSWER],
        ).fetchone()
        assert superseded == ("2025-01-15", "2022-02-20")


def test_an_area_code_without_a_name_stops_the_load_naming_it(store, folder):
    doc = json.loads((folder / ANSWER).read_bytes())
    doc["CompactData"]["DataSet"]["Series"][0]["@COUNTERPART_AREA"] = "Z9"
    (folder / ANSWER).write_text(json.dumps(doc))
    (folder / "FETCHED.csv").unlink()
    append_fetched(
        folder, {"file": ANSWER, "sha256": file_sha256(folder / ANSWER), "fetched_at": "2024-09-20T22:50:44Z"}
    )
    result = run_build(store, folder)
    assert not result.success
    message = str(next(e for e in result.all_events if e.is_step_failure).step_failure_data.error)
    assert ANSWER in message and "area code 'Z9' is not in area_codes.csv" in message
    assert not store.db_path.exists()


def test_an_answer_without_its_fetch_row_is_refused_naming_it(store, folder):
    (folder / "FETCHED.csv").unlink()
    result = run_build(store, folder)
    assert not result.success
    message = str(next(e for e in result.all_events if e.is_step_failure).step_failure_data.error)
    assert ANSWER in message and "FETCHED.csv" in message
    assert "no release: the file states none" in message and "not with this content" not in message
