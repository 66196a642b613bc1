"""The DOTS workbook reader on real workbooks, checked against openpyxl (an independent reader)."""

from datetime import date
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from tradewh.sources.imf_dots import workbook as imf_dots
from tradewh.sources.imf_dots.workbook import WorkbookLayoutError, parse_value_text, read_workbook

from conftest import AFGHANISTAN, BULGARIA, DOTS, INDONESIA, edit_workbook, find_cell

V = date(2022, 2, 20)


def openpyxl_data_cells(path: Path) -> dict[tuple[str, str], object]:
    """{(sheet, cell): value} for every non-empty cell from row 8 / column C on, read by openpyxl."""
    wb = openpyxl.load_workbook(path, read_only=True)
    out = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows(min_row=8, min_col=3):
            for c in row:
                if c.value is not None and c.value != "":
                    out[(ws.title, c.coordinate)] = c.value
    return out


def test_indonesia_exports_to_russia_2020_golden():
    # By hand: DOTS_94.xlsx, sheet "Exports, FOB", B4 = Indonesia, the "Russian Federation" row,
    # the "2020" column: 973.823955 (US$ millions). find_cell reads it with openpyxl.
    path = DOTS / INDONESIA
    cell, value = find_cell(path, "Exports, FOB", "Russian Federation", 2020)
    assert value == 973.823955
    cells = read_workbook(path, V)
    row = cells.filter(
        (pl.col("sheet") == "Exports, FOB")
        & (pl.col("partner_name") == "Russian Federation")
        & (pl.col("year") == 2020)
    ).row(0, named=True)
    assert (row["cell"], row["value"], row["is_estimated"]) == (cell, 973.823955, False)
    assert row["reporter_name"] == "Indonesia" and row["flow"] == "X" and row["valuation"] == "FOB"
    assert row["source_file"] == INDONESIA and row["vintage"] == V


def test_every_non_empty_cell_is_read_once_and_values_match_openpyxl():
    path = DOTS / AFGHANISTAN
    expected = openpyxl_data_cells(path)
    cells = read_workbook(path, V)
    got = {(r["sheet"], r["cell"]): r for r in cells.iter_rows(named=True)}
    assert set(got) == set(expected)
    for key, value in expected.items():
        if isinstance(value, str):
            assert got[key]["cell_text"] == value and got[key]["cell_is_text"]
            number = float(value.removesuffix(" e").replace(",", ""))
            assert got[key]["value"] == number and got[key]["is_estimated"] == value.endswith(" e")
        else:
            assert got[key]["value"] == float(value) and not got[key]["cell_is_text"]


def test_estimate_text_with_thousands_separator():
    # Bulgaria imports from Russia 1993 are published as the text "1,035.65 e".
    path = DOTS / BULGARIA
    cell, value = find_cell(path, "Imports, CIF", "Russian Federation", 1993)
    assert value == "1,035.65 e"
    row = (
        read_workbook(path, V).filter((pl.col("sheet") == "Imports, CIF") & (pl.col("cell") == cell)).row(0, named=True)
    )
    assert row["value"] == 1035.65 and row["is_estimated"] and row["cell_text"] == "1,035.65 e"


def test_section_rows_and_empty_cells_carry_no_observation():
    path = DOTS / AFGHANISTAN
    cells = read_workbook(path, V)
    assert cells.filter(pl.col("partner_name") == "Memorandum Items").height == 0
    # C8 (Australia, 1960) is empty in the exports sheet: no observation, not a zero.
    _, value = find_cell(path, "Exports, FOB", "Australia", 1960)
    assert value is None
    assert cells.filter((pl.col("sheet") == "Exports, FOB") & (pl.col("cell") == "C8")).height == 0


def test_sheets_may_have_different_years():
    cells = read_workbook(DOTS / AFGHANISTAN, V)
    wb = openpyxl.load_workbook(DOTS / AFGHANISTAN, read_only=True)
    for sheet in imf_dots.SHEETS:
        header = [c.value for c in next(wb[sheet].iter_rows(min_row=7, max_row=7, min_col=3)) if c.value]
        got = sorted(cells.filter(pl.col("sheet") == sheet)["year"].unique().to_list())
        assert set(got) <= {int(y) for y in header}
    # Exports start in 1960, imports in 1964 in this workbook (seen in Excel).
    assert cells.filter(pl.col("flow") == "X")["year"].min() == 1960
    assert cells.filter(pl.col("flow") == "M")["year"].min() == 1964


@pytest.mark.parametrize(
    "text, value, estimated",
    [
        ("14.43 e", 14.43, True),
        ("0.00 e", 0.0, True),
        ("1,035.65 e", 1035.65, True),
        ("-4.8", -4.8, False),
        ("12", 12.0, False),
    ],
)
def test_parse_value_text(text, value, estimated):
    parsed = parse_value_text(text)
    assert (parsed.value, parsed.is_estimated, parsed.error) == (value, estimated, None)


