"""What the Excel workbook sources (IMF DOTS, SingStat) share about the .xlsx format itself: Excel
column letters, where each sheet's XML lives in the zip, the cells python-calamine reads as empty
although they hold something (Excel error cells, formulas without a cached value), and reading a
workbook's sheets through a source's own sheet scanner with every problem collected.

The trade layout of each source's workbooks stays in its own reader; the sources' parser
fingerprints include this file (sources.contract.code_fingerprint), so a change here re-parses
their files.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import python_calamine

from tradewh.sources.contract import FileLayoutError, plain_unreadable

T = TypeVar("T")

NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "p": "http://schemas.openxmlformats.org/package/2006/relationships",
}

_CELL_XML = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.DOTALL)
_CELL_REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
_FORMULA = re.compile(rb"<f[^>]*>(.*?)</f>|<f[^>]*/>", re.DOTALL)
_CACHED = re.compile(rb"<v>(.+?)</v>", re.DOTALL)


def column_letters(col: int) -> str:
    """1-based column number -> Excel letters (1 -> A, 27 -> AA)."""
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_number(letters: str) -> int:
    """Excel column letters -> 1-based column number (A -> 1, AA -> 27)."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def sheet_members(z: zipfile.ZipFile) -> dict[str, str]:
    """{sheet name: zip member of its XML}, from xl/workbook.xml and its relationships."""
    rels = {
        r.get("Id"): r.get("Target")
        for r in ET.fromstring(z.read("xl/_rels/workbook.xml.rels")).findall("p:Relationship", NS)
    }
    out = {}
    for sheet in ET.fromstring(z.read("xl/workbook.xml")).findall("m:sheets/m:sheet", NS):
        target = rels[sheet.get(f"{{{NS['r']}}}id")]
        out[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else "xl/" + target
    return out


@dataclass(frozen=True)
class UnreadableCell:
    """A cell python-calamine returns as empty although it holds an Excel error or a formula
    without a cached value. `row0`/`col0` 0-based; `text` the error as published ("#N/A") or the
    formula ("=BI8+1")."""

    row0: int
    col0: int
    text: str
    is_error: bool

    @property
    def reason(self) -> str:
        """'Excel error cell #N/A' or 'formula without a cached value'."""
        return f"Excel error cell {self.text}" if self.is_error else "formula without a cached value"


def unreadable_cells(
    path: Path, sheets: Iterable[str], error: type[FileLayoutError] = FileLayoutError
) -> dict[str, list[UnreadableCell]]:
    """The UnreadableCells of the given sheets, in sheet XML order: {sheet: [cell, ...]}, only
    sheets that have any.

    python-calamine reads such cells as empty, which would drop them silently; they are found in
    the sheet XML (a byte search first, so a clean sheet costs one decompression). Raises `error`
    (the source's FileLayoutError) naming the file if such a cell has no cell reference; KeyError
    for a sheet the workbook lacks, zipfile.BadZipFile for a file that is not a zip.
    """
    out: dict[str, list[UnreadableCell]] = {}
    with zipfile.ZipFile(path) as z:
        members = sheet_members(z)
        for sheet in sheets:
            xml = z.read(members[sheet])
            if b't="e"' not in xml and b"<f" not in xml:
                continue
            for m in _CELL_XML.finditer(xml):
                attrs, inner = m.group(1), m.group(2) or b""
                cached = _CACHED.search(inner)
                if b't="e"' in attrs:
                    text, is_error = (cached.group(1).decode() if cached else "#ERROR"), True
                elif (formula := _FORMULA.search(inner)) and not cached:
                    text, is_error = "=" + (formula.group(1) or b"").decode(), False
                else:
                    continue
                ref = _CELL_REF.search(attrs)
                if ref is None:
                    raise error(path, [f"sheet {sheet!r}: a cell {text!r} has no cell reference"])
                cell = UnreadableCell(int(ref.group(2)) - 1, column_number(ref.group(1).decode()) - 1, text, is_error)
                out.setdefault(sheet, []).append(cell)
    return out


def not_a_workbook(path: Path, exc: BaseException) -> str:
    """Why `path` cannot be read as an .xlsx workbook, in plain words (for a FileLayoutError's
    problems): empty, an HTML page (contract.plain_unreadable), cut short (a zip whose end is
    missing: an interrupted download or copy), a damaged workbook, or not a workbook at all; the
    reader's own error in brackets."""
    plain = plain_unreadable(path)
    if plain:
        return plain
    try:
        with open(path, "rb") as fh:
            is_zip = fh.read(4) == b"PK\x03\x04"
        size = Path(path).stat().st_size
    except OSError as err:
        return f"cannot be opened ({err})"
    if is_zip and not zipfile.is_zipfile(path):  # a zip's directory is at its end: no directory, no end
        return f"cut short: the .xlsx file ends early ({size:,} bytes, its zip directory is missing); download or copy it again"
    if is_zip:
        return f"a damaged .xlsx workbook ({type(exc).__name__}: {exc})"
    return f"not an .xlsx workbook ({type(exc).__name__}: {exc})"


def scan_sheets(
    path: Path,
    sheets: Sequence[str],
    data_sheets: Sequence[str],
    scan: Callable[[list[list], str, list[UnreadableCell]], tuple[T, list[str]]],
    error: type[FileLayoutError],
) -> list[T]:
    """Open a workbook with python-calamine, check that its sheets are exactly `sheets`, and give
    each of `data_sheets` to the source's `scan(rows, sheet, unreadable)`: its rows as the reader
    gives them (empty cells "") and its UnreadableCells; `scan` returns what it found and the
    sheet's layout problems. Returns the found things in data_sheets order.

    Raises `error` (the source's FileLayoutError) naming the file and every problem of every sheet
    (all are scanned before raising), or saying the file cannot be read as an Excel workbook
    (corrupt XML, not a workbook, bad zip members).
    """
    try:
        wb = python_calamine.CalamineWorkbook.from_path(str(path))
        if sorted(wb.sheet_names) != sorted(sheets):
            raise error(path, [f"expected sheets {sorted(sheets)}, found {wb.sheet_names}"])
        unreadable = unreadable_cells(path, data_sheets, error)
        found, problems = [], []
        for sheet in data_sheets:
            rows = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
            cells, sheet_problems = scan(rows, sheet, unreadable.get(sheet, []))
            found.append(cells)
            problems += sheet_problems
    except FileLayoutError:
        raise
    except Exception as exc:  # calamine's own errors (corrupt XML, not a workbook), bad zip members
        raise error(path, [not_a_workbook(path, exc)]) from exc
    if problems:
        raise error(path, problems)
    return found
