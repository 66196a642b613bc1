"""sources/imf_imts/live.py against a real HTTP server on 127.0.0.1 serving the recorded api.imf.org
answers, and Russia's answer built in the recorded shape from the bundled IMTS file's values."""

import csv
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import yaml

from tradewh.sources import fetch
from tradewh.sources.contract import FETCHED_FILE, read_fetched
from tradewh.sources.imf_imts import live, reader
from tradewh.sources.imf_imts.source import SOURCE
from tradewh.sources.imf_sdmx import read_sdmx3

from conftest import AFGHANISTAN, DATA, run_build
from loopback import Loopback, Reply
from test_imf_api import SDMX3, recorded_body

FAST = {"backoff": 0.01, "retries": 1}
USA_DATA = "/data/dataflow/IMF.STA/IMTS/+/USA.XG_FOB_USD+MG_CIF_USD.*.A"
USA_INDICATORS = "/availability/dataflow/IMF.STA/IMTS/%2B/USA.*.*.*/INDICATOR"
XML = {"Content-Type": "application/xml"}


@pytest.fixture
def server():
    with Loopback() as s:
        yield s


def test_the_queries_are_spelled_as_the_service_was_asked():
    recorded = [i["request"]["uri"] for i in yaml.safe_load(SDMX3.read_text())["interactions"]]
    assert live.data_url(live.API, "USA", "A", 2023, 2025, ("XG_FOB_USD",), "G001+G998") == recorded[4]
    assert live.availability_url(live.API, "USA.*.*.*", "INDICATOR") == recorded[1]


def test_availability_from_the_recorded_answer(server):
    server.script(USA_INDICATORS, [Reply.recorded(SDMX3, "USA.*.*.*/INDICATOR")])
    assert live.availability(server.url(""), "USA.*.*.*", "INDICATOR", **FAST) == {
        "MG_CIF_USD",
        "TBG_USD",
        "XG_FOB_USD",
    }