@pytest.mark.parametrize("text", ["n.a.", "1,23.4", "e", "12 x", "--1", "1.2.3"])
def test_parse_value_text_rejects(text):
    parsed = parse_value_text(text)
    assert parsed.value is None and text in parsed.error


def test_unparseable_text_is_kept_with_its_reason(tmp_path):
    def edit(wb):
        wb["Exports, FOB"]["D9"] = "n.a."

    path = edit_workbook(DOTS / AFGHANISTAN, tmp_path / "bad.xlsx", edit)
    row = (
        read_workbook(path, V).filter((pl.col("sheet") == "Exports, FOB") & (pl.col("cell") == "D9")).row(0, named=True)
    )
    assert row["value"] is None and row["cell_text"] == "n.a." and "n.a." in row["parse_error"]


@pytest.mark.parametrize(
    "edit, expected",
    [
        (
            lambda wb: wb["Exports, FOB"].__setitem__("B5", "US Dollars, Thousands"),
            "B5: expected unit 'US Dollars, Millions'",
        ),
        (lambda wb: wb["Imports, CIF"].__setitem__("B2", "Imports by Commodity"), "B2: expected title"),
        (lambda wb: wb["Exports, FOB"].__setitem__("D7", "Total"), "D7: expected a year, found 'Total'"),
        (lambda wb: wb["Exports, FOB"].__setitem__("E7", "1960"), "E7: year 1960 appears twice"),
        (lambda wb: wb["Exports, FOB"].__setitem__("BL9", 5.0), "BL9: value 5.0 in a column with no year"),
        (lambda wb: wb["Exports, FOB"].__setitem__("A9", "note"), "A9: expected column A empty"),
        (lambda wb: setattr(wb["Imports, CIF"], "title", "Imports"), "expected sheets"),
    ],
)
def test_layout_errors_name_the_file_and_what_was_expected(tmp_path, edit, expected):
    path = edit_workbook(DOTS / AFGHANISTAN, tmp_path / "DOTS_bad.xlsx", edit)
    with pytest.raises(WorkbookLayoutError) as err:
        read_workbook(path, V)
    assert "DOTS_bad.xlsx" in str(err.value) and expected in str(err.value)


def test_a_file_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "DOTS_999.xlsx"
    path.write_text("<html>Service unavailable</html>")
    with pytest.raises(WorkbookLayoutError, match="DOTS_999.xlsx"):
        read_workbook(path, V)
    with pytest.raises(WorkbookLayoutError, match="an HTML page, not data"):
        imf_dots.generated_at(path)


def test_vintage_from_releases_file_never_from_the_timestamp_inside(tmp_path):
    path = DOTS / INDONESIA
    sha = imf_dots.file_sha256(path)
    releases = imf_dots.read_releases(DOTS)
    assert imf_dots.resolve_vintage(path, sha, releases) == date(2022, 2, 20)
    # Without a RELEASES.csv row there is no release: the export time inside is only a hint (issue 14:
    # a copy re-saved today became today's release and won in the latest view)
    with pytest.raises(
        WorkbookLayoutError,
        match=rf"DOTS_94.xlsx: .*no declared release: give it a row in RELEASES.csv "
        rf"\(DOTS_94.xlsx,{sha},<generated_at>,<vintage>\).*exported it on 2022-02-19",
    ):
        imf_dots.resolve_vintage(path, sha, {})
    (tmp_path / imf_dots.RELEASES_FILE).write_text(
        "source_file,file_sha256,generated_at,vintage\nx.xlsx,abc,,20-02-2022\n"
    )
    with pytest.raises(ValueError, match="RELEASES.csv line 2"):
        imf_dots.read_releases(tmp_path)


def test_column_letters():
    assert [imf_dots.column_letters(n) for n in (1, 3, 26, 27, 63, 702, 703)] == [
        "A",
        "C",
        "Z",
        "AA",
        "BK",
        "ZZ",
        "AAA",
    ]


@pytest.mark.parametrize(
    "value, text, reason",
    [("#N/A", "#N/A", "Excel error cell #N/A"), ("=BI8+1", "=BI8+1", "formula without a cached value")],
)
def test_excel_error_cells_and_uncached_formulas_are_not_dropped(tmp_path, value, text, reason):
    # The Excel reader returns both as empty; they must reach the raw layer with their reason.
    path = edit_workbook(
        DOTS / AFGHANISTAN, tmp_path / "err.xlsx", lambda wb: wb["Exports, FOB"].__setitem__("BE8", value)
    )
    row = (
        read_workbook(path, V)
        .filter((pl.col("sheet") == "Exports, FOB") & (pl.col("cell") == "BE8"))
        .row(0, named=True)
    )
    assert (row["cell_text"], row["value"], row["parse_error"]) == (text, None, reason)
    assert row["partner_name"] == "Australia" and row["year"] == 2014


