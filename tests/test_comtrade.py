"""UN Comtrade+ totals behind the source contract: reader layouts, releases, crosswalk, load policies
and a published build. Golden values and counts come from Python's csv and json modules reading the
bundled files, independently of sources/comtrade/reader.py."""

import csv
import gzip
import hashlib
import json
import shutil
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tradewh.sources.comtrade import crosswalk_build, reader
from tradewh.sources.comtrade.source import SOURCE as COMTRADE
from tradewh.sources.contract import FileLayoutError
from tradewh.warehouse import ingest
from tradewh.warehouse.canonical import canonicalise
from tradewh.warehouse.crosswalk import load_crosswalk, load_crosswalks

from conftest import ROOT, run_build

DATA = ROOT / "data" / "comtrade"
ALL_EXPORTS = "comtrade_all_exports_2021A.csv"  # 13 camelCase columns
USA_IMPORTS = "usa_imports_total_2018_2022.csv"  # 47 snake_case columns
CHN_EXPORTS = "chn_exports_total_2012_2022.csv"  # 47 snake_case columns
CHN_2010 = "v1_get_C_A_HS_chn_2010.json"  # raw v1 answer
SHRIMP = "tha_shrimp_hs6_all_partners_2007_2011.csv"  # 47 snake_case columns, HS6 products
EU27 = "eu27_imports_wood_paper_2018_2022.csv.gz"  # 9 snake_case columns (ISO3, no numeric codes), HS2/4/6 products
INPUTS = (ALL_EXPORTS, CHN_EXPORTS, USA_IMPORTS, CHN_2010, SHRIMP, EU27)


# --- independent readers (csv / json modules) -------------------------------------------------


def csv_records(name: str, folder: Path = DATA) -> list[tuple[int, dict]]:
    """[(line number, row)] of a bundled CSV file, gzip or not (header = line 1; no field spans lines in these)."""
    opener = gzip.open if name.endswith(".gz") else open
    with opener(folder / name, "rt", newline="", encoding="utf-8") as fh:
        return list(enumerate(csv.DictReader(fh), start=2))


