"""The IMF SDMX answer readers on the recorded real answers (tests/recordings, vcrpy cassettes)."""

import gzip
import json
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import yaml

from tradewh.sources.imf_sdmx import ImfAnswerError, read_compact_json, read_sdmx3

from conftest import DOTS

RECORDINGS = Path(__file__).parent / "recordings"
SDMX3 = RECORDINGS / "imts_sdmx3_usa_2023_2024.yaml"
LEGACY = RECORDINGS / "legacy_dots_compactdata_usa_2020_2023.yaml"


def recorded_body(cassette: Path, uri_part: str) -> bytes:
    """The body of the cassette's answer to the request whose URI contains `uri_part`, as the
    service sent it once decoded (the cassettes keep a gzip body as binary, or the decoded text)."""
    for interaction in yaml.safe_load(cassette.read_text())["interactions"]:
        if uri_part in interaction["request"]["uri"]:
            body = interaction["response"]["body"]["string"]
            return (
                gzip.decompress(body)
                if isinstance(body, bytes) and body[:2] == b"\x1f\x8b"
                else (body if isinstance(body, bytes) else body.encode())
            )
    raise KeyError(uri_part)


@pytest.fixture
def sdmx3_answer(tmp_path) -> Path:
    path = tmp_path / "imts_usa.xml"
    path.write_bytes(recorded_body(SDMX3, "/data/dataflow/IMF.STA/IMTS/"))
    return path


@pytest.fixture
def legacy_answer(tmp_path) -> Path:
    path = tmp_path / "dot_us.json"
    path.write_bytes(recorded_body(LEGACY, "CompactData/DOT/"))
    return path


def test_both_services_give_the_same_us_dollars_for_us_exports_to_the_world_2023(sdmx3_answer, legacy_answer):
    # By hand from the two answers: the SDMX 3.0 Obs of Series COUNTRY="USA" COUNTERPART_COUNTRY="G001"
    # for 2023 reads OBS_VALUE="2019551635133"; the legacy series W00 reads "2019551.635133" with
    # UNIT_MULT "6" (millions). The same number of US dollars.
    xml = sdmx3_answer.read_text()
    series = re.search(
        r'<Series COUNTRY="USA" INDICATOR="XG_FOB_USD" COUNTERPART_COUNTRY="G001".*?</Series>', xml
    ).group(0)
    new_text = re.search(r'OBS_VALUE="([^"]+)"[^>]*TIME_PERIOD="2023"', series).group(1)
    legacy = json.loads(legacy_answer.read_text())["CompactData"]["DataSet"]["Series"]
    w00 = next(s for s in legacy if s["@COUNTERPART_AREA"] == "W00")
    old_text = next(o["@OBS_VALUE"] for o in w00["Obs"] if o["@TIME_PERIOD"] == "2023")
    assert Decimal(new_text) == Decimal(old_text) * 10 ** int(w00["@UNIT_MULT"]) == Decimal("2019551635133")

    new = read_sdmx3(sdmx3_answer)
    old = read_compact_json(legacy_answer)
    pick = lambda f, partner: f.filter((f["counterpart_code"] == partner) & (f["year"] == 2023))["value_usd"].item()  # noqa: E731
    assert pick(new, "G001") == pick(old, "W00") == 2019551635133.0
    assert pick(new, "G998") == pick(old, "B0") == float(Decimal("369756.760426") * 10**6)


def test_scale_is_a_series_attribute_and_derivation_type_stays_on_each_observation(sdmx3_answer):
    frame = read_sdmx3(sdmx3_answer)
    assert frame.height == 4  # two series (G001, G998) x 2023, 2024
    assert frame.select("reporter_code", "indicator", "frequency").unique().rows() == [("USA", "XG_FOB_USD", "A")]
    assert frame["counterpart_code"].to_list() == ["G001", "G001", "G998", "G998"]
    # SCALE 6 is kept, and it does not scale OBS_VALUE (the value is in US dollars already)
    assert set(frame["scale"]) == {6} and set(frame["overlap"]) == {"OL"}
    assert frame["obs_value"].to_list() == ["2019551635133", "2065411250609", "369756760426", "371064529410"]
    assert frame["value_usd"].to_list() == [2019551635133.0, 2065411250609.0, 369756760426.0, 371064529410.0]
    assert set(frame["derivation_type"]) == {"M"} and frame["parse_error"].null_count() == 4


def test_the_legacy_2020_value_is_a_later_release_than_the_bundled_workbook(legacy_answer):
    # DOTS_208.xlsx (United States, downloaded 2022-02-20), sheet "Exports, FOB", row "World", 2020,
    # read with openpyxl; the legacy service answered in September 2024 with a revised figure.
    ws = openpyxl.load_workbook(DOTS / "DOTS_208.xlsx", read_only=True)["Exports, FOB"]
    rows = list(ws.iter_rows(values_only=True))
    years, world = rows[6], next(r for r in rows if r[1] == "World")
    workbook_2020 = world[years.index("2020")]
    assert rows[3][1] == "United States" and workbook_2020 == 1431584.385159
    answer = read_compact_json(legacy_answer)
    api_2020 = answer.filter((answer["counterpart_code"] == "W00") & (answer["year"] == 2020))["value_usd"].item()
    assert api_2020 == 1429995404019.0 != workbook_2020 * 1e6