def test_other_scripts_digits_are_not_numbers(tmp_path):
    path = edit_workbook(
        DOTS / AFGHANISTAN, tmp_path / "u.xlsx", lambda wb: wb["Exports, FOB"].__setitem__("BC8", "\uff11\uff12.5")
    )
    row = (
        read_workbook(path, V)
        .filter((pl.col("sheet") == "Exports, FOB") & (pl.col("cell") == "BC8"))
        .row(0, named=True)
    )
    assert row["value"] is None and "unrecognised value text" in row["parse_error"]


def test_corrupt_sheet_xml_is_a_layout_error_naming_the_file(tmp_path):
    import zipfile

    src, dst = DOTS / AFGHANISTAN, tmp_path / "DOTS_cut.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item)
            zout.writestr(item, data[: len(data) // 2] if item.filename == "xl/worksheets/sheet1.xml" else data)
    with pytest.raises(WorkbookLayoutError, match="DOTS_cut.xlsx: .*a damaged .xlsx workbook"):
        read_workbook(dst, V)


def test_a_workbook_with_excels_default_timestamp_needs_a_release_row(tmp_path):
    import zipfile

    src, dst = DOTS / AFGHANISTAN, tmp_path / "DOTS_excel.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item)
            item.date_time = (1980, 1, 1, 0, 0, 0)
            zout.writestr(item, data)
    with pytest.raises(
        WorkbookLayoutError, match="DOTS_excel.xlsx: .*no declared release: give it a row in RELEASES.csv"
    ):
        imf_dots.resolve_vintage(dst, imf_dots.file_sha256(dst), {})


def test_one_file_cannot_belong_to_two_releases(tmp_path):
    (tmp_path / imf_dots.RELEASES_FILE).write_text(
        "source_file,file_sha256,generated_at,vintage\na.xlsx,abc,,2022-02-20\nb.xlsx,abc,,2022-03-01\n"
    )
    with pytest.raises(ValueError, match="line 3: .*listed with vintage 2022-03-01, but line 2 gives 2022-02-20"):
        imf_dots.read_releases(tmp_path)


def test_fastexcel_text_load_rounds_numbers():
    # Why the job reads with python-calamine and why benchmarks/job.py reports the exact-reader floor:
    # fastexcel's text load (the bench's fastest floor) writes numbers rounded to 9 decimals, while
    # the workbook stores more digits. The stored value is read here from the sheet XML itself.
    import re
    import zipfile

    import fastexcel

    with zipfile.ZipFile(DOTS / AFGHANISTAN) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()  # "Exports, FOB"
    stored = float(re.search(r'<c r="Y9"[^>]*><v>([^<]+)</v>', xml).group(1))  # 200.89836785032801
    sheet = fastexcel.read_excel(str(DOTS / AFGHANISTAN)).load_sheet(
        "Exports, FOB", header_row=None, skip_rows=0, dtypes="string"
    )
    column = [c.absolute_index for c in sheet.selected_columns].index(24)  # Y
    text = sheet.to_arrow().column(column)[8].as_py()  # row 9
    assert float(text) != stored and abs(float(text) - stored) < 1e-9
    ours = read_workbook(DOTS / AFGHANISTAN, V).filter((pl.col("sheet") == "Exports, FOB") & (pl.col("cell") == "Y9"))
    assert ours["value"][0] == stored and not ours["cell_is_text"][0]


def test_cells_of_other_types_are_kept_in_sheet_order(tmp_path):
    # A date, a boolean and a whole number typed into the data block: the reader gives them as
    # datetime, bool and a number; the first two are no value (kept with their reason, never
    # dropped), the number is one. They sit in Excel order among the workbook's own cells.
    from datetime import datetime

    def edit(wb):
        ws = wb["Exports, FOB"]
        ws["BE8"], ws["BF8"], ws["BG8"] = datetime(2020, 1, 1), True, 7

    path = edit_workbook(DOTS / AFGHANISTAN, tmp_path / "types.xlsx", edit)
    cells = read_workbook(path, V).filter(pl.col("sheet") == "Exports, FOB")
    got = {r["cell"]: r for r in cells.filter(pl.col("cell").is_in(["BE8", "BF8", "BG8"])).iter_rows(named=True)}
    assert got["BE8"]["value"] is None and got["BE8"]["parse_error"].startswith("unexpected non-numeric cell datetime")
    assert got["BF8"]["value"] is None and got["BF8"]["parse_error"] == "unexpected non-numeric cell True"
    assert (got["BG8"]["value"], got["BG8"]["cell_text"], got["BG8"]["parse_error"]) == (7.0, "7", None)
    # row 8 in column order, then row 9: the same order openpyxl walks the sheet in
    expected = [c for (sheet, c) in openpyxl_data_cells(path) if sheet == "Exports, FOB"]
    assert cells["cell"].to_list() == expected
