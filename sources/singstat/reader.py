"""SingStat Table Builder export "Merchandise Trade By Region And Selected Market", monthly -> long
raw cells.

Source: the Singapore Department of Statistics' Table Builder (tablebuilder.singstat.gov.sg), source
agency Enterprise Singapore, exported as .xlsx (data/singstat/PROVENANCE.md). Reporter: Singapore.
Values: Singapore dollars, millions, current prices (not US dollars).

Layout every workbook must have (Excel coordinates, as a user sees them):

    sheets        exactly Content (an index), T1 (imports), T2 (domestic exports), T3 (re-exports)
    A5            "Table Title: Merchandise Trade By Region And Selected Market (<Imports | Domestic
                  Exports | Re-Exports>), Monthly"
    A7            "Data last updated: DD/MM/YYYY" (day first): the release the table belongs to
    row 10        the unit "Million Dollars" (anywhere in the row; its last column in the bundled file)
    A11           "Data Series"; B11, C11, ... one month each, labelled "YYYY Mon" (e.g. "2025 Jan"),
                  newest first; a month appears once
    A12 ...       the series labels: "Total All Markets" (no indentation, first row, once), a region
                  indented 2 spaces ("  Asia"), a market indented 4 spaces under its region
                  ("    Viet Nam", and the residual "    Other Markets Asia"); B12... the values
    then          an empty row, then footnotes in column A only, among them the currency footnote
                  "Values are shown in Singapore dollars (unless otherwise specified)."

A data cell holds a number (S$ millions; a 0 is a real 0), or one of the symbols the footnotes
define (na: not available or not applicable; nec: not elsewhere classified; nes: not elsewhere
specified; "-": nil or negligible or not significant), which is kept as a raw row with no value and
a `parse_error` (quarantined downstream, never dropped). Symbols are compared case-insensitively,
ignoring spaces and full stops ("n.a." is na). A number stored as text ("1,234.5") is read as the
number, its text kept in cell_text. An empty cell is no data: no row. Anything else
(other text, a date, a true/false, an Excel error cell, a formula without a cached value) is a
layout error. The bundled workbook holds numbers only: no symbol occurs in its data cells.

This module knows nothing about Dagster or DuckDB: `read_workbook` turns one file into a Polars
frame, `stated_release` reads the release the file states, and both raise `SingStatLayoutError`
naming the file and every problem found.
"""

import functools
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from tradewh.sources import xlsx
from tradewh.sources.contract import RELEASES_FILE, FileLayoutError, code_fingerprint, file_sha256
from tradewh.sources.xlsx import UnreadableCell, column_letters, not_a_workbook, scan_sheets, sheet_members
from tradewh.warehouse.tables import Column as C
from tradewh.warehouse.tables import Table, polars_schema

REPORTER = "Singapore"  # the reporter of every table, by its publisher (SingStat)
UNIT = "SGD millions"
UNIT_TEXT = "Million Dollars"
CURRENCY_FOOTNOTE = "Values are shown in Singapore dollars"
HEADER_TEXT = "Data Series"
TITLE_PREFIX = "Table Title: "

INDEX_SHEET = "Content"
# sheet -> (what the table is, as table_flow; its title in A5 without TITLE_PREFIX)
TABLES: dict[str, tuple[str, str]] = {
    "T1": ("imports", "Merchandise Trade By Region And Selected Market (Imports), Monthly"),
    "T2": ("domestic exports", "Merchandise Trade By Region And Selected Market (Domestic Exports), Monthly"),
    "T3": ("re-exports", "Merchandise Trade By Region And Selected Market (Re-Exports), Monthly"),
}
SHEETS = (INDEX_SHEET, *TABLES)

# Excel rows/columns are 1-based as a user sees them; Python indices are 0-based.
TITLE_ROW, RELEASE_ROW, UNIT_ROW, HEADER_ROW, FIRST_DATA_ROW = 5, 7, 10, 11, 12
LABEL_COL, FIRST_MONTH_COL = 1, 2  # A, B
INDENT_LEVELS = {0: 0, 2: 1, 4: 2}  # leading spaces -> level: 0 total, 1 region, 2 market
LEVEL_NAMES = ("the total", "a region", "a market")
UNKNOWN = -1  # the level of a row whose label is not valid (the rows below it are not judged by it)