def test_a_lone_series_or_observation_arrives_as_an_object(legacy_answer, tmp_path):
    doc = json.loads(legacy_answer.read_text())
    lone = doc["CompactData"]["DataSet"]["Series"][1]  # W00
    lone["Obs"] = lone["Obs"][0]  # 2020 only
    doc["CompactData"]["DataSet"]["Series"] = lone
    path = tmp_path / "lone.json"
    path.write_text(json.dumps(doc))
    frame = read_compact_json(path)
    assert frame.select("series", "obs", "counterpart_code", "year", "obs_value").rows() == [
        (1, 1, "W00", 2020, "1429995.404019")
    ]


def test_quarters_months_and_text_that_is_no_number(sdmx3_answer, tmp_path):
    xml = sdmx3_answer.read_text()
    xml = xml.replace(
        'FREQUENCY="A" OVERLAP="OL" SCALE="6"><Obs OBS_VALUE="2019551635133" DERIVATION_TYPE="M" TIME_PERIOD="2023"/>'
        '<Obs OBS_VALUE="2065411250609" DERIVATION_TYPE="M" TIME_PERIOD="2024"/>',
        'FREQUENCY="M" OVERLAP="OL" SCALE="6"><Obs OBS_VALUE="n.a." TIME_PERIOD="2024-M03"/>'
        '<Obs OBS_VALUE="1.5e3" TIME_PERIOD="2024-12"/>',
        1,
    )
    xml = xml.replace('COUNTERPART_COUNTRY="G998" FREQUENCY="A"', 'COUNTERPART_COUNTRY="G998" FREQUENCY="Q"').replace(
        'TIME_PERIOD="2023"/><Obs OBS_VALUE="371064529410" DERIVATION_TYPE="M" TIME_PERIOD="2024"',
        'TIME_PERIOD="2023-Q4"/><Obs OBS_VALUE="371064529410" DERIVATION_TYPE="M" TIME_PERIOD="2024Q1"',
    )
    path = tmp_path / "periods.xml"
    path.write_text(xml)
    frame = read_sdmx3(path)
    assert frame.select("frequency", "year", "quarter", "month").rows() == [
        ("M", 2024, None, 3),
        ("M", 2024, None, 12),
        ("Q", 2023, 4, None),
        ("Q", 2024, 1, None),
    ]
    first = frame.row(0, named=True)
    assert first["value_usd"] is None and first["parse_error"] == "OBS_VALUE 'n.a.' is not a number"
    assert frame["value_usd"][1] == 1500.0


@pytest.mark.parametrize(
    "body, reader, said",
    [
        (
            b"<html><body>Service unavailable</body></html>",
            read_sdmx3,
            "expected an SDMX-ML 3.0 StructureSpecificData message, found <html>",
        ),
        (
            b'<?xml version="1.0"?><message:Error xmlns:message="http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message">'
            b'<message:ErrorMessage code="100"><common:Text xmlns:common="x">No results found.</common:Text></message:ErrorMessage></message:Error>',
            read_sdmx3,
            "found <Error>: No results found.",
        ),
        (b"<StructureSpecificData", read_sdmx3, "not XML"),
        (b"The request rate limit was exceeded", read_compact_json, "not JSON"),
        (
            b'{"ErrorDetails": {"Code": 1, "Message": "Bad request"}}',
            read_compact_json,
            "expected a CompactData message",
        ),
    ],
)
def test_an_answer_that_is_no_data_message_names_the_file_and_what_it_is(tmp_path, body, reader, said):
    path = tmp_path / "answer.bin"
    path.write_bytes(body)
    with pytest.raises(ImfAnswerError, match="answer.bin") as err:
        reader(path)
    assert said in str(err.value)


def test_a_series_without_its_key_or_a_period_off_its_frequency_is_refused(sdmx3_answer, tmp_path):
    xml = sdmx3_answer.read_text().replace(
        'COUNTRY="USA" INDICATOR="XG_FOB_USD" COUNTERPART_COUNTRY="G998"', 'COUNTRY="USA" INDICATOR="XG_FOB_USD"', 1
    )
    xml = xml.replace('TIME_PERIOD="2024"/></Series>', 'TIME_PERIOD="2024-01"/></Series>', 1)
    path = tmp_path / "bad.xml"
    path.write_text(xml)
    with pytest.raises(ImfAnswerError) as err:
        read_sdmx3(path)
    assert "series 2: no COUNTERPART_COUNTRY" in str(err.value)
    assert "series 1 observation 2: TIME_PERIOD '2024-01' is not a period of frequency 'A'" in str(err.value)