def test_a_fetched_answer_is_saved_once_and_a_changed_one_replaces_it(server, tmp_path):
    body = recorded_body(SDMX3, "/data/dataflow/IMF.STA/IMTS/")
    server.script(USA_DATA, [Reply(200, body, XML, gzip=True)])
    first = live.fetch_reporter(tmp_path, "USA", "A", 2023, 2024, base=server.url(""), **FAST)
    assert first.status == "saved" and first.path.read_bytes() == body and (first.series, first.observations) == (2, 4)
    assert first.path.name == "imts_USA_A_2023-2024.xml"
    assert "ge:2023-01-01+le:2025-01-01" in server.requests(USA_DATA)[0]
    again = live.fetch_reporter(tmp_path, "USA", "A", 2023, 2024, base=server.url(""), **FAST)
    assert again.status == "unchanged" and again.path == first.path
    revised = body.replace(b'OBS_VALUE="2065411250609"', b'OBS_VALUE="2065411999999"')
    server.script(USA_DATA, [Reply(200, revised, XML)])
    second = live.fetch_reporter(tmp_path, "USA", "A", 2023, 2024, base=server.url(""), **FAST)
    assert second.status == "saved" and second.path == first.path and second.path.read_bytes() == revised
    rows = read_fetched(tmp_path)
    assert [(r["file"], r["sha256"]) for r in rows] == [
        (first.path.name, first.sha256),
        (first.path.name, second.sha256),
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([FETCHED_FILE, first.path.name])
    # its release: the day it was fetched (UTC), as the ledger says
    files, _, errors = SOURCE.input_files(tmp_path)
    assert not errors and [(f.name, f.sha256, f.release_kind) for f in files] == [
        (first.path.name, second.sha256, "fetched")
    ]
    assert files[0].vintage == datetime.fromisoformat(second.fetched_at.removesuffix("Z")).date()


def test_an_answer_without_its_ledger_row_is_refused_by_name(tmp_path):
    (tmp_path / "imts_USA_A_2023-2024.xml").write_bytes(recorded_body(SDMX3, "/data/dataflow/IMF.STA/IMTS/"))
    files, _, errors = SOURCE.input_files(tmp_path)
    assert files == [] and len(errors) == 1
    assert "imts_USA_A_2023-2024.xml" in str(errors[0]) and "its row in FETCHED.csv instead" in str(errors[0])


def test_an_empty_answer_where_availability_lists_data_saves_nothing(server, tmp_path):
    body = recorded_body(SDMX3, "/data/dataflow/IMF.STA/IMTS/")
    empty = body[: body.index(b"<Group")] + body[body.index(b"</message:DataSet>") :]
    server.script(USA_DATA, [Reply(200, empty, XML)])
    server.script(USA_INDICATORS, [Reply.recorded(SDMX3, "USA.*.*.*/INDICATOR")])
    with pytest.raises(fetch.EmptyAnswer, match="availability endpoint lists USA with MG_CIF_USD, XG_FOB_USD"):
        live.fetch_reporter(tmp_path, "USA", "A", 2023, 2024, base=server.url(""), **FAST)
    assert not any(tmp_path.iterdir())


def test_an_error_text_sent_with_200_saves_nothing(server, tmp_path):
    server.script(
        USA_DATA, [Reply(200, b"Request could not be processed: NoResultsFound", {"Content-Type": "text/plain"})]
    )
    with pytest.raises(fetch.NotData, match="not XML"):
        live.fetch_reporter(tmp_path, "USA", "A", 2023, 2024, base=server.url(""), **FAST)
    assert not any(tmp_path.iterdir())


def russia_answer(csv_path: Path) -> tuple[bytes, dict]:
    """Russia's series from the bundled IMTS CSV export as the live service answers: the recorded
    message's header, one Series per CSV line (SCALE 6, OVERLAP OL), OBS_VALUE in US dollars (the
    file's US$ millions x 10^6, in decimal). Returns the body and {(indicator, counterpart, year): US$}."""
    recorded = recorded_body(SDMX3, "/data/dataflow/IMF.STA/IMTS/").decode()
    head, tail = recorded[: recorded.index("<Group")], recorded[recorded.index("</message:DataSet>") :]
    series, expected = [], {}
    with csv_path.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            years = [y for y in row if y.isdigit() and row[y] != ""]
            obs = []
            for y in years:
                usd = Decimal(row[y]) * 10 ** int(row["SCALE.ID"])
                expected[(row["INDICATOR.ID"], row["COUNTERPART_COUNTRY.ID"], int(y))] = float(
                    usd.quantize(Decimal("0.01"))
                )
                obs.append(f'<Obs OBS_VALUE="{usd.normalize():f}" TIME_PERIOD="{y}"/>')
            series.append(
                f'<Series COUNTRY="{row["COUNTRY.ID"]}" INDICATOR="{row["INDICATOR.ID"]}" '
                f'COUNTERPART_COUNTRY="{row["COUNTERPART_COUNTRY.ID"]}" FREQUENCY="{row["FREQUENCY.ID"]}" '
                f'OVERLAP="OL" SCALE="{row["SCALE.ID"]}">' + "".join(obs) + "</Series>"
            )
    return (head + "".join(series) + tail).encode(), expected


def test_russia_from_the_live_transport_gives_the_files_values(server, tmp_path):
    body, expected = russia_answer(DATA / "imf_imts" / "imts_rus_annual_2016_2024.csv")
    server.script("/data/dataflow/IMF.STA/IMTS/+/RUS.XG_FOB_USD+MG_CIF_USD.*.A", [Reply(200, body, XML, gzip=True)])
    outcome = live.fetch_reporter(tmp_path, "RUS", "A", 2016, 2024, base=server.url(""), **FAST)
    frame = read_sdmx3(outcome.path)
    got = {(r["indicator"], r["counterpart_code"], r["year"]): r["value_usd"] for r in frame.iter_rows(named=True)}
    assert got == expected and len(got) == 3704  # every non-empty year cell of the file
    assert got[("XG_FOB_USD", "IDN", 2022)] == expected[("XG_FOB_USD", "IDN", 2022)]


CANONICAL_KEY = ["reporter_iso3", "partner_iso3", "flow", "valuation", "freq", "period", "month", "cmd_code"]


def test_a_fetch_lands_in_the_same_canonical_rows_as_the_file(server, tmp_path):
    # One source, two transports: Russia's answer from the live service (built in the recorded shape
    # from the bundled export's values) gives the canonical rows the export gives, value for value.
    from tradewh.warehouse.canonical import candidates
    from tradewh.warehouse.crosswalk import load_crosswalks

    csv_path = DATA / "imf_imts" / "imts_rus_annual_2016_2024.csv"
    body, _ = russia_answer(csv_path)
    server.script("/data/dataflow/IMF.STA/IMTS/+/RUS.XG_FOB_USD+MG_CIF_USD.*.A", [Reply(200, body, XML, gzip=True)])
    outcome = live.fetch_reporter(tmp_path, "RUS", "A", 2016, 2024, base=server.url(""), **FAST)
    [answer] = SOURCE.input_files(tmp_path)[0]
    crosswalk = load_crosswalks()

    def rows(raw: pl.DataFrame) -> pl.DataFrame:
        loaded, quarantined = candidates(
            SOURCE, raw.with_row_index("raw_id").with_columns(pl.col("raw_id").cast(pl.Int64)), crosswalk
        )
        assert quarantined.height == 0
        return loaded.select(*CANONICAL_KEY, "value_usd", "original_unit", "derivation", "source_cell").sort(
            CANONICAL_KEY
        )

    from_file = rows(reader.read_export(csv_path, answer.vintage))
    from_api = rows(reader.read_answer(outcome.path, answer.vintage, answer.sha256))
    assert from_file.height == from_api.height == 3704
    assert from_file.select(*CANONICAL_KEY, "value_usd", "derivation").equals(
        from_api.select(*CANONICAL_KEY, "value_usd", "derivation")
    )
    assert set(from_api["original_unit"]) == {"USD"} and set(from_file["original_unit"]) == {"USD millions"}
    assert from_api["source_cell"][0].startswith("series ") and "RUS." in from_api["source_cell"][0]


def test_a_build_loads_a_fetched_answer_as_a_release_of_the_source(server, tmp_path, store, inbox):
    body = recorded_body(SDMX3, "/data/dataflow/IMF.STA/IMTS/")
    server.script(USA_DATA, [Reply(200, body, XML)])
    folder = tmp_path / "imts_live"
    outcome = live.fetch_reporter(folder, "USA", "A", 2023, 2024, base=server.url(""), **FAST)
    result = run_build(store, inbox(AFGHANISTAN), imf_imts=folder)
    assert result.success
    with store.connect_published() as con:
        rows = con.execute(
            "SELECT partner_iso3, period, value_usd, CAST(vintage AS VARCHAR), source_file, source_cell "
            "FROM canonical.observations WHERE source = 'imf_imts' ORDER BY partner_iso3, period"
        ).fetchall()
    fetched_day = outcome.fetched_at[:10]
    # G001 (World) and G998 (European Union) as the warehouse codes them, 2023 and 2024, in US dollars
    assert [(p, y, float(v)) for p, y, v, *_ in rows] == [
        (rows[0][0], "2023", 2019551635133.0),
        (rows[0][0], "2024", 2065411250609.0),
        (rows[2][0], "2023", 369756760426.0),
        (rows[2][0], "2024", 371064529410.0),
    ]
    assert {r[3] for r in rows} == {fetched_day} and {r[4] for r in rows} == {outcome.path.name}
    assert rows[0][5] == "series 1 USA.XG_FOB_USD.G001.A, observation 2023"


def test_an_answer_edited_after_its_fetch_has_no_release(server, tmp_path):
    server.script(USA_DATA, [Reply(200, recorded_body(SDMX3, "/data/dataflow/IMF.STA/IMTS/"), XML)])
    saved = live.fetch_reporter(tmp_path, "USA", "A", 2023, 2024, base=server.url(""), **FAST)
    saved.path.write_bytes(saved.path.read_bytes().replace(b'OBS_VALUE="2019551635133"', b'OBS_VALUE="1"'))
    files, _, errors = SOURCE.input_files(tmp_path)
    assert files == [] and "not with this content" in str(errors[0]) and saved.path.name in str(errors[0])