# The notation the footnotes define, by its normalised form (lower case, no spaces or full stops).
SYMBOLS = {
    "na": "not available or not applicable",
    "nec": "not elsewhere classified",
    "nes": "not elsewhere specified",
    "-": "nil or negligible or not significant",
}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# [0-9], not \d: \d also matches other scripts' digits, which int() and float() would accept.
_MONTH_LABEL = re.compile(r"^([0-9]{4}) (" + "|".join(MONTHS) + r")$")
_RELEASE_TEXT = re.compile(r"^Data last updated:\s*([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})\s*$")
# A number stored as text: optional minus, ASCII digits with optional valid thousands separators,
# optional decimals.
_NUMBER_TEXT = re.compile(r"^\s*(-?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?)\s*$")
MAX_LISTED = 20  # cells listed per sheet and kind of problem (every one is counted)

RAW_TABLE = Table(
    "raw",
    "singstat_cells",
    "Every non-empty data cell of the three tables (T1 imports, T2 domestic exports, T3 re-exports) of every "
    "SingStat merchandise-trade-by-market workbook ingested, as published. Grain: one cell (workbook file x "
    "sheet x Excel row x Excel column), i.e. one table x series (total, region or market) x month. Source: "
    "SingStat Table Builder export 'Merchandise Trade By Region And Selected Market', monthly (Singapore "
    "Department of Statistics; source agency Enterprise Singapore). Unit: Singapore dollars, millions (not US "
    "dollars). A view that reads the raw store's Parquet files in place (the files in meta.raw_files, under "
    "TRADEWH_HOME/raw/singstat/): the raw cells are not copied into the warehouse file, so this view needs the "
    "raw store beside it.",
    (
        C("raw_id", "BIGINT", "Row id within this build of the warehouse (lineage key for canonical rows).", False),
        C("source_file", "VARCHAR", "Workbook file name as received.", False),
        C("file_sha256", "VARCHAR", "SHA-256 of the workbook file: identifies the exact file version.", False),
        C(
            "vintage",
            "DATE",
            "Release the workbook belongs to: its 'Data last updated' date, or its RELEASES.csv "
            "row (docs/releases.md).",
            False,
        ),
        C("sheet", "VARCHAR", "Worksheet name: T1, T2 or T3.", False),
        C(
            "table_flow",
            "VARCHAR",
            "What the sheet's table is: 'imports' (T1), 'domestic exports' (T2) or "
            "'re-exports' (T3). Total exports are domestic exports + re-exports (canonical flow X).",
            False,
        ),
        C("excel_row", "INTEGER", "Excel row number (1-based, as shown in Excel).", False),
        C("excel_col", "VARCHAR", "Excel column letters.", False),
        C("cell", "VARCHAR", "Excel cell reference, e.g. C14.", False),
        C(
            "series",
            "VARCHAR",
            "The row's label in column A exactly as published, indentation included (e.g. '    Viet Nam').",
            False,
        ),
        C(
            "level",
            "TINYINT",
            "Level of the row, from its indentation: 0 the total ('Total All Markets', none), "
            "1 a region (2 spaces), 2 a market or a region's 'Other Markets' residual (4 spaces).",
            False,
        ),
        C("reporter_name", "VARCHAR", "The reporter of the tables by their publisher: 'Singapore'.", False),
        C(
            "partner_name",
            "VARCHAR",
            "The market, region or total: the label without its indentation (e.g. 'Viet Nam').",
            False,
        ),
        C("month_label", "VARCHAR", "The column's month as published in row 11, e.g. '2024 Sep'.", False),
        C("year", "SMALLINT", "Year of the month.", False),
        C("month", "TINYINT", "Month 1-12.", False),
        C(
            "cell_text",
            "VARCHAR",
            "The cell as published: text verbatim, numbers in shortest exact decimal form.",
            False,
        ),
        C(
            "value",
            "DOUBLE",
            "Value in Singapore dollars, millions, as published; NULL for a notation symbol (see parse_error).",
        ),
        C(
            "parse_error",
            "VARCHAR",
            "Why the cell has no value (a notation symbol such as 'na' or '-'); NULL when it parsed.",
        ),
    ),
    kind="view",
)
# The columns of one raw-store Parquet file (raw_id is numbered when a build reads the files).
RAW_SCHEMA = polars_schema(RAW_TABLE, without=("raw_id",))


