"""sources/comtrade/live.py against a real HTTP server on 127.0.0.1: the recorded v1 answer
(data/comtrade/v1_get_C_A_HS_chn_2010.json), the key kept out of everything stored, the row cap,
error texts and breakdown rows."""

import copy
import csv
import json
from pathlib import Path

import polars as pl
import pytest

from tradewh.sources import fetch
from tradewh.sources.comtrade import live
from tradewh.sources.comtrade.source import SOURCE
from tradewh.sources.contract import FETCHED_FILE, read_fetched

from conftest import DATA
from loopback import Loopback, Reply

RECORDED = DATA / "comtrade" / "v1_get_C_A_HS_chn_2010.json"
FAST = {"backoff": 0.01, "retries": 1}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def server():
    with Loopback() as s:
        yield s


def answer(records: list[dict], error: str = "") -> Reply:
    return Reply(
        200,
        json.dumps({"elapsedTime": "0.1 secs", "count": len(records), "data": records, "error": error}).encode(),
        JSON,
    )


def test_the_recorded_answer_is_saved_with_its_release_and_the_key_nowhere_but_the_header(
    server, tmp_path, monkeypatch
):
    monkeypatch.setenv(live.KEY_ENV, "S3CRET-KEY")
    server.script("/data/v1/get/C/A/HS", [Reply(200, RECORDED.read_bytes(), JSON, gzip=True)])
    [saved] = live.fetch_totals(
        tmp_path, reporters=[156], periods=["2010"], partners=[32, 276], base=server.url(""), **FAST
    )
    assert saved.status == "saved" and saved.records == 4 and saved.path.read_bytes() == RECORDED.read_bytes()
    asked = server.requests("/data/v1/get/C/A/HS")[0]
    assert "reporterCode=156" in asked and "partnerCode=32%2C276" in asked and "partner2Code=0" in asked
    assert "motCode=0" in asked and "customsCode=C00" in asked and "cmdCode=TOTAL" in asked
    assert server.headers()[0][live.KEY_HEADER] == "S3CRET-KEY" and "S3CRET" not in asked
    stored = "".join(p.read_text() for p in tmp_path.iterdir())
    assert "S3CRET" not in stored and saved.path.name in [r["file"] for r in read_fetched(tmp_path)]
    # an input file of the source, read by its own reader, released the day it was fetched
    files, _, errors = SOURCE.input_files(tmp_path)
    assert not errors and [(f.name, f.release_kind) for f in files] == [(saved.path.name, "fetched")]
    frames, errs = SOURCE.parse(files)
    raw = frames[files[0]]
    assert not errs and raw.height == 4 and raw["file_layout"].unique().to_list() == ["v1_json"]
    again = live.fetch_totals(
        tmp_path, reporters=[156], periods=["2010"], partners=[32, 276], base=server.url(""), **FAST
    )
    assert [s.status for s in again] == ["unchanged"]


def test_without_a_key_the_public_preview_is_asked(server, tmp_path, monkeypatch):
    monkeypatch.delenv(live.KEY_ENV, raising=False)
    server.script("/public/v1/preview/C/A/HS", [Reply(200, RECORDED.read_bytes(), JSON)])
    [saved] = live.fetch_totals(tmp_path, reporters=[156], periods=["2010"], base=server.url(""), **FAST)
    assert saved.records == 4 and f"maxRecords={live.PREVIEW_CAP}" in server.requests("/public/v1/preview/C/A/HS")[0]
    assert live.KEY_HEADER not in server.headers()[0]


def test_a_query_at_the_row_cap_is_split_until_nothing_is_cut(server, tmp_path, monkeypatch):
    monkeypatch.setenv(live.KEY_ENV, "k")
    monkeypatch.setenv("COMTRADE_MAX_RECORDS", "5")
    record = json.loads(RECORDED.read_text())["data"][0]

    def service(query: dict, headers: dict) -> Reply:
        # three records per period asked, but never more than the cap: what a capped service does
        periods = query["period"].split(",")
        rows = []
        for p in periods:
            for partner in (32, 276, 392):
                rows.append(
                    {
                        **copy.deepcopy(record),
                        "period": p,
                        "refYear": int(p),
                        "refPeriodId": int(p) * 10000 + 101,
                        "partnerCode": partner,
                    }
                )
        return answer(rows[: int(query["maxRecords"])])

    server.route("/data/v1/get/C/A/HS", service)
    saved = live.fetch_totals(
        tmp_path, reporters=[156], periods=["2010", "2011"], flows=("M",), base=server.url(""), **FAST
    )
    assert [(s.path.name, s.records) for s in saved] == [
        ("comtrade_A_156_2010_M.json", 3),
        ("comtrade_A_156_2011_M.json", 3),
    ]
    assert [q.split("period=")[1].split("&")[0] for q in server.requests()] == ["2010%2C2011", "2010", "2011"]
    monkeypatch.setenv("COMTRADE_MAX_RECORDS", "3")
    with pytest.raises(fetch.Truncated, match="cannot be split further"):
        live.fetch_totals(
            tmp_path / "capped", reporters=[156], periods=["2010"], flows=("M",), base=server.url(""), **FAST
        )
    assert not (tmp_path / "capped").exists()