def json_records(name: str = CHN_2010, folder: Path = DATA) -> list[dict]:
    return json.loads((folder / name).read_text(encoding="utf-8"))["data"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def folder_with(tmp_path: Path, files: dict[str, Path], vintage: str = "2025-12-14", releases: bool = True) -> Path:
    """A folder with copies of `files` ({name: source path}) and a RELEASES.csv row for each."""
    folder = tmp_path / "comtrade"
    folder.mkdir(exist_ok=True)
    for name, src in files.items():
        if src != folder / name:
            shutil.copy(src, folder / name)
    if releases:
        lines = ["source_file,file_sha256,vintage,release_kind"]
        lines += [f"{n},{sha256(folder / n)},{vintage},retrieved_by" for n in sorted(files)]
        (folder / "RELEASES.csv").write_text("\n".join(lines) + "\n")
    return folder


def edit_csv(src: Path, dst: Path, edits: dict[tuple[int, str], str], drop: str | None = None) -> Path:
    """Copy a CSV with {(line, column): new text} applied (and a column dropped), via the csv module."""
    with open(src, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    for (line, column), value in edits.items():
        rows[line - 1][header.index(column)] = value
    if drop:
        i = header.index(drop)
        rows = [r[:i] + r[i + 1 :] for r in rows]
    with open(dst, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return dst


def edit_json(src: Path, dst: Path, edit) -> Path:
    answer = json.loads(src.read_text(encoding="utf-8"))
    edit(answer)
    dst.write_text(json.dumps(answer, indent=4), encoding="utf-8")
    return dst


def build(store, folder: Path):
    ingest.ingest(COMTRADE, folder, store, "test")
    raw = ingest.load_raw(store, COMTRADE, "test")
    return raw, canonicalise({"comtrade": raw}, load_crosswalks())


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    """(raw rows, canonical result) of the bundled folder data/comtrade."""
    from tradewh.warehouse.store import Store

    home = tmp_path_factory.mktemp("comtrade")
    return build(Store(home / "home", home / "home" / "tradewh.duckdb"), DATA)


# --- files and releases ---------------------------------------------------------------------


def test_input_files_are_the_record_files_with_their_declared_releases():
    files, skipped, errors = COMTRADE.input_files(DATA)
    assert not errors and not skipped
    got = {f.name: (f.vintage, f.release_kind, f.sha256) for f in files}
    assert set(got) == set(INPUTS)  # RELEASES.csv and reference/*.csv are no input files
    with open(DATA / "RELEASES.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            assert got[row["source_file"]] == (
                date.fromisoformat(row["vintage"]),
                "retrieved_by",
                sha256(DATA / row["source_file"]),
            )
    assert got[ALL_EXPORTS][0] == date(2023, 3, 10) and got[CHN_2010][0] == date(2025, 12, 14)


def test_a_file_without_a_release_row_is_refused_naming_it(tmp_path, store):
    folder = folder_with(tmp_path, {CHN_2010: DATA / CHN_2010})
    shutil.copy(DATA / USA_IMPORTS, folder / "usa_again.csv")  # no row in RELEASES.csv
    files, _, errors = COMTRADE.input_files(folder)
    assert [f.name for f in files] == [CHN_2010]
    assert len(errors) == 1 and errors[0].path.endswith("usa_again.csv")
    assert "usa_again.csv" in str(errors[0]) and sha256(folder / "usa_again.csv") in str(errors[0])
    with pytest.raises(ingest.FileSetError, match="usa_again.csv"):
        ingest.ingest(COMTRADE, folder, store, "test")


# --- the reader -----------------------------------------------------------------------------


def test_one_raw_row_per_data_record(bundled):
    raw, res = bundled
    expected = {n: len(csv_records(n)) for n in (ALL_EXPORTS, USA_IMPORTS, CHN_EXPORTS, SHRIMP, EU27)}
    expected[CHN_2010] = len(json_records())
    counts = dict(raw.group_by(pl.col("source_file").cast(pl.String)).len().iter_rows())
    assert counts == expected
    assert expected == {ALL_EXPORTS: 21338, USA_IMPORTS: 20, CHN_EXPORTS: 33, CHN_2010: 4, SHRIMP: 1586, EU27: 173358}
    layouts = dict(
        raw.group_by(pl.col("source_file").cast(pl.String))
        .agg(pl.col("file_layout").cast(pl.String).first())
        .iter_rows()
    )
    assert layouts == {
        ALL_EXPORTS: "v1_csv_camel",
        USA_IMPORTS: "v1_csv_snake",
        CHN_EXPORTS: "v1_csv_snake",
        CHN_2010: "v1_json",
        SHRIMP: "v1_csv_snake",
        EU27: "v1_csv_snake",
    }
    lines = raw.filter(pl.col("source_file") == ALL_EXPORTS)["record"].to_list()
    assert lines == [line for line, _ in csv_records(ALL_EXPORTS)]
    assert raw.filter(pl.col("source_file") == CHN_2010)["record"].to_list() == [0, 1, 2, 3]
    s = res.summary
    assert s["raw_cells"] == s["observations"] + s["duplicates"] + s["quarantined"] == sum(expected.values())
    assert s["quarantined"] == 0 and s["duplicates"] == 0


def test_columns_a_layout_lacks_are_null_and_codes_stay_text(bundled):
    raw, _ = bundled
    thirteen = raw.filter(pl.col("source_file") == ALL_EXPORTS)
    for column in ("flow_code", "cmd_code", "partner2_code", "mot_code", "customs_code", "period", "is_reported"):
        assert thirteen[column].null_count() == thirteen.height, column
    assert set(thirteen["flow_desc"].cast(pl.String)) == {"Export"}
    assert set(thirteen["cmd_desc"].cast(pl.String)) == {"All Commodities"}
    # pseudo-ISO partner codes kept as published text
    isos = set(thirteen["partner_iso"].cast(pl.String))
    assert {"W00", "X1", "X2", "XX", "_X", "S19", "NAM"} <= isos
    snake = raw.filter(pl.col("source_file") == USA_IMPORTS)
    assert snake["partner2_code"].to_list() == [0] * 20 and set(snake["customs_code"].cast(pl.String)) == {"C00"}


def test_golden_usa_exports_to_mexico_2021_from_the_13_column_file(bundled):
    _, res = bundled
    line, row = next(
        (n, r) for n, r in csv_records(ALL_EXPORTS) if r["reporterCode"] == "842" and r["partnerCode"] == "484"
    )
    obs = res.observations.filter(
        (pl.col("reporter_iso3") == "USA")
        & (pl.col("partner_iso3") == "MEX")
        & (pl.col("period") == "2021")
        & (pl.col("source_file") == ALL_EXPORTS)
    ).row(0, named=True)
    assert obs["value_usd"] == round(float(row["primaryValue"]), 2)
    assert obs["original_value"] == float(row["primaryValue"])
    assert (obs["flow"], obs["valuation"], obs["freq"], obs["year"], obs["month"], obs["cmd_code"]) == (
        "X",
        "FOB",
        "A",
        2021,
        None,
        "TOTAL",
    )
    assert (obs["original_unit"], obs["original_currency"], obs["usd_per_unit"]) == ("USD", "USD", 1.0)
    assert (obs["source_sheet"], obs["source_cell"]) == (None, f"line {line}, column primaryValue")
    assert obs["vintage"] == date(2023, 3, 10) and obs["is_estimated"] is False and obs["derivation"] is None


def test_golden_china_imports_from_germany_2010_from_the_json_answer(bundled):
    _, res = bundled
    i, rec = next((i, r) for i, r in enumerate(json_records()) if r["flowCode"] == "M" and r["partnerCode"] == 276)
    obs = res.observations.filter(
        (pl.col("reporter_iso3") == "CHN")
        & (pl.col("partner_iso3") == "DEU")
        & (pl.col("flow") == "M")
        & (pl.col("period") == "2010")
    ).row(0, named=True)
    assert obs["value_usd"] == round(rec["primaryValue"], 2) == round(rec["cifvalue"], 2)
    assert (obs["valuation"], obs["source_file"], obs["source_cell"]) == ("CIF", CHN_2010, f"data[{i}].primaryValue")


def test_golden_usa_imports_from_japan_2020_from_the_snake_case_file(bundled):
    _, res = bundled
    line, row = next(
        (n, r) for n, r in csv_records(USA_IMPORTS) if r["partner_code"] == "392" and r["ref_year"] == "2020"
    )
    obs = res.observations.filter(
        (pl.col("reporter_iso3") == "USA") & (pl.col("partner_iso3") == "JPN") & (pl.col("period") == "2020")
    ).row(0, named=True)
    assert obs["value_usd"] == float(row["primary_value"])
    assert (obs["flow"], obs["valuation"], obs["source_cell"]) == ("M", "CIF", f"line {line}, column primary_value")
    # isReported false (with isAggregate true) is UNSD's sum of the reported detail, not an estimate
    assert row["is_reported"] == "False" and row["is_aggregate"] == "True" and obs["is_estimated"] is False


def test_no_double_counting_partners_add_up_to_world(bundled):
    # First the file against itself, exactly: every reporter's non-World partners sum to its World row.
    world, partners = {}, defaultdict(Decimal)
    for _, r in csv_records(ALL_EXPORTS):
        if r["partnerCode"] == "0":
            world[r["reporterCode"]] = Decimal(r["primaryValue"])
        else:
            partners[r["reporterCode"]] += Decimal(r["primaryValue"])
    assert len(world) == 140 and set(world) == set(partners)
    assert max(abs(world[k] - partners[k]) for k in world) < Decimal("0.02")
    # Then the loaded observations (areas, not-specified and Taiwan included): the same identity, to the dollar.
    _, res = bundled
    obs = res.observations.filter(pl.col("source_file") == ALL_EXPORTS)
    sums = obs.group_by("reporter_iso3").agg(
        world=pl.col("value_usd").filter(pl.col("partner_type") == "world").sum(),
        partners=pl.col("value_usd").filter(pl.col("partner_type") != "world").sum(),
        n_world=(pl.col("partner_type") == "world").sum(),
    )
    assert sums.height == 140 and set(sums["n_world"]) == {1}
    assert (sums["world"] - sums["partners"]).abs().max() < 1.0
    assert set(obs["partner_type"]) == {"world", "country", "historical", "not_specified"}


@pytest.mark.parametrize(
    "code, iso3, entity_type",
    [
        ("0", "W00", "world"),
        ("490", "TWN", "country"),  # Other Asia, nes (S19): Taiwan
        ("842", "USA", "country"),
        ("516", "NAM", "country"),
        ("899", "XNS", "not_specified"),  # _X Areas, nes
        ("839", "XSP", "not_specified"),  # XX Special Categories
        ("568", "XNE", "not_specified"),  # E19 Other Europe, nes
        ("577", "XNF", "not_specified"),  # F19 Other Africa, nes
        ("837", "XBK", "not_specified"),  # X1 Bunkers
        ("838", "XFZ", "not_specified"),  # X2 Free Zones
        ("97", "XEU", "group"),
        ("975", "XAS", "group"),
        ("58", "XBL", "historical"),
        ("736", "SDN", "country"),
        ("280", "DEU", "country"),
        ("886", "XYA", "historical"),
        ("810", "SUN", "historical"),
    ],
)
def test_crosswalk_maps_comtrade_codes(code, iso3, entity_type):
    row = load_crosswalk("comtrade").filter(pl.col("source_name") == code).row(0, named=True)
    assert (row["code"], row["entity_type"]) == (iso3, entity_type)


def test_world_areas_taiwan_and_namibia_in_the_loaded_rows(bundled):
    _, res = bundled
    obs = res.observations.filter(pl.col("source_file") == ALL_EXPORTS)
    rows = [r for _, r in csv_records(ALL_EXPORTS)]
    by_partner = dict(obs.group_by("partner_iso3").len().iter_rows())
    for code, iso3 in (("0", "W00"), ("899", "XNS"), ("839", "XSP"), ("837", "XBK"), ("490", "TWN"), ("516", "NAM")):
        assert by_partner[iso3] == sum(r["partnerCode"] == code for r in rows), iso3
    # Taiwan reports too, as 490 (a group in the reporters list, a country in the records)
    assert obs.filter(pl.col("reporter_iso3") == "TWN").height == sum(r["reporterCode"] == "490" for r in rows) > 0
    # Namibia (516) is a partner of the file; its ISO2 "NA" in the reference lists is read as text
    assert by_partner["NAM"] > 0
    namibia = crosswalk_build.read_reference()["516"]
    assert (namibia.iso3, namibia.iso2) == ("NAM", "NA")


# --- load policies on edited copies ---------------------------------------------------------


def test_a_breakdown_record_is_quarantined_and_counted(tmp_path, store):
    def breakdown(answer):  # China's imports from Germany 2010 arriving via Argentina: a part of the total
        rec = answer["data"][1]
        rec.update(
            partner2Code=32, partner2ISO="ARG", partner2Desc="Argentina", primaryValue=1234567.0, cifvalue=1234567.0
        )

    edited = edit_json(DATA / CHN_2010, tmp_path / "v1_get_C_A_HS_chn_2010_partner2.json", breakdown)
    folder = folder_with(tmp_path, {CHN_2010: DATA / CHN_2010, edited.name: edited})
    raw, res = build(store, folder)
    s = res.summary
    assert (s["raw_cells"], s["observations"], s["duplicates"], s["quarantined"]) == (8, 4, 3, 1)
    assert s["quarantined_by_reason"] == {"breakdown_not_total": 1}
    q = res.quarantine.row(0, named=True)
    assert (q["source_file"], q["source_cell"]) == (edited.name, "data[1].primaryValue")
    assert "partner2Code 32" in q["detail"]
    assert set(res.duplicates["scope"]) == {"other_file"}


def test_breakdowns_by_transport_and_customs_in_a_snake_case_file(tmp_path, store):
    src = DATA / USA_IMPORTS
    edited = edit_csv(src, tmp_path / "usa_breakdown.csv", {(3, "mot_code"): "1000", (4, "customs_code"): "C01"})
    folder = folder_with(tmp_path, {"usa_breakdown.csv": edited})
    raw, res = build(store, folder)
    q = res.quarantine.sort("raw_id")
    assert q["reason"].to_list() == ["breakdown_not_total"] * 2
    assert q["source_cell"].to_list() == ["line 3, column primary_value", "line 4, column primary_value"]
    assert "motCode 1000" in q["detail"][0] and "customsCode C01" in q["detail"][1]
    assert res.summary["observations"] == raw.height - 2 == len(csv_records(USA_IMPORTS)) - 2


def test_bad_values_flows_and_products_are_quarantined_never_dropped(tmp_path, store):
    src = DATA / ALL_EXPORTS
    lines = {line: r for line, r in csv_records(ALL_EXPORTS)}
    edits = {
        (5, "primaryValue"): "n/a",
        (6, "primaryValue"): "1e400",
        (7, "flowDesc"): "Re-export",
        (8, "cmdDesc"): "Live animals",
        (9, "flowDesc"): "Transit",
    }
    edited = edit_csv(src, tmp_path / "all_exports_edited.csv", edits)
    folder = folder_with(tmp_path, {edited.name: edited})
    raw, res = build(store, folder)
    q = {r["source_cell"]: (r["reason"], r["detail"]) for r in res.quarantine.iter_rows(named=True)}
    assert q["line 5, column primaryValue"] == ("unparseable_value", "primaryValue 'n/a' is not a number")
    assert q["line 6, column primaryValue"][0] == "non_finite_value"
    assert (
        q["line 8, column primaryValue"][0] == "product_not_total"
        and "Live animals" in q["line 8, column primaryValue"][1]
    )
    assert q["line 9, column primaryValue"][0] == "invalid_flow" and "Transit" in q["line 9, column primaryValue"][1]
    rx = res.observations.filter(pl.col("source_cell") == "line 7, column primaryValue").row(0, named=True)
    assert (rx["flow"], rx["valuation"], rx["value_usd"]) == ("RX", "FOB", round(float(lines[7]["primaryValue"]), 2))
    s = res.summary
    assert s["quarantined"] == 4 and s["raw_cells"] == s["observations"] + s["duplicates"] + s["quarantined"] == len(
        lines
    )
    assert res.observations["value_usd"].is_finite().all()


def test_a_monthly_record_gets_freq_m_and_its_month(tmp_path, store):
    def monthly(answer):
        for rec in answer["data"]:
            rec.update(freqCode="M", refMonth=3, period="201003", refPeriodId=20100301)

    edited = edit_json(DATA / CHN_2010, tmp_path / "chn_2010_03.json", monthly)
    _, res = build(store, folder_with(tmp_path, {edited.name: edited}))
    obs = res.observations
    assert obs.height == 4 and set(zip(obs["freq"], obs["period"], obs["month"], obs["year"])) == {
        ("M", "201003", 3, 2010)
    }


def test_a_code_the_crosswalk_lacks_stops_the_load_naming_where_it_was_seen(tmp_path, store):
    from tradewh.warehouse.crosswalk import UnmappedNamesError

    edited = edit_csv(DATA / USA_IMPORTS, tmp_path / "usa_999.csv", {(4, "partner_code"): "999"})
    folder = folder_with(tmp_path, {edited.name: edited})
    ingest.ingest(COMTRADE, folder, store, "test")
    with pytest.raises(UnmappedNamesError) as err:
        canonicalise({"comtrade": ingest.load_raw(store, COMTRADE, "test")}, load_crosswalks())
    assert "'999' (partner; first seen in usa_999.csv line 4, column primary_value, 1 cells)" in str(err.value)


# --- layout errors --------------------------------------------------------------------------


def _layout_cases(tmp_path: Path) -> list[tuple[Path, list[str]]]:
    cases = []
    ref = tmp_path / "reference_partners.csv"
    shutil.copy(DATA / "reference" / "reference_partners.csv", ref)
    cases.append((ref, ["unknown layout", "primaryValue", "primary_value"]))
    no_partner = edit_csv(DATA / ALL_EXPORTS, tmp_path / "no_partner.csv", {}, drop="partnerCode")
    no_partner = edit_csv(no_partner, no_partner, {}, drop="partnerISO")  # partnerISO alone would do
    cases.append((no_partner, ["missing column(s): partnerCode or partnerISO"]))
    no_flow = edit_csv(DATA / USA_IMPORTS, tmp_path / "no_flow.csv", {}, drop="flow_code")
    no_flow = edit_csv(no_flow, no_flow, {}, drop="flow_desc")
    cases.append((no_flow, ["missing column(s): flow_code or flow_desc"]))
    bad_code = edit_csv(
        DATA / ALL_EXPORTS, tmp_path / "bad_code.csv", {(4, "reporterCode"): "AGO", (9, "partnerCode"): ""}
    )
    cases.append(
        (
            bad_code,
            ["reporterCode: not an integer in 1 record(s): line 4 'AGO'", "partnerCode: empty in 1 record(s): line 9"],
        )
    )
    bad_flag = edit_csv(DATA / CHN_EXPORTS, tmp_path / "bad_flag.csv", {(2, "is_reported"): "maybe"})
    cases.append((bad_flag, ["is_reported: not true/false in 1 record(s): line 2 'maybe'"]))
    errored = edit_json(DATA / CHN_2010, tmp_path / "errored.json", lambda a: a.update(error="Please check your query"))
    cases.append((errored, ["the answer carries an error: 'Please check your query'"]))
    truncated = edit_json(DATA / CHN_2010, tmp_path / "truncated.json", lambda a: a["data"].pop())
    cases.append((truncated, ["count 4 differs from the 3 records in data[]"]))
    lacking = edit_json(DATA / CHN_2010, tmp_path / "lacking.json", lambda a: a["data"][2].pop("reporterCode"))
    cases.append((lacking, ["1 record(s) lack reporterCode: data[2]"]))
    not_json = tmp_path / "cut.json"
    not_json.write_text((DATA / CHN_2010).read_text()[:500])
    cases.append((not_json, ["not JSON"]))
    return cases


def test_layout_errors_name_the_file_and_every_problem(tmp_path):
    for path, expected in _layout_cases(tmp_path):
        with pytest.raises(reader.ComtradeLayoutError) as err:
            reader.records_frame(path, date(2025, 1, 1))
        assert isinstance(err.value, FileLayoutError) and err.value.path == str(path)
        assert str(err.value).startswith(f"{path.name}: not a UN Comtrade+ records file")
        for text in expected:
            assert any(text in p for p in err.value.problems), (path.name, text, err.value.problems)


def test_a_bad_file_stops_the_ingest_naming_it(tmp_path, store):
    bad = edit_json(DATA / CHN_2010, tmp_path / "errored.json", lambda a: a.update(error="quota exceeded"))
    folder = folder_with(tmp_path, {USA_IMPORTS: DATA / USA_IMPORTS, bad.name: bad})
    with pytest.raises(ingest.FileSetError) as err:
        ingest.ingest(COMTRADE, folder, store, "test")
    assert "errored.json" in str(err.value) and "quota exceeded" in str(err.value) and USA_IMPORTS not in str(err.value)


def test_an_empty_answer_is_no_rows_not_an_error(tmp_path):
    empty = edit_json(DATA / CHN_2010, tmp_path / "empty.json", lambda a: a.update(count=0, data=[]))
    assert reader.records_frame(empty, date(2025, 1, 1)).height == 0


def test_parse_value():
    assert reader.parse_value("33743790442.26") == (33743790442.26, None)
    assert reader.parse_value("1.5e9") == (1.5e9, None)
    for text in ("", None, "n/a", "NaN", "Inf", "1,234", "１２"):
        value, error = reader.parse_value(text)
        assert value is None and error


# --- crosswalk ------------------------------------------------------------------------------


def test_committed_crosswalk_is_what_the_builder_makes():
    rebuilt = crosswalk_build.build(crosswalk_build.read_reference())
    assert rebuilt.to_dicts() == pl.read_csv(COMTRADE.crosswalk_path, infer_schema=False).to_dicts()


def test_every_code_of_both_reference_lists_and_of_the_records_is_mapped(bundled):
    codes = set()
    for name in crosswalk_build.REFERENCE_FILES:
        with open(DATA / "reference" / name, newline="", encoding="utf-8") as fh:
            codes |= {r["id"] for r in csv.DictReader(fh)}
    crosswalk = load_crosswalk("comtrade")
    cw = crosswalk.filter(pl.col("method") != "reference_list_iso3")  # the rows keyed by ISO3 are tested below
    assert set(cw["source_name"]) == codes and cw.height == len(codes) == 312
    raw, _ = bundled
    used = set(raw["reporter_code"].drop_nulls().cast(pl.String)) | set(
        raw["partner_code"].drop_nulls().cast(pl.String)
    )
    assert used <= codes
    keys = set(raw["reporter_key"].cast(pl.String)) | set(raw["partner_key"].cast(pl.String))
    assert keys <= set(crosswalk["source_name"])


def test_load_crosswalks_succeeds_and_shared_codes_match_dots():
    frame = load_crosswalks()
    assert frame.filter((pl.col("source") == "comtrade") & (pl.col("method") != "reference_list_iso3")).height == 312
    dots = load_crosswalk("imf_dots").unique("code").select("code", "entity_type", "valid_from", "valid_to", "label")
    ours = load_crosswalk("comtrade").unique("code").select(dots.columns)
    shared = ours.join(dots, on="code", suffix="_dots")
    assert shared.height > 150
    for a in ("entity_type", "valid_from", "valid_to", "label"):
        assert shared.filter(pl.col(a).ne_missing(pl.col(f"{a}_dots"))).height == 0, a


def test_several_codes_map_to_one_entity_only_when_declared(tmp_path):
    reference = crosswalk_build.read_reference()
    overrides = crosswalk_build.OVERRIDES.read_text(encoding="utf-8").splitlines()
    # without its override row, 840 (M49 USA, 1900-) and 842 (Comtrade USA, 1981-) overlap: refused
    path = tmp_path / "overrides.csv"
    path.write_text("\n".join(line for line in overrides if not line.startswith("840,")) + "\n")
    with pytest.raises(ValueError, match=r"code USA claimed by numeric codes not declared the same entity: 840 .*842"):
        crosswalk_build.build(reference, path)
    # the same ISO3 over years that do not overlap is one entity over time (Ethiopia 230 ...1992, 231 1993-)
    path.write_text("\n".join(line for line in overrides if not line.startswith("230,")) + "\n")
    rebuilt = crosswalk_build.build(reference, path).filter(pl.col("method") != "reference_list_iso3")
    assert rebuilt.filter(pl.col("code") == "ETH").height == 2


def test_builder_refuses_unmapped_codes_and_attributes_that_differ_from_dots(tmp_path):
    reference = crosswalk_build.read_reference()
    overrides = crosswalk_build.OVERRIDES.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "overrides.csv"
    path.write_text("\n".join(line for line in overrides if not line.startswith("837,")) + "\n")
    with pytest.raises(ValueError, match=r"no current ISO3 and no override.*837 'Bunkers' \(ISO3 'X1'\)"):
        crosswalk_build.build(reference, path)
    path.write_text(
        "\n".join(line.replace("1998-12-31", "1999-12-31") if line.startswith("58,") else line for line in overrides)
        + "\n"
    )
    with pytest.raises(ValueError, match=r"override 58 -> XBL: valid_to '1999-12-31' \(DOTS: '1998-12-31'\)"):
        crosswalk_build.build(reference, path)


# --- a published build ----------------------------------------------------------------------


def test_build_publishes_comtrade_observations(store, inbox):
    result = run_build(store, inbox(), comtrade=DATA)  # the DOTS folder is empty
    assert result.success
    line, row = next(
        (n, r) for n, r in csv_records(ALL_EXPORTS) if r["reporterCode"] == "842" and r["partnerCode"] == "484"
    )
    total = sum(len(csv_records(n)) for n in (ALL_EXPORTS, USA_IMPORTS, CHN_EXPORTS, SHRIMP, EU27)) + len(
        json_records()
    )
    with duckdb.connect(str(store.db_path), read_only=True) as con:
        got = con.execute(
            "SELECT value_usd, source_cell, vintage FROM canonical.observations WHERE source = 'comtrade' "
            "AND reporter_iso3 = 'USA' AND partner_iso3 = 'MEX' AND flow = 'X' AND period = '2021'"
        ).fetchall()
        assert got == [(round(float(row["primaryValue"]), 2), f"line {line}, column primaryValue", date(2023, 3, 10))]
        assert con.execute("SELECT count(*) FROM raw.comtrade_records").fetchone()[0] == total
        assert (
            con.execute("SELECT count(*) FROM canonical.observations WHERE source = 'comtrade'").fetchone()[0] == total
        )
        files = con.execute(
            "SELECT source_file, vintage FROM meta.source_files WHERE source = 'comtrade' ORDER BY 1"
        ).fetchall()
        assert [f for f, _ in files] == sorted(INPUTS)
        assert (
            con.execute("SELECT release_scope FROM ref.sources WHERE source = 'comtrade'").fetchone()[0]
            == "observation"
        )


@pytest.mark.parametrize("name", [ALL_EXPORTS, USA_IMPORTS, SHRIMP])
def test_the_fast_csv_path_reads_what_the_csv_module_reads(name, monkeypatch):
    # A file with one record per line is read by Polars' CSV reader; any other by the csv module,
    # which also says what is wrong. Both give the same raw rows, line numbers included.
    fast = reader.records_frame(DATA / name, date(2025, 12, 14))
    monkeypatch.setattr(reader, "_polars_columns", lambda *args: None)
    slow = reader.records_frame(DATA / name, date(2025, 12, 14))
    assert fast.equals(slow, null_equal=True) and fast.height == len(csv_records(name))


@pytest.mark.parametrize("name", [ALL_EXPORTS, SHRIMP])
@pytest.mark.parametrize("extra", [False, True])
def test_a_line_with_fields_missing_or_extra_is_refused_naming_it(name, extra, tmp_path):
    # Polars' CSV reader pads a short line with nulls; the reader must still refuse it, as the csv
    # module's path always did (alone, and beside a line with a field too many).
    lines = (DATA / name).read_text(encoding="utf-8").splitlines(keepends=True)
    width = len(lines[0].split(","))
    lines[4] = lines[4].rsplit(",", 1)[0] + "\n"  # line 5 loses its last field
    expected = [f"line 5 ({width - 1})"]
    if extra:
        lines[7] = lines[7].rstrip("\n") + ",extra\n"  # line 8 gains one
        expected.append(f"line 8 ({width + 1})")
    cut = tmp_path / name
    cut.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(reader.ComtradeLayoutError) as err:
        reader.records_frame(cut, date(2025, 12, 14))
    assert f"{len(expected)} line(s) without the header's {width} fields: {', '.join(expected)}" in str(err.value)