class SingStatLayoutError(FileLayoutError):
    """A workbook is not in the SingStat Table Builder export layout; `problems` lists every deviation."""

    def __init__(self, path: Path | str, problems: list[str]):
        super().__init__(path, problems, what="a SingStat merchandise trade by market workbook")


@functools.cache
def parser_fingerprint() -> str:
    """What decides a workbook's raw cells besides its bytes: the code of this source's folder and
    the versions of the Excel reader and of Polars (which writes numbers as cell_text)."""
    return code_fingerprint(Path(__file__).parent, ("python-calamine", "polars"), (Path(xlsx.__file__),))


def normalised_symbol(text: str) -> str:
    """A cell's text as compared with SYMBOLS: lower case, without spaces and full stops ("n.a." -> "na")."""
    return re.sub(r"[\s.]", "", text).lower()


def parse_release_text(text: object) -> date | None:
    """ "Data last updated: 17/02/2025" (day first) -> date(2025, 2, 17); None if the text is not that."""
    m = _RELEASE_TEXT.match(text) if isinstance(text, str) else None
    if m is None:
        return None
    try:
        return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        return None


# --- the release a workbook states: only the first rows of T1-T3 are read ------------------------

_M = f"{{{xlsx.NS['m']}}}"


def _first_column_cell(z: zipfile.ZipFile, member: str, row: int) -> tuple[str | None, int | None]:
    """Column A of `row` of a sheet, streamed: (inline text, or None; shared-string index, or None).
    The sheet's XML is decompressed and parsed only up to that row."""
    ref = f"A{row}"
    with z.open(member) as fh:
        for _, elem in ET.iterparse(fh, events=("end",)):
            if elem.tag == _M + "c" and elem.get("r") == ref:
                kind, v = elem.get("t"), elem.find(_M + "v")
                if kind == "s" and v is not None and v.text is not None:
                    return None, int(v.text)
                if kind == "inlineStr":
                    return "".join(t.text or "" for t in elem.iter(_M + "t")), None
                return (v.text if v is not None else None), None
            if elem.tag == _M + "row":
                if int(elem.get("r", "0")) >= row:
                    return None, None
                elem.clear()
    return None, None


def _shared_strings(z: zipfile.ZipFile, wanted: set[int]) -> dict[int, str]:
    """The shared strings of the given indices, streamed: parsing stops after the last one wanted."""
    out: dict[int, str] = {}
    if not wanted or "xl/sharedStrings.xml" not in z.namelist():
        return out
    last, i = max(wanted), 0
    with z.open("xl/sharedStrings.xml") as fh:
        for _, elem in ET.iterparse(fh, events=("end",)):
            if elem.tag == _M + "si":
                if i in wanted:
                    # the text and rich-text runs (<t>, <r><t>), without phonetic hints (<rPh><t>)
                    phonetic = {id(t) for r in elem.iter(_M + "rPh") for t in r.iter(_M + "t")}
                    out[i] = "".join(t.text or "" for t in elem.iter(_M + "t") if id(t) not in phonetic)
                elem.clear()
                if i >= last:
                    break
                i += 1
    return out


