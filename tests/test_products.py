"""HS products beside commodity totals (warehouse/products.py): the classification and product level
of every observation, Comtrade's HS6 rows loaded, and totals never mixed with products."""

import csv
import dataclasses
import gzip
import shutil
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tradewh.expectations.checks import CHECKS
from tradewh.sources.comtrade.source import SOURCE as COMTRADE
from tradewh.warehouse import ingest
from tradewh.warehouse.canonical import canonicalise
from tradewh.warehouse.crosswalk import load_crosswalks

from conftest import AFGHANISTAN, DATA, INDONESIA, run_build

COMTRADE_DATA = DATA / "comtrade"
SHRIMP = "tha_shrimp_hs6_all_partners_2007_2011.csv"
ALL_EXPORTS = "comtrade_all_exports_2021A.csv"
EU27 = "eu27_imports_wood_paper_2018_2022.csv.gz"
RELEASE = "2025-12-14"


def records(path: Path) -> list[tuple[int, dict]]:
    """[(line, row)] of a CSV file, gzip or not, read with the csv module (header = line 1)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", newline="", encoding="utf-8") as fh:
        return list(enumerate(csv.DictReader(fh), start=2))


def folder_of(tmp_path: Path, files: dict[str, Path], classification: dict[str, str] | None = None) -> Path:
    """A Comtrade input folder with copies of `files` ({name: path}), each declared in RELEASES.csv
    (with the HS revision `classification` gives by name, if any)."""
    from tradewh.sources.contract import file_sha256

    folder = tmp_path / "comtrade"
    folder.mkdir()
    lines = ["source_file,file_sha256,vintage,release_kind,classification"]
    for name, src in files.items():
        shutil.copy(src, folder / name)
        lines.append(
            f"{name},{file_sha256(folder / name)},{RELEASE},retrieved_by,{(classification or {}).get(name, '')}"
        )
    (folder / "RELEASES.csv").write_text("\n".join(lines) + "\n")
    return folder


def canonical(tmp_path: Path, folder: Path):
    from tradewh.warehouse.store import Store

    store = Store(tmp_path / "home", tmp_path / "home" / "tradewh.duckdb")
    ingest.ingest(COMTRADE, folder, store, "test")
    return canonicalise({"comtrade": ingest.load_raw(store, COMTRADE, "test")}, load_crosswalks())


def test_thailands_hs6_shrimp_rows_load_as_products_classified_hs2007(tmp_path):
    result = canonical(tmp_path, folder_of(tmp_path, {SHRIMP: COMTRADE_DATA / SHRIMP}))
    rows = records(COMTRADE_DATA / SHRIMP)
    s = result.summary
    assert s["raw_cells"] == len(rows) == 1586 and s["observations"] == len(rows) and s["quarantined"] == 0
    got = {
        r["source_cell"]: r
        for r in result.observations.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String)).iter_rows(named=True)
    }
    for line, row in rows:
        o = got[f"line {line}, column primary_value"]
        assert (o["reporter_iso3"], o["flow"], o["period"], o["cmd_code"]) == (
            "THA",
            row["flow_code"],
            row["ref_year"],
            row["cmd_code"],
        )
        assert (o["classification"], o["product_level"]) == ("H3", "HS6")
        assert float(o["value_usd"]) == round(float(row["primary_value"]), 2)
    assert {o["flow"] for o in got.values()} == {"X", "M", "RM"}
    assert {o["cmd_code"] for o in got.values()} == {"030613", "030623", "160520", "160540"}


def test_a_code_or_revision_the_warehouse_cannot_place_is_quarantined_and_counts_add_up(tmp_path):
    rows = records(COMTRADE_DATA / SHRIMP)
    header = list(rows[0][1])
    edits = {2: {"cmd_code": "0306"}, 3: {"cmd_code": "03"}, 4: {"cmd_code": "03061"}, 5: {"classification_code": "S4"}}
    edited = tmp_path / "tha_shrimp_edited.csv"
    with open(edited, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, header)
        w.writeheader()
        for line, row in rows:
            w.writerow({**row, **edits.get(line, {})})
    result = canonical(tmp_path, folder_of(tmp_path, {edited.name: edited}))
    s = result.summary
    assert s["raw_cells"] == len(rows) == s["observations"] + s["duplicates"] + s["quarantined"]
    q = {r["source_cell"]: (r["reason"], r["detail"]) for r in result.quarantine.iter_rows(named=True)}
    assert q == {
        "line 4, column primary_value": (
            "invalid_cmd_code",
            "cmd_code 03061: neither TOTAL nor an HS code of 2, 4 or 6 digits",
        ),
        "line 5, column primary_value": (
            "unknown_classification",
            f"cmd_code {rows[3][1]['cmd_code']}: classification S4 is not an HS revision this warehouse loads "
            "(H0-H6, HS as reported)",
        ),
    }
    levels = dict(
        result.observations.filter(
            pl.col("source_cell").is_in(["line 2, column primary_value", "line 3, column primary_value"])
        )
        .select(pl.col("cmd_code").cast(pl.String), pl.col("product_level").cast(pl.String))
        .iter_rows()
    )
    assert levels == {"0306": "HS4", "03": "HS2"}


def test_the_same_product_in_two_hs_revisions_is_two_observations_and_a_total_is_one(tmp_path):
    # H3 and H4 codes of one product are not the same thing (a revision moves goods between codes);
    # an all-products total is the same in every revision.
    rows = records(COMTRADE_DATA / SHRIMP)
    header = list(rows[0][1])
    line, first = rows[0]
    h4 = tmp_path / "tha_shrimp_h4.csv"
    total = {**first, "cmd_code": "TOTAL", "cmd_desc": "All Commodities", "aggr_level": "0", "primary_value": "100.0"}
    with open(h4, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, header)
        w.writeheader()
        w.writerow({**first, "classification_code": "H4"})  # the same product, as if in HS 2012
        w.writerow({**total, "classification_code": "H4"})
        w.writerow({**total, "classification_code": "H5"})
    result = canonical(tmp_path, folder_of(tmp_path, {h4.name: h4, SHRIMP: COMTRADE_DATA / SHRIMP}))
    obs = result.observations.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String))
    product = obs.filter(
        (pl.col("cmd_code") == first["cmd_code"]) & (pl.col("flow") == first["flow_code"])
        & (pl.col("period") == first["ref_year"]) & (pl.col("partner_iso3") == first["partner_iso"])
    )  # fmt: skip
    assert sorted(product["classification"].to_list()) == ["H3", "H4"]
    totals = obs.filter(pl.col("cmd_code") == "TOTAL")
    assert totals.select("classification", "product_level").rows() == [("HS", "TOTAL")]
    assert result.summary["duplicates"] == 1


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """A warehouse built from Afghanistan's and Indonesia's DOTS workbooks and Comtrade's 2021 exports
    beside Thailand's shrimp products and the EU-27's wood and paper imports."""
    from tradewh.warehouse.store import Store

    from conftest import DOTS, write_releases

    tmp = tmp_path_factory.mktemp("products")
    dots = tmp / "dots"
    dots.mkdir()
    for workbook in (AFGHANISTAN, INDONESIA):
        shutil.copy(DOTS / workbook, dots / workbook)
    write_releases(dots)
    comtrade = folder_of(
        tmp,
        {SHRIMP: COMTRADE_DATA / SHRIMP, ALL_EXPORTS: COMTRADE_DATA / ALL_EXPORTS, EU27: COMTRADE_DATA / EU27},
        classification={EU27: "HS"},
    )
    store = Store(tmp / "home", tmp / "home" / "tradewh.duckdb")
    assert run_build(store, dots, comtrade=comtrade).success
    return store.db_path


def test_products_are_never_summed_into_the_totals_of_the_marts(warehouse):
    exports = {
        row["partnerISO"]: float(row["primaryValue"])
        for _, row in records(COMTRADE_DATA / ALL_EXPORTS)
        if row["reporterISO"] == "THA" and row["partnerISO"] in ("JPN", "USA")
    }
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(
            "SELECT count(*) FROM canonical.observations WHERE reporter_iso3 = 'THA' AND product_level = 'HS6'"
        ).fetchone() == (1586,)
        annual = con.execute(
            "SELECT year, flow::VARCHAR, partner_iso3::VARCHAR, value_usd FROM marts.bilateral_annual "
            "WHERE source = 'comtrade' AND reporter_iso3 = 'THA' AND value_usd IS NOT NULL"
        ).fetchall()
    assert {year for year, *_ in annual} == {2021}  # the shrimp years 2007-2011 have no total: none is made up
    got = {partner: float(v) for year, flow, partner, v in annual if flow == "X" and partner in exports}
    assert got == {partner: round(value, 2) for partner, value in exports.items()}


TOTALS_CHECKS = ("world_totals_plausible", "world_vs_partner_sum", "yoy_jump_extreme", "mirror_ratio_extreme",
                 "estimate_share_high")  # fmt: skip


@pytest.mark.parametrize("name", TOTALS_CHECKS)
def test_the_checks_on_totals_read_totals_only(warehouse, tmp_path, name):
    # Each frame is computed, with no size floor, on two copies of the warehouse: one without its
    # product rows, and one where every total also has a product row beside it (HS6 030613, half the
    # value). A frame that read products (a World row or a partner sum with products in it, a
    # year-on-year "jump" or a mirror pair between a total and a product, a share of estimates over
    # products) would differ.
    check = next(c for c in CHECKS if c.name == name)
    check = dataclasses.replace(check, params={k: (0 if k == "floor_usd" else v) for k, v in check.params.items()})
    frames = []
    for variant in ("totals only", "products beside every total"):
        path = tmp_path / f"{variant}.duckdb"
        shutil.copy(warehouse, path)
        with duckdb.connect(str(path)) as con:
            if variant == "totals only":
                con.execute("DELETE FROM canonical.observations WHERE cmd_code <> 'TOTAL'")
            else:
                con.execute(
                    "INSERT INTO canonical.observations SELECT * REPLACE (raw_id + 10000000000 AS raw_id, "
                    "'030613' AS cmd_code, 'H3' AS classification, 'HS6' AS product_level, value_usd / 2 AS value_usd) "
                    "FROM canonical.observations WHERE cmd_code = 'TOTAL'"
                )
            frames.append(con.execute(check.frame_sql()).pl())
    totals_only, with_products = frames
    assert totals_only.height > 0
    assert with_products.sort(pl.all()).equals(totals_only.sort(pl.all()))


def test_product_questions_read_one_level_and_another_level_is_an_error(warehouse):
    rows = records(COMTRADE_DATA / SHRIMP)
    exports_2010 = sum(float(r["primary_value"]) for _, r in rows if r["flow_code"] == "X" and r["ref_year"] == "2010")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (got,) = con.execute(
            "SELECT sum(value_usd) FROM canonical.products('HS6') WHERE reporter_iso3 = 'THA' AND flow = 'X' AND period = '2010'"
        ).fetchone()
        assert float(got) == pytest.approx(exports_2010, abs=0.01 * len(rows))  # each value rounded to the cent
        chapters = sum(1 for _, r in records(COMTRADE_DATA / EU27) if len(r["cmd_code"]) == 2)
        assert con.execute("SELECT count(*) FROM canonical.products('HS2')").fetchone() == (chapters,)
        with pytest.raises(duckdb.Error, match="level is one of HS2, HS4, HS6.*not TOTAL"):
            con.execute("SELECT * FROM canonical.products('TOTAL')").fetchall()


def test_the_eu27_extract_loads_every_level_in_the_revision_its_release_declares(tmp_path):
    # 9 columns: ISO3 codes (no numeric ones), no frequency, no classification: the ISO3 is mapped,
    # a year alone is annual, and the revision is the one the file's RELEASES.csv row declares.
    rows = records(COMTRADE_DATA / EU27)
    folder = folder_of(tmp_path, {EU27: COMTRADE_DATA / EU27}, classification={EU27: "HS"})
    result = canonical(tmp_path, folder)
    s = result.summary
    assert s["raw_cells"] == len(rows) == 173358 and s["observations"] == len(rows) and s["quarantined"] == 0
    obs = result.observations.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String))
    levels = dict(obs.group_by("product_level").len().iter_rows())
    by_length = {f"HS{n}": sum(1 for _, r in rows if len(r["cmd_code"]) == n) for n in (2, 4, 6)}
    assert levels == by_length and sum(by_length.values()) == len(rows)
    assert set(obs["classification"]) == {"HS"} and set(obs["flow"]) == {"M"} and set(obs["freq"]) == {"A"}
    line, row = next((n, r) for n, r in rows if r["reporter_iso"] == "FRA" and r["partner_iso"].strip() == "USA")
    got = obs.filter(pl.col("source_cell") == f"line {line}, column primary_value").row(0, named=True)
    assert (got["reporter_iso3"], got["partner_iso3"], got["cmd_code"], got["period"], got["valuation"]) == (
        "FRA",
        "USA",
        row["cmd_code"],
        row["ref_year"],
        "CIF",
    )
    assert float(got["value_usd"]) == round(float(row["primary_value"]), 2)
    # partners Comtrade writes with trailing spaces ("_X ": areas not specified) map like the others
    assert {r["partner_iso"] for _, r in rows} >= {"_X ", "XX ", "X1 "}
    assert obs.filter(pl.col("partner_type") == "not_specified").height > 0


def test_a_product_file_that_states_no_revision_needs_one_declared(tmp_path):
    from tradewh.sources.comtrade import reader

    with pytest.raises(
        reader.ComtradeLayoutError,
        match=r"product records state no HS revision.*add its classification.*: 173358 record\(s\): line 2, ",
    ):
        reader.records_frame(COMTRADE_DATA / EU27, date(2025, 12, 14))
    folder = folder_of(tmp_path, {EU27: COMTRADE_DATA / EU27}, classification={EU27: "H9"})
    with pytest.raises(ValueError, match=r"RELEASES.csv line 2: .*classification 'H9' is not an HS revision"):
        COMTRADE.input_files(folder)


def test_eu_imports_of_wood_from_russia_by_chapter_from_its_headings(warehouse):
    # The question docs/products.md asks: chapter 44 (wood) comes in HS4 headings only in this file, so
    # the chapter's value is the sum of its headings, one level. Expected: summed from the file itself.
    expected: dict[int, float] = {}
    for _, r in records(COMTRADE_DATA / EU27):
        if r["partner_iso"].strip() == "RUS" and r["cmd_code"].startswith("44") and len(r["cmd_code"]) == 4:
            expected[int(r["ref_year"])] = expected.get(int(r["ref_year"]), 0.0) + float(r["primary_value"])
    with duckdb.connect(str(warehouse), read_only=True) as con:
        got = dict(
            con.execute(
                "SELECT year, sum(value_usd) FROM canonical.products('HS4') WHERE partner_iso3 = 'RUS' "
                "AND cmd_code LIKE '44%' AND flow = 'M' GROUP BY year"
            ).fetchall()
        )
    assert {y: round(float(v) / 1e6, 1) for y, v in got.items()} == {y: round(v / 1e6, 1) for y, v in expected.items()}
    assert round(float(got[2021]) / 1e9, 2) == 3.76 and round(float(got[2022]) / 1e9, 2) == 1.65