@pytest.mark.parametrize(
    "body, said",
    [
        (
            b'{"elapsedTime":"0 secs","count":0,"data":[],"error":"Invalid parameter(s): reporterCode"}',
            "answered with an error",
        ),
        (b'{"elapsedTime":"0 secs","count":4,"data":[]}', "says count 4 but holds 0 records"),
        (b'{"statusCode": 401, "message": "Access denied due to missing subscription key."}', "no data list"),
    ],
)
def test_an_error_sent_with_200_saves_nothing(server, tmp_path, body, said, monkeypatch):
    monkeypatch.delenv(live.KEY_ENV, raising=False)
    server.script("/public/v1/preview/C/A/HS", [Reply(200, body, JSON)])
    with pytest.raises(fetch.NotData, match=said):
        live.fetch_totals(tmp_path, reporters=[156], periods=["2010"], base=server.url(""), **FAST)
    assert not tmp_path.exists() or not (tmp_path / FETCHED_FILE).exists()


def test_breakdown_rows_never_inflate_a_bilateral_total(server, tmp_path, monkeypatch):
    from tradewh.warehouse.canonical import candidates
    from tradewh.warehouse.crosswalk import load_crosswalks

    monkeypatch.delenv(live.KEY_ENV, raising=False)
    records = json.loads(RECORDED.read_text())["data"]
    by_sea = {**copy.deepcopy(records[2]), "motCode": 2100, "motDesc": "Sea", "primaryValue": 5e9}  # part of X to ARG
    server.script("/public/v1/preview/C/A/HS", [answer(records + [by_sea])])
    [saved] = live.fetch_totals(tmp_path, reporters=[156], periods=["2010"], base=server.url(""), **FAST)
    files, _, _ = SOURCE.input_files(tmp_path)
    raw = SOURCE.parse(files)[0][files[0]].with_row_index("raw_id").with_columns(pl.col("raw_id").cast(pl.Int64))
    loaded, quarantined = candidates(SOURCE, raw, load_crosswalks())
    assert quarantined["reason"].to_list() == ["breakdown_not_total"]
    x_arg = loaded.filter((pl.col("flow") == "X") & (pl.col("partner_iso3") == "ARG"))["value_usd"].to_list()
    assert x_arg == [records[2]["primaryValue"]] and saved.records == 5


AVAILABILITY = Path(__file__).parent / "recordings" / "comtrade_getda_C_A_HS_2021.json"  # see recordings/PROVENANCE.md


def test_availability_lists_each_dataset_with_what_changes_when_its_figures_do(server, monkeypatch):
    monkeypatch.setenv(live.KEY_ENV, "S3CRET-KEY")
    server.script("/data/v1/getDa/C/A/HS", [Reply(200, AVAILABILITY.read_bytes(), JSON, gzip=True)])
    datasets = live.availability(["2021"], [24, 31, 32, 36, 40], base=server.url(""), **FAST)
    rows = json.loads(AVAILABILITY.read_bytes())["data"]
    assert [
        (d.reporter_code, d.reporter_iso3, d.period, d.classification, d.total_records, d.checksum, d.last_released)
        for d in datasets
    ] == [
        (
            r["reporterCode"],
            r["reporterISO"],
            str(r["period"]),
            r["classificationCode"],
            r["totalRecords"],
            str(r["datasetChecksum"]),
            r["lastReleased"],
        )
        for r in rows
    ]
    azerbaijan = datasets[1]  # released 2022-03-29, revised 2022-05-03
    assert (azerbaijan.first_released, azerbaijan.last_released) == (
        "2022-03-29T22:50:18.8066667",
        "2022-05-03T19:12:39.8333333",
    )
    assert azerbaijan.mark == "H5:1375342973@2022-05-03T19:12:39.8333333"
    asked = server.requests("/data/v1/getDa/C/A/HS")[0]
    assert "period=2021" in asked and "reportercode=24%2C31%2C32%2C36%2C40" in asked and "S3CRET" not in asked
    assert server.headers()[0][live.KEY_HEADER] == "S3CRET-KEY"