def release_texts(path: Path) -> dict[str, str | None]:
    """{table sheet: its A7 text ('' if the cell is empty)}, without the table sheets the workbook
    lacks; read from the sheet XML up to row 7 only (no other cell of the workbook is read). Raises
    SingStatLayoutError if the file is not an .xlsx workbook."""
    try:
        with zipfile.ZipFile(path) as z:
            members = sheet_members(z)
            cells = {s: _first_column_cell(z, members[s], RELEASE_ROW) for s in TABLES if s in members}
            strings = _shared_strings(z, {i for _, i in cells.values() if i is not None})
    except (zipfile.BadZipFile, KeyError, ET.ParseError, OSError, ValueError) as exc:
        raise SingStatLayoutError(path, [not_a_workbook(path, exc)]) from exc
    return {s: (strings.get(i, "") if i is not None else (text or "")) for s, (text, i) in cells.items()}


def stated_release(path: Path) -> date:
    """The release the workbook states: the date of "Data last updated: DD/MM/YYYY" (day first) in
    A7 of T1, T2 and T3, which must agree. Reads only the first seven rows of the three sheets.

    Raises SingStatLayoutError naming the file and every problem: a table sheet missing, an A7 that
    is not such a date, tables that state different dates (naming the sheets).
    """
    texts = release_texts(path)
    problems, dates = [], {}
    for sheet in TABLES:
        if sheet not in texts:
            problems.append(f"no sheet {sheet!r} ({TABLES[sheet][0]})")
            continue
        released = parse_release_text(texts[sheet])
        if released is None:
            problems.append(
                f"sheet {sheet!r} A{RELEASE_ROW}: expected 'Data last updated: DD/MM/YYYY' (day first), "
                f"found {texts[sheet]!r}"
            )
        else:
            dates[sheet] = released
    if not problems and len(set(dates.values())) > 1:
        by_date: dict[date, list[str]] = {}
        for sheet, d in dates.items():
            by_date.setdefault(d, []).append(sheet)
        problems.append(
            "the tables state different releases in A7 ('Data last updated'): "
            + "; ".join(
                f"sheet{'s' if len(s) > 1 else ''} {', '.join(s)}: {d:%d/%m/%Y}" for d, s in sorted(by_date.items())
            )
        )
    if problems:
        raise SingStatLayoutError(
            path, problems + [f"no usable release: give the file a vintage with a row in {RELEASES_FILE}"]
        )
    return next(iter(dates.values()))


# --- the data block -------------------------------------------------------------------------------


@dataclass
class SheetCells:
    """One table sheet's data block as scanned, in columns: every cell of the block row by row
    (Excel rows `first`..., `width` columns from column B), as `nums` (the number, or None) and
    `texts` (the text, or None; None for the whole block when it holds numbers only), with every data
    row's label (as published, without indentation, level) by 0-based row and every month (label,
    year, month) by 0-based column."""

    sheet: str
    first: int
    width: int
    nums: list
    texts: list | None
    labels: dict[int, tuple[str, str, int]]
    months: dict[int, tuple[str, int, int]]


@dataclass
class WorkbookCells:
    """Every data cell of one workbook's three tables, as scanned by `scan_workbook`."""

    source_file: str
    sha256: str
    vintage: date
    sheets: list[SheetCells]

    @property
    def names(self) -> set[str]:
        """Every series label of the three tables without its indentation (data or not)."""
        return {name for s in self.sheets for _, name, _ in s.labels.values()}


def _listed(what: str, items: list[str]) -> list[str]:
    """Problems of one kind: the first MAX_LISTED items, then how many more."""
    out = [f"{what}: {item}" for item in items[:MAX_LISTED]]
    if len(items) > MAX_LISTED:
        out.append(f"{what}: ... and {len(items) - MAX_LISTED} more")
    return out


def _text_is_allowed(text: str) -> bool:
    return _NUMBER_TEXT.match(text) is not None or normalised_symbol(text) in SYMBOLS


