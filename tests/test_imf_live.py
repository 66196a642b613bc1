"""sources/imf_imts/live.py against a real HTTP server on 127.0.0.1 serving the recorded api.imf.org
answers, and Russia's answer built in the recorded shape from the bundled IMTS file's values."""

import csv
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from sources import fetch
from sources.imf_imts import live
from sources.imf_imts.sdmx import read_sdmx3
from tests.conftest import DATA
from tests.loopback import Loopback, Reply
from tests.test_imf_api import SDMX3, recorded_body

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
    assert live.availability(server.url(""), "USA.*.*.*", "INDICATOR", **FAST) == {"MG_CIF_USD", "TBG_USD", "XG_FOB_USD"}


def test_a_fetched_answer_is_saved_once_and_a_changed_one_is_a_new_release(server, tmp_path):
    body = recorded_body(SDMX3, "/data/dataflow/IMF.STA/IMTS/")
    server.script(USA_DATA, [Reply(200, body, XML, gzip=True)])
    first = live.fetch_reporter(tmp_path, "USA", "A", 2023, 2024, base=server.url(""), **FAST)
    assert first.status == "saved" and first.path.read_bytes() == body and (first.series, first.observations) == (2, 4)
    assert "ge:2023-01-01+le:2025-01-01" in server.requests(USA_DATA)[0]
    again = live.fetch_reporter(tmp_path, "USA", "A", 2023, 2024, base=server.url(""), **FAST)
    assert again.status == "unchanged" and again.path == first.path
    revised = body.replace(b'OBS_VALUE="2065411250609"', b'OBS_VALUE="2065411999999"')
    server.script(USA_DATA, [Reply(200, revised, XML)])
    second = live.fetch_reporter(tmp_path, "USA", "A", 2023, 2024, base=server.url(""), **FAST)
    assert second.status == "saved" and second.path != first.path
    rows = live.ledger(tmp_path)
    assert [r["sha256"] for r in rows] == [first.sha256, second.sha256]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.LEDGER, first.path.name, second.path.name])


def test_an_empty_answer_where_availability_lists_data_saves_nothing(server, tmp_path):
    body = recorded_body(SDMX3, "/data/dataflow/IMF.STA/IMTS/")
    empty = body[: body.index(b"<Group")] + body[body.index(b"</message:DataSet>"):]
    server.script(USA_DATA, [Reply(200, empty, XML)])
    server.script(USA_INDICATORS, [Reply.recorded(SDMX3, "USA.*.*.*/INDICATOR")])
    with pytest.raises(fetch.EmptyAnswer, match="availability endpoint lists USA with MG_CIF_USD, XG_FOB_USD"):
        live.fetch_reporter(tmp_path, "USA", "A", 2023, 2024, base=server.url(""), **FAST)
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_an_error_text_sent_with_200_saves_nothing(server, tmp_path):
    server.script(USA_DATA, [Reply(200, b"Request could not be processed: NoResultsFound", {"Content-Type": "text/plain"})])
    with pytest.raises(fetch.NotData, match="not XML"):
        live.fetch_reporter(tmp_path, "USA", "A", 2023, 2024, base=server.url(""), **FAST)
    assert not any(tmp_path.iterdir())


def russia_answer(csv_path: Path) -> tuple[bytes, dict]:
    """Russia's series from the bundled IMTS CSV export as the live service answers: the recorded
    message's header, one Series per CSV line (SCALE 6, OVERLAP OL), OBS_VALUE in US dollars (the
    file's US$ millions x 10^6, in decimal). Returns the body and {(indicator, counterpart, year): US$}."""
    recorded = recorded_body(SDMX3, "/data/dataflow/IMF.STA/IMTS/").decode()
    head, tail = recorded[: recorded.index("<Group")], recorded[recorded.index("</message:DataSet>"):]
    series, expected = [], {}
    with csv_path.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            years = [y for y in row if y.isdigit() and row[y] != ""]
            obs = []
            for y in years:
                usd = Decimal(row[y]) * 10 ** int(row["SCALE.ID"])
                expected[(row["INDICATOR.ID"], row["COUNTERPART_COUNTRY.ID"], int(y))] = float(usd.quantize(Decimal("0.01")))
                obs.append(f'<Obs OBS_VALUE="{usd.normalize():f}" TIME_PERIOD="{y}"/>')
            series.append(f'<Series COUNTRY="{row["COUNTRY.ID"]}" INDICATOR="{row["INDICATOR.ID"]}" '
                          f'COUNTERPART_COUNTRY="{row["COUNTERPART_COUNTRY.ID"]}" FREQUENCY="{row["FREQUENCY.ID"]}" '
                          f'OVERLAP="OL" SCALE="{row["SCALE.ID"]}">' + "".join(obs) + "</Series>")
    return (head + "".join(series) + tail).encode(), expected


def test_russia_from_the_live_transport_gives_the_files_values(server, tmp_path):
    body, expected = russia_answer(DATA / "imf_imts" / "imts_rus_annual_2016_2024.csv")
    server.script("/data/dataflow/IMF.STA/IMTS/+/RUS.XG_FOB_USD+MG_CIF_USD.*.A", [Reply(200, body, XML, gzip=True)])
    outcome = live.fetch_reporter(tmp_path, "RUS", "A", 2016, 2024, base=server.url(""), **FAST)
    frame = read_sdmx3(outcome.path)
    got = {(r["indicator"], r["counterpart_code"], r["year"]): r["value_usd"] for r in frame.iter_rows(named=True)}
    assert got == expected and len(got) == 3704  # every non-empty year cell of the file
    assert got[("XG_FOB_USD", "IDN", 2022)] == expected[("XG_FOB_USD", "IDN", 2022)]
