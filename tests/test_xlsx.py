"""The .xlsx helpers the workbook sources share (sources/xlsx.py): a cell the Excel reader cannot
place is an error naming the file, for every source that reads workbooks, and the shared module is
part of each source's parser fingerprint."""

import zipfile
from datetime import date
from pathlib import Path

import pytest

from tradewh.sources.contract import code_fingerprint
from tradewh.sources.imf_dots import workbook as dots
from tradewh.sources.singstat import reader as singstat
from tradewh.sources.xlsx import column_number, sheet_members

from conftest import AFGHANISTAN, DOTS

SINGSTAT = Path(__file__).resolve().parent.parent / "data" / "singstat" / "SGTrade_byCountry.xlsx"


def with_unplaced_error_cell(src: Path, dst: Path, sheet: str) -> Path:
    """Copy a real workbook, adding to `sheet`'s first row an Excel error cell (#N/A) without its
    r="..." cell reference: python-calamine reads error cells as empty, and this one cannot be placed."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        member = sheet_members(zin)[sheet]
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == member:
                assert data.count(b"</row>") > 1
                data = data.replace(b"</row>", b'<c t="e"><v>#N/A</v></c></row>', 1)
            zout.writestr(item, data)
    return dst


def with_sheet_renamed(src: Path, dst: Path, sheet: str) -> Path:
    """Copy a real workbook with `sheet` renamed to `sheet` + " (old)" in xl/workbook.xml."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "xl/workbook.xml":
                attr = f'name="{sheet}"'.encode()
                assert data.count(attr) == 1
                data = data.replace(attr, f'name="{sheet} (old)"'.encode())
            zout.writestr(item, data)
    return dst


SOURCES = pytest.mark.parametrize(
    "src, sheet, read, error",
    [
        (
            DOTS / AFGHANISTAN,
            "Exports, FOB",
            lambda p: dots.read_workbook(p, date(2021, 3, 1)),
            dots.WorkbookLayoutError,
        ),
        (SINGSTAT, "T1", lambda p: singstat.read_workbook(p, date(2025, 2, 17)), singstat.SingStatLayoutError),
    ],
    ids=["imf_dots", "singstat"],
)


@SOURCES
def test_an_error_cell_without_a_reference_names_the_file(tmp_path, src, sheet, read, error):
    path = with_unplaced_error_cell(src, tmp_path / "unplaced.xlsx", sheet)
    with pytest.raises(error) as exc:
        read(path)
    assert exc.value.path == str(path)
    assert f"sheet {sheet!r}: a cell '#N/A' has no cell reference" in exc.value.problems


@SOURCES
def test_a_renamed_sheet_names_the_file_and_the_sheets(tmp_path, src, sheet, read, error):
    path = with_sheet_renamed(src, tmp_path / "renamed.xlsx", sheet)
    with pytest.raises(error) as exc:
        read(path)
    assert exc.value.path == str(path) and len(exc.value.problems) == 1
    assert exc.value.problems[0].startswith("expected sheets [") and f"'{sheet} (old)'" in exc.value.problems[0]


BAD_FILES = pytest.mark.parametrize(
    "make, said",
    [
        (lambda data: data[: len(data) // 2], "cut short: the .xlsx file ends early ("),  # an interrupted download
        (lambda data: b"", "empty file (0 bytes)"),
        (
            lambda data: b"<!DOCTYPE html>\n<html><head><title>429 Too Many Requests</title></head></html>\n",
            "an HTML page, not data (a failed download or a portal's error page?): '<!DOCTYPE html>'",
        ),
        (lambda data: b"reporter,partner,value\n", "not an .xlsx workbook ("),
    ],
    ids=["cut_short", "empty", "html", "csv"],
)


@SOURCES
@BAD_FILES
def test_a_file_that_is_no_workbook_is_said_in_plain_words(tmp_path, src, sheet, read, error, make, said):
    # issue 14: an empty file was reported as "not a zip file", a truncated one as "cannot be read as
    # an Excel workbook (CalamineError ...)"
    path = tmp_path / "bad.xlsx"
    path.write_bytes(make(src.read_bytes()))
    with pytest.raises(error) as exc:
        read(path)
    assert exc.value.path == str(path) and str(exc.value).startswith("bad.xlsx: not ")
    assert exc.value.problems == [exc.value.problems[0]] and exc.value.problems[0].startswith(said)


@BAD_FILES
def test_a_dots_file_that_is_no_workbook_is_said_in_plain_words_before_its_release_is_looked_for(tmp_path, make, said):
    # a workbook without a RELEASES.csv row is dated from its zip entry first: that reads the file too
    path = tmp_path / "DOTS_999.xlsx"
    path.write_bytes(make((DOTS / AFGHANISTAN).read_bytes()))
    with pytest.raises(dots.WorkbookLayoutError) as exc:
        dots.generated_at(path)
    assert exc.value.problems[0].startswith(said)


def test_column_number_inverts_column_letters():
    assert [column_number(s) for s in ("A", "C", "Z", "AA", "BK", "ZZ", "AAA")] == [1, 3, 26, 27, 63, 702, 703]


def test_a_shared_module_is_part_of_the_parser_fingerprint(tmp_path):
    # A fix in sources/xlsx.py must re-parse every workbook source's files, like a fix in its folder.
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "reader.py").write_text("X = 1\n")
    shared = tmp_path / "xlsx.py"
    shared.write_text("Y = 1\n")
    before = code_fingerprint(tmp_path / "src", ("polars",), (shared,))
    shared.write_text("Y = 2\n")
    assert code_fingerprint(tmp_path / "src", ("polars",), (shared,)) != before
    assert code_fingerprint(tmp_path / "src", ("polars",)) != before