def _scan_sheet(rows: list[list], sheet: str, hidden: list[UnreadableCell]) -> tuple[SheetCells, list[str]]:
    """One table sheet -> its non-empty data cells, plus every layout problem found."""
    where = f"sheet {sheet!r}"

    def at(r: int, c: int) -> object:
        row = rows[r - 1] if r - 1 < len(rows) else []
        return row[c - 1] if c - 1 < len(row) else ""

    problems = []
    title = TITLE_PREFIX + TABLES[sheet][1]
    if at(TITLE_ROW, LABEL_COL) != title:
        problems.append(f"{where} A{TITLE_ROW}: expected the title {title!r}, found {at(TITLE_ROW, LABEL_COL)!r}")
    release_text = at(RELEASE_ROW, LABEL_COL)
    if parse_release_text(release_text) is None:
        problems.append(
            f"{where} A{RELEASE_ROW}: expected 'Data last updated: DD/MM/YYYY' (day first), found {release_text!r}"
        )
    unit_row = rows[UNIT_ROW - 1] if len(rows) >= UNIT_ROW else []
    if UNIT_TEXT not in unit_row:
        found = [v for v in unit_row if v != ""]
        problems.append(f"{where} row {UNIT_ROW}: expected the unit {UNIT_TEXT!r}, found {found or 'nothing'}")
    if at(HEADER_ROW, LABEL_COL) != HEADER_TEXT:
        problems.append(f"{where} A{HEADER_ROW}: expected {HEADER_TEXT!r}, found {at(HEADER_ROW, LABEL_COL)!r}")

    # row 11: the months
    header = rows[HEADER_ROW - 1] if len(rows) >= HEADER_ROW else []
    months: dict[int, tuple[str, int, int]] = {}
    seen: dict[tuple[int, int], int] = {}
    labelled = set()  # columns with something in row 11 (a bad label is reported once, not per cell below it)
    for ci in range(FIRST_MONTH_COL - 1, len(header)):
        v = header[ci]
        if v == "":
            continue
        labelled.add(ci)
        ref = f"{column_letters(ci + 1)}{HEADER_ROW}"
        m = _MONTH_LABEL.match(v) if isinstance(v, str) else None
        if m is None:
            problems.append(f"{where} {ref}: expected a month label like '2025 Jan', found {v!r}")
            continue
        key = (int(m.group(1)), MONTHS.index(m.group(2)) + 1)
        if key in seen:
            problems.append(
                f"{where} {ref}: month {v!r} appears twice (also {column_letters(seen[key] + 1)}{HEADER_ROW})"
            )
            continue
        seen[key] = ci
        months[ci] = (v, *key)
    if not months:
        problems.append(f"{where} row {HEADER_ROW}: expected month labels from column B, found none")

    # the data block: from row 12 to the first row whose column A is empty
    first = FIRST_DATA_ROW - 1
    end = next((ri for ri in range(first, len(rows)) if rows[ri][LABEL_COL - 1] == ""), len(rows))
    if end == first:
        problems.append(
            f"{where} A{FIRST_DATA_ROW}: expected 'Total All Markets' and the series below it, found an empty row"
        )
    labels: dict[int, tuple[str, str, int]] = {}
    names: dict[str, int] = {}
    previous = None  # the level of the row above (None above the first; UNKNOWN after a bad label)
    for ri in range(first, end):
        label = rows[ri][LABEL_COL - 1]
        ref = f"A{ri + 1}"
        if not isinstance(label, str) or not label.strip():
            problems.append(f"{where} {ref}: expected a series label, found {label!r}")
            previous = UNKNOWN
            continue
        indent = len(label) - len(label.lstrip(" "))
        name = label.strip()
        if label[indent].isspace():
            problems.append(f"{where} {ref}: {label!r} is indented with other characters than spaces")
            previous = UNKNOWN
            continue
        if indent not in INDENT_LEVELS:
            problems.append(
                f"{where} {ref}: {label!r} is indented {indent} spaces; expected 0 (the total), "
                "2 (a region) or 4 (a market)"
            )
            previous = UNKNOWN
            continue
        level = INDENT_LEVELS[indent]
        if ri == first and level != 0:
            problems.append(
                f"{where} {ref}: {label!r} is {LEVEL_NAMES[level]}, but the first series must be the "
                "total (no indentation)"
            )
        elif ri > first and level == 0:
            problems.append(f"{where} {ref}: {label!r} is a second total (no indentation) inside the data block")
        elif level == 2 and previous not in (1, 2, UNKNOWN):
            problems.append(
                f"{where} {ref}: {label!r} is a market (4 spaces) but follows "
                f"{'no region' if previous is None else LEVEL_NAMES[previous]}; a market belongs under a region"
            )
        if name in names:
            problems.append(f"{where} {ref}: series {name!r} appears twice (also A{names[name] + 1})")
        names.setdefault(name, ri)
        labels[ri] = (label, name, level)
        previous = level

    # The cells of the block as two columns (numbers, texts), row by row: the Python work per cell is
    # one list copy, plus one typed pass where the block holds anything but numbers. The rows and
    # columns of the non-empty cells are found in cells_frame, by Polars.
    start = FIRST_MONTH_COL - 1
    width = max([len(rows[ri]) - start for ri in range(first, end)] + [0])
    flat: list = []
    for ri in range(first, end):
        values = rows[ri][start:]
        flat += values if len(values) == width else values + [""] * (width - len(values))
    if set(map(type, flat)) <= {float}:
        nums, texts = flat, None
    else:
        nums = [v if type(v) is float else (float(v) if type(v) is int else None) for v in flat]
        texts = [v if type(v) is str and v != "" else None for v in flat]
        bad = [
            (first + i // width, start + i % width, v)
            for i, v in enumerate(flat)
            if not (type(v) is float or type(v) is int or (type(v) is str and (v == "" or _text_is_allowed(v))))
        ]
        problems += _listed(
            f"{where} not a number nor a documented symbol ({', '.join(repr(s) for s in SYMBOLS)})",
            [f"{column_letters(ci + 1)}{ri + 1} {v!r}" for ri, ci, v in bad],
        )
    stray = [
        (ri, ci, rows[ri][ci])
        for ci in range(start, start + width)
        if ci not in labelled
        for ri in range(first, end)
        if ci < len(rows[ri]) and rows[ri][ci] != ""
    ]
    problems += _listed(
        f"{where} value in a column with nothing in row {HEADER_ROW}",
        [f"{column_letters(ci + 1)}{ri + 1} {v!r}" for ri, ci, v in stray],
    )
    problems += _listed(
        f"{where} a cell the reader cannot take a value from",
        [f"{column_letters(u.col0 + 1)}{u.row0 + 1} {u.reason if u.is_error else 'a ' + u.reason}" for u in hidden],
    )

    # below the block: footnotes in column A only, the currency footnote among them
    below = [(ri, ci, v) for ri in range(end, len(rows)) for ci, v in enumerate(rows[ri][1:], 1) if v != ""]
    problems += _listed(
        f"{where} value below the data block (footnotes are in column A only)",
        [f"{column_letters(ci + 1)}{ri + 1} {v!r}" for ri, ci, v in below],
    )
    footnotes = [rows[ri][0] for ri in range(end, len(rows)) if isinstance(rows[ri][0], str)]
    if not any(CURRENCY_FOOTNOTE in f for f in footnotes):
        problems.append(
            f"{where}: the footnote {CURRENCY_FOOTNOTE + ' ...'!r} is missing below the data (the unit's currency)"
        )
    return SheetCells(sheet, first, width, nums, texts, labels, months), problems


def scan_workbook(path: Path, vintage: date, sha256: str | None = None) -> WorkbookCells:
    """Read one workbook, check its layout, collect the non-empty data cells of T1-T3.

    Raises SingStatLayoutError naming the file and every layout problem found (all sheets are
    checked before raising).
    """
    path = Path(path)
    sha256 = sha256 or file_sha256(path)
    sheets = scan_sheets(path, SHEETS, tuple(TABLES), _scan_sheet, SingStatLayoutError)
    return WorkbookCells(path.name, sha256, vintage, sheets)


def read_workbook(path: Path, vintage: date, sha256: str | None = None) -> pl.DataFrame:
    """Read one workbook (T1-T3) into long raw cells, one row per non-empty data cell.

    Shape: RAW_SCHEMA columns (see `cells_frame`). Raises SingStatLayoutError naming the file and
    every layout problem found.
    """
    return cells_frame([scan_workbook(path, vintage, sha256)])


def cells_frame(workbooks: list[WorkbookCells]) -> pl.DataFrame:
    """Scanned workbooks -> long raw cells, one row per non-empty data cell, in workbook order, then
    sheet (T1, T2, T3), Excel row and column.

    Shape: RAW_SCHEMA columns; `value` in S$ millions as published (None for a notation symbol, with
    `parse_error` saying which); `cell_text` the cell as published (numbers in their shortest exact
    decimal form, text verbatim); lineage `source_file`, `sheet`, `excel_row`, `excel_col`, `cell`.
    """
    sheets = [(w, s) for w in workbooks for s in w.sheets]
    if not sheets:
        return pl.DataFrame(schema=RAW_SCHEMA)
    per_sheet = pl.DataFrame(
        {
            "k": range(len(sheets)),
            "source_file": [w.source_file for w, _ in sheets],
            "file_sha256": [w.sha256 for w, _ in sheets],
            "vintage": [w.vintage for w, _ in sheets],
            "sheet": [s.sheet for _, s in sheets],
            "table_flow": [TABLES[s.sheet][0] for _, s in sheets],
        },
        schema_overrides={"k": pl.Int32, "vintage": pl.Date},
    )
    labels = pl.DataFrame(
        [(k, ri, *lab) for k, (_, s) in enumerate(sheets) for ri, lab in s.labels.items()],
        schema={"k": pl.Int32, "ri": pl.Int32, "series": pl.String, "partner_name": pl.String, "level": pl.Int8},
        orient="row",
    )
    months = pl.DataFrame(
        [(k, ci, *m) for k, (_, s) in enumerate(sheets) for ci, m in s.months.items()],
        schema={"k": pl.Int32, "ci": pl.Int32, "month_label": pl.String, "year": pl.Int16, "month": pl.Int8},
        orient="row",
    )
    letters = {ci: column_letters(ci + 1) for ci in {c for _, s in sheets for c in s.months}}
    start = FIRST_MONTH_COL - 1
    blocks = []
    for k, (_, s) in enumerate(sheets):
        n = len(s.nums)
        if n == 0:
            continue
        block = pl.DataFrame(
            {
                "num": pl.Series(s.nums, dtype=pl.Float64),
                "text": pl.Series(s.texts if s.texts is not None else [None] * n, dtype=pl.String),
            }
        )
        i = pl.int_range(n, dtype=pl.Int32)
        blocks.append(
            block.with_columns(k=pl.lit(k, dtype=pl.Int32), ri=s.first + i // s.width, ci=start + i % s.width).filter(
                pl.col("num").is_not_null() | pl.col("text").is_not_null()
            )
        )
    if not blocks:
        return pl.DataFrame(schema=RAW_SCHEMA)
    frame = pl.concat(blocks)
    number_text = pl.col("text").str.extract(_NUMBER_TEXT.pattern, 1)
    symbol = pl.col("text").str.replace_all(r"[\s.]", "").str.to_lowercase()
    meaning = symbol.replace_strict(SYMBOLS, default=None, return_dtype=pl.String)
    return (
        frame.with_row_index("_order")
        .join(per_sheet, on="k", how="left")
        .join(labels, on=["k", "ri"], how="left")
        .join(months, on=["k", "ci"], how="left")
        .sort("_order")
        .with_columns(
            reporter_name=pl.lit(REPORTER),
            excel_row=pl.col("ri") + 1,
            excel_col=pl.col("ci").replace_strict(letters, return_dtype=pl.String),
            cell_text=pl.coalesce(pl.col("text"), pl.col("num").cast(pl.String).str.replace(r"\.0$", "")),
            value=pl.coalesce(pl.col("num"), number_text.str.replace_all(",", "").cast(pl.Float64)),
            parse_error=pl.when(pl.col("text").is_not_null() & number_text.is_null()).then(
                pl.format("SingStat notation '{}' ({}): no value published", pl.col("text"), meaning)
            ),
        )
        .with_columns(cell=pl.col("excel_col") + pl.col("excel_row").cast(pl.String))
        .select(RAW_SCHEMA.keys())
        .cast(RAW_SCHEMA)
    )