def test_availability_without_a_key_asks_the_public_endpoint_and_refuses_what_is_no_list(server, monkeypatch):
    monkeypatch.delenv(live.KEY_ENV, raising=False)
    broken = json.loads(AVAILABILITY.read_bytes())
    del broken["data"][2]["datasetChecksum"]
    server.script(
        "/public/v1/getDa/C/A/HS",
        [
            Reply(200, AVAILABILITY.read_bytes(), JSON),
            answer([], error="Invalid period"),
            Reply(200, json.dumps(broken).encode(), JSON),
        ],
    )
    assert len(live.availability(["2021"], base=server.url(""), **FAST)) == 5
    assert "reportercode" not in server.requests("/public/v1/getDa/C/A/HS")[0]
    with pytest.raises(fetch.NotData, match="Invalid period"):
        live.availability(["2021"], base=server.url(""), **FAST)
    with pytest.raises(fetch.NotData, match="dataset 3 has no datasetChecksum"):
        live.availability(["2021"], base=server.url(""), **FAST)


REFERENCE = DATA / "comtrade" / "reference"
# getReference('reporter').head(5) as the official client's example notebook shows it (the
# service's Reporters.json entries; see recordings/PROVENANCE.md for the notebook)
NOTEBOOK_REPORTERS = [
    {
        "id": i,
        "text": name,
        "reporterCode": i,
        "reporterDesc": name,
        "reporterNote": name,
        "reporterCodeIsoAlpha2": iso2,
        "reporterCodeIsoAlpha3": iso3,
        "entryEffectiveDate": "1900-01-01T00:00:00",
        "isGroup": False,
        "entryExpiredDate": None,
    }
    for i, name, iso2, iso3 in (
        (4, "Afghanistan", "AF", "AFG"),
        (8, "Albania", "AL", "ALB"),
        (12, "Algeria", "DZ", "DZA"),
        (20, "Andorra", "AD", "AND"),
        (24, "Angola", "AO", "AGO"),
    )
]


def service_list(name: str, prefix: str, note_prefix: str) -> bytes:
    """A bundled reference list as the service publishes it (the notebook's shape), from its CSV."""

    def date(year: str, end: bool) -> str | None:
        return f"{int(float(year))}-{'12-31' if end else '01-01'}T00:00:00" if year else None

    with open(REFERENCE / name, newline="", encoding="utf-8") as fh:
        results = [
            {
                "id": int(r["id"]),
                "text": r["country"],
                f"{prefix}Code": int(r["id"]),
                f"{prefix}Desc": r["country"],
                f"{note_prefix}Note": r["note"] or None,
                f"{prefix}CodeIsoAlpha2": r["iso_2"] or None,
                f"{prefix}CodeIsoAlpha3": r["iso_3"],
                "entryEffectiveDate": date(r["entry_year"], False),
                "isGroup": r["group"] == "True",
                "entryExpiredDate": date(r["exit_year"], True),
            }
            for r in csv.DictReader(fh)
        ]
    return json.dumps({"more": False, "results": results}).encode("utf-8-sig")


def test_the_reference_lists_are_saved_in_the_bundled_layout_and_give_the_same_crosswalk(server, tmp_path):
    from tradewh.sources.comtrade import crosswalk_build

    reporters = service_list("reference_reporters.csv", "reporter", "reporter")
    assert json.loads(reporters.decode("utf-8-sig"))["results"][:5] == NOTEBOOK_REPORTERS
    server.script("/files/v1/app/reference/Reporters.json", [Reply(200, reporters, JSON)])
    server.script(
        "/files/v1/app/reference/partnerAreas.json",
        [Reply(200, service_list("reference_partners.csv", "Partner", "partner"), JSON)],
    )
    paths = live.fetch_reference(tmp_path / "reference", base=server.url(""), **FAST)
    assert [p.name for p in paths] == ["reference_reporters.csv", "reference_partners.csv"]
    fetched = crosswalk_build.read_reference(tmp_path / "reference")
    assert fetched == crosswalk_build.read_reference(REFERENCE)  # every code, name, ISO code, year and group flag
    assert fetched["842"].iso3 == "USA" and fetched["841"].exit_year == 1980 and fetched["516"].iso2 == "NA"
    committed = pl.read_csv(SOURCE.crosswalk_path, infer_schema=False).to_dicts()
    assert crosswalk_build.build(fetched).to_dicts() == committed


def test_a_reference_list_that_is_no_list_saves_nothing(server, tmp_path):
    server.script(
        "/files/v1/app/reference/Reporters.json",
        [Reply(200, service_list("reference_reporters.csv", "reporter", "reporter"), JSON)],
    )
    server.script(
        "/files/v1/app/reference/partnerAreas.json",
        [Reply(200, b'{"results": [{"id": 4, "text": "Afghanistan"}]}', JSON)],
    )
    with pytest.raises(fetch.NotData, match="entry 1 has no id, PartnerCode and text that agree"):
        live.fetch_reference(tmp_path / "reference", base=server.url(""), **FAST)
    assert not (tmp_path / "reference").exists()  # the reporters list came whole, but alone it is not saved
