"""IMF Direction of Trade Statistics (DOTS) Excel workbooks -> long raw cells.

Source: the legacy data.imf.org report "Exports and Imports by Areas and Countries", one workbook
per *reporter*, exported as .xlsx (see data/imf_dots/PROVENANCE.md). Values are US$ millions.

Layout every workbook must have (Excel coordinates, as a user sees them):

    sheets        exactly "Exports, FOB" and "Imports, CIF"
    B2            sheet title: "Exports, FOB to Partner Countries" / "Imports, CIF from Partner Countries"
    B4            reporter, IMF name (e.g. "Russian Federation")
    B5            unit: "US Dollars, Millions"
    C7, D7, ...   years as 4-digit text; not always consecutive, may differ between the two sheets
    B8, B9, ...   partner, IMF name; C8... the values (number, or text such as "14.43 e" /
                  "1,234.56 e" for an IMF estimate); empty cell = no data
    column A      empty

Rows whose data cells are all empty (e.g. "Memorandum Items") only separate sections and carry no
observation. This module knows nothing about Dagster or DuckDB: it turns one file into a Polars
frame (`read_workbook`) or raises `WorkbookLayoutError` naming the file and what was expected.
"""

import functools
import operator
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import chain, compress, repeat
from pathlib import Path

import polars as pl

from tradewh.sources import imf_sdmx, xlsx
from tradewh.sources.contract import (  # noqa: F401 (re-exported)
    RELEASES_FILE,
    FileLayoutError,
    Release,
    code_fingerprint,
    file_sha256,
    read_releases,
)
from tradewh.sources.xlsx import UnreadableCell, column_letters, scan_sheets
from tradewh.warehouse.tables import Column as C
from tradewh.warehouse.tables import Table, polars_schema

UNIT_TEXT = "US Dollars, Millions"
UNIT = "USD millions"

# sheet name -> (flow, valuation, title in B2)
SHEETS: dict[str, tuple[str, str, str]] = {
    "Exports, FOB": ("X", "FOB", "Exports, FOB to Partner Countries"),
    "Imports, CIF": ("M", "CIF", "Imports, CIF from Partner Countries"),
}

# Excel rows/columns are 1-based as a user sees them; Python indices are 0-based.
TITLE_ROW, REPORTER_ROW, UNIT_ROW, YEAR_ROW, FIRST_DATA_ROW = 2, 4, 5, 7, 8
NAME_COL, FIRST_YEAR_COL = 2, 3  # B, C

# A published value as text: optional minus, ASCII digits with optional valid thousands separators,
# optional decimals, optional " e" (IMF estimate). Anything else is not parsed (quarantined).
# [0-9], not \d: \d also matches other scripts' digits ("１２"), which float() would accept.
_NUMBER_TEXT = re.compile(r"^\s*(-?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?)(\s*e)?\s*$")
_YEAR_TEXT = re.compile(r"^[0-9]{4}$")
# Earliest and latest believable generation time of a DOTS export. Excel writes 1980-01-01 (the
# zip/DOS epoch) into the zip entries of every workbook it saves, which is no release date.
EARLIEST_GENERATED = datetime(1990, 1, 1)

RAW_TABLE = Table(
    "raw",
    "imf_dots_cells",
    "Every non-empty data cell of every IMF DOTS workbook ingested, as published, and every observation of the "
    "archived answers of the retired DOTS web service (sources/imf_dots/answer.py). Grain: one cell (workbook file x "
    "sheet x Excel row x Excel column) or one answer observation (file x series x observation). Source: IMF DOTS "
    "Excel exports; dataservices.imf.org CompactData JSON. Unit: US$ millions. "
    "A view that reads the raw store's Parquet files in place (the files in meta.raw_files, under "
    "TRADEWH_HOME/raw/imf_dots/): the raw cells are not copied into the warehouse file, so this view needs the "
    "raw store beside it.",
    (
        C("raw_id", "BIGINT", "Row id within this build of the warehouse (lineage key for canonical rows).", False),
        C("source_file", "VARCHAR", "Workbook file name as received.", False),
        C("file_sha256", "VARCHAR", "SHA-256 of the workbook file: identifies the exact file version.", False),
        C("vintage", "DATE", "Release the workbook belongs to (docs/releases.md).", False),
        C("sheet", "VARCHAR", "Worksheet name: 'Exports, FOB' or 'Imports, CIF'; NULL for an answer."),
        C("flow", "VARCHAR", "X (exports) or M (imports), from the sheet (an answer: from INDICATOR).", False),
        C("valuation", "VARCHAR", "FOB (exports) or CIF (imports), from the sheet (an answer: from INDICATOR).", False),
        C(
            "reporter_name",
            "VARCHAR",
            "Reporter as published in cell B4 (IMF name); an answer's REF_AREA code by its IMF name (area_codes.csv).",
            False,
        ),
        C("unit", "VARCHAR", "Unit as stated in cell B5, normalised: 'USD millions'.", False),
        C("excel_row", "INTEGER", "Excel row number (1-based, as shown in Excel); NULL for an answer."),
        C("excel_col", "VARCHAR", "Excel column letters; NULL for an answer."),
        C(
            "cell",
            "VARCHAR",
            "Excel cell reference, e.g. BK103; for an answer its series and observation, e.g. "
            "'series 2 A.US.TXG_FOB_USD.W00, observation 2020'.",
            False,
        ),
        C(
            "partner_name",
            "VARCHAR",
            "Partner as published in column B of the row (IMF name), NULL if the row has no name; "
            "an answer's COUNTERPART_AREA code by its IMF name.",
        ),
        C("year", "SMALLINT", "Year from row 7 of the value's column (an answer: of TIME_PERIOD).", False),
        C(
            "cell_text",
            "VARCHAR",
            "The cell as published: text verbatim, numbers in shortest exact decimal form.",
            False,
        ),
        C("cell_is_text", "BOOLEAN", "True if the cell was stored as text in the workbook (estimates are).", False),
        C("value", "DOUBLE", "Parsed value in US$ millions; NULL if the text is not a number (see parse_error)."),
        C("is_estimated", "BOOLEAN", "True if published with the IMF estimate marker ' e'.", False),
        C("parse_error", "VARCHAR", "Why the cell could not be parsed; NULL when it parsed."),
        C("series_no", "INTEGER", "An answer's series, 1-based in document order; NULL for a workbook cell."),
        C("obs_no", "INTEGER", "The observation, 1-based within its series; NULL for a workbook cell."),
        C("series_code", "VARCHAR", "An answer's series key as published: FREQ.REF_AREA.INDICATOR.COUNTERPART_AREA."),
        C("time_period", "VARCHAR", "An answer's TIME_PERIOD as published (2020, 2020-Q1, 2020-01)."),
        C("frequency", "VARCHAR", "An answer's FREQ: A, Q or M; NULL for a workbook cell (annual)."),
        C("quarter", "TINYINT", "Quarter of a Q observation."),
        C("month", "TINYINT", "Month of an M observation."),
    ),
    kind="view",
)
# The columns of one raw-store Parquet file (raw_id is numbered when a build reads the files).
RAW_SCHEMA = polars_schema(RAW_TABLE, without=("raw_id",))
# The lineage of an archived web-service answer (answer.py): NULL for a workbook cell.
ANSWER_COLUMNS = ("series_no", "obs_no", "series_code", "time_period", "frequency", "quarter", "month")


class WorkbookLayoutError(FileLayoutError):
    """A workbook is not in the DOTS export layout; `problems` lists every deviation found."""

    def __init__(self, path: Path | str, problems: list[str]):
        super().__init__(path, problems, what="an IMF DOTS export workbook")


def _other_text(v: object) -> str:
    return v.text if isinstance(v, UnreadableCell) else repr(v)


@dataclass(frozen=True)
class ParsedValue:
    value: float | None
    is_estimated: bool
    error: str | None


def parse_value_text(text: str) -> ParsedValue:
    """Parse a value published as text: "14.43 e" -> (14.43, estimated); "1,234.5" -> 1234.5.

    Returns value None and an error message for text that is not a number in the IMF's formats.
    """
    m = _NUMBER_TEXT.match(text)
    if not m:
        return ParsedValue(None, False, f"unrecognised value text {text!r}")
    return ParsedValue(float(m.group(1).replace(",", "")), m.group(2) is not None, None)


@functools.cache
def parser_fingerprint() -> str:
    """What decides a workbook's raw cells besides the workbook's bytes: the code of this source's
    folder and the versions of the Excel reader and of Polars (which writes numbers as cell_text).
    The raw store keeps it with every file (warehouse.ingest), and a file parsed under another
    fingerprint is parsed again, so a parser fix still reaches every release whose workbook is in
    the folder."""
    return code_fingerprint(
        Path(__file__).parent, ("python-calamine", "polars"), (Path(xlsx.__file__), Path(imf_sdmx.__file__))
    )


def generated_at(path: Path) -> datetime:
    """When the IMF's system wrote the workbook: the timestamp of its xl/workbook.xml zip entry.

    The files carry no creation date in docProps/core.xml (it is empty), so the zip entry time is
    the only trace of the export date. Raises WorkbookLayoutError if the file is not an .xlsx zip,
    or if the timestamp is not believable as an export date (before 1990, e.g. Excel's 1980-01-01,
    or in the future): such a file needs its vintage in RELEASES.csv.
    """
    try:
        with zipfile.ZipFile(path) as z:
            stamp = datetime(*z.getinfo("xl/workbook.xml").date_time)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise WorkbookLayoutError(path, [xlsx.not_a_workbook(path, exc)]) from exc
    if not EARLIEST_GENERATED <= stamp <= datetime.now() + timedelta(days=1):
        raise WorkbookLayoutError(
            path,
            [
                f"no usable release date: its internal timestamp is {stamp:%Y-%m-%d %H:%M} (a program that "
                f"re-saved it, not the IMF's export); give it a vintage with a row in {RELEASES_FILE}"
            ],
        )
    return stamp


def _cell_text(v: object) -> str:
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return str(v)


@dataclass
class SheetCells:
    """One sheet's data block (Excel rows from FIRST_DATA_ROW, `width` columns from column C) as
    scanned, before any per-column work: its non-empty cells by position in the block read row by
    row (`i`: 0-based row = FIRST_DATA_ROW - 1 + i // width, column = FIRST_YEAR_COL - 1 + i % width),
    split by what the reader gave: numbers (`num_at`, `nums`), text (`text_at`, `texts`, empty text
    left out) and anything else (`others`: (i, value), an int, an UnreadableCell, a date...), with the
    sheet's partner names by 0-based row and years by 0-based column."""

    sheet: str
    reporter: str
    width: int
    num_at: list[int]
    nums: list[float]
    text_at: list[int]
    texts: list[str]
    others: list[tuple[int, object]]
    partners: dict[int, str | None]
    years: dict[int, int]


@dataclass
class WorkbookCells:
    """Every data cell of one workbook (both sheets), as scanned by `scan_workbook`."""

    source_file: str
    sha256: str
    vintage: date
    sheets: list[SheetCells]


def scan_workbook(path: Path, vintage: date, sha256: str | None = None) -> WorkbookCells:
    """Read one DOTS workbook and check its layout; collect its non-empty data cells.

    The Python work per cell is kept to one pass; everything per column happens once for many
    workbooks in `cells_frame`. Raises WorkbookLayoutError naming the file and every layout problem
    found (all sheets are checked before raising).
    """
    path = Path(path)
    sha256 = sha256 or file_sha256(path)
    sheets = scan_sheets(path, SHEETS, SHEETS, _scan_sheet, WorkbookLayoutError)
    return WorkbookCells(path.name, sha256, vintage, sheets)


def read_workbook(path: Path, vintage: date, sha256: str | None = None) -> pl.DataFrame:
    """Read one DOTS workbook (both sheets) into long raw cells, one row per non-empty data cell.

    Shape: RAW_SCHEMA columns (see `cells_frame`). Raises WorkbookLayoutError naming the file and
    every layout problem found.
    """
    return cells_frame([scan_workbook(path, vintage, sha256)])


def cells_frame(workbooks: list[WorkbookCells]) -> pl.DataFrame:
    """Scanned workbooks -> long raw cells, one row per non-empty data cell, in workbook order, then
    sheet (Exports, Imports), Excel row and column.

    Shape: RAW_SCHEMA columns; `value` in US$ millions as published (None where the text is not a
    number, with `parse_error` saying why); `cell_text` the cell as published (numbers in their
    shortest exact decimal form, text verbatim); lineage `source_file`, `sheet`, `excel_row`,
    `excel_col`, `cell`. A cell with a value but no partner name in column B keeps `partner_name`
    None (quarantined downstream).
    """
    sheets = [(w, s) for w in workbooks for s in w.sheets]
    if not sheets:
        return pl.DataFrame(schema=RAW_SCHEMA)
    per_sheet = pl.DataFrame(
        {
            "k": range(len(sheets)),
            "width": [s.width for _, s in sheets],
            "source_file": [w.source_file for w, _ in sheets],
            "file_sha256": [w.sha256 for w, _ in sheets],
            "vintage": [w.vintage for w, _ in sheets],
            "sheet": [s.sheet for _, s in sheets],
            "flow": [SHEETS[s.sheet][0] for _, s in sheets],
            "valuation": [SHEETS[s.sheet][1] for _, s in sheets],
            "reporter_name": [s.reporter for _, s in sheets],
        },
        schema_overrides={"k": pl.Int32, "width": pl.Int32, "vintage": pl.Date},
    )
    partners = pl.DataFrame(
        [(k, ri, p) for k, (_, s) in enumerate(sheets) for ri, p in s.partners.items()],
        schema={"k": pl.Int32, "ri": pl.Int32, "partner_name": pl.String},
        orient="row",
    )
    years = pl.DataFrame(
        [(k, ci, y) for k, (_, s) in enumerate(sheets) for ci, y in s.years.items()],
        schema={"k": pl.Int32, "ci": pl.Int32, "year": pl.Int16},
        orient="row",
    )
    letters = {ci: column_letters(ci + 1) for ci in {ci for _, s in sheets for ci in s.years}}

    def part(at: str, values: str, column: str, dtype: pl.DataType) -> pl.DataFrame:
        """One kind of cell of every sheet as (k, i, column): the sheets' lists joined in C, each
        sheet's number k repeated by Polars."""
        counts = pl.DataFrame(
            {"k": range(len(sheets)), "n": [len(getattr(s, at)) for _, s in sheets]},
            schema={"k": pl.Int32, "n": pl.UInt32},
        )
        return pl.DataFrame(
            {
                "k": counts.filter(pl.col("n") > 0).select(pl.col("k").repeat_by("n").explode()).to_series(),
                "i": pl.Series(list(chain.from_iterable(getattr(s, at) for _, s in sheets)), dtype=pl.Int32),
                column: pl.Series(list(chain.from_iterable(getattr(s, values) for _, s in sheets)), dtype=dtype),
            }
        )

    others = [(k, i, v) for k, (_, s) in enumerate(sheets) for i, v in s.others]
    frame = pl.concat(
        [
            part("num_at", "nums", "num", pl.Float64),
            part("text_at", "texts", "text", pl.String),
            pl.DataFrame(
                {
                    "k": [k for k, _, _ in others],
                    "i": [i for _, i, _ in others],
                    "num": [float(v) if type(v) is int else None for _, _, v in others],
                    "other": [None if type(v) is int else _other_text(v) for _, _, v in others],
                    "other_reason": [v.reason if type(v) is UnreadableCell else None for _, _, v in others],
                },
                schema={"k": pl.Int32, "i": pl.Int32, "num": pl.Float64, "other": pl.String, "other_reason": pl.String},
            ),
        ],
        how="diagonal",
    )
    parsed = pl.col("text").str.extract_groups(_NUMBER_TEXT.pattern)
    return (
        frame.join(per_sheet, on="k", how="left")
        .with_columns(
            ri=FIRST_DATA_ROW - 1 + pl.col("i") // pl.col("width"),
            ci=FIRST_YEAR_COL - 1 + pl.col("i") % pl.col("width"),
        )
        .join(partners, on=["k", "ri"], how="left")
        .join(years, on=["k", "ci"], how="left")
        .sort("k", "i")
        .with_columns(parsed.alias("p"))
        .with_columns(
            unit=pl.lit(UNIT),
            excel_row=pl.col("ri") + 1,
            excel_col=pl.col("ci").replace_strict(letters, return_dtype=pl.String),
            cell_text=pl.coalesce(
                pl.col("text"),
                pl.col("other"),
                pl.col("num").cast(pl.String).str.replace(r"\.0$", ""),
            ),
            cell_is_text=pl.col("text").is_not_null(),
            value=pl.coalesce(pl.col("num"), pl.col("p").struct.field("1").str.replace_all(",", "").cast(pl.Float64)),
            is_estimated=pl.col("p").struct.field("2").is_not_null(),
            parse_error=pl.when(pl.col("other_reason").is_not_null())
            .then(pl.col("other_reason"))
            .when(pl.col("other").is_not_null())
            .then(pl.lit("unexpected non-numeric cell ") + pl.col("other"))
            .when(pl.col("text").is_not_null() & pl.col("p").struct.field("1").is_null())
            .then(pl.lit("unrecognised value text ") + pl.col("text")),
        )
        .with_columns(
            cell=pl.col("excel_col") + pl.col("excel_row").cast(pl.String),
            **{c: pl.lit(None, RAW_SCHEMA[c]) for c in ANSWER_COLUMNS},
        )
        .select(RAW_SCHEMA.keys())
        .cast(RAW_SCHEMA)
    )


def _check_header(rows: list[list], sheet: str) -> tuple[str, dict[int, int], list[str]]:
    """Check rows 1-7 and column A; return (reporter, {0-based column index: year}, problems)."""
    flow, valuation, title = SHEETS[sheet]

    def at(r: int, c: int) -> object:
        row = rows[r - 1] if r - 1 < len(rows) else []
        return row[c - 1] if c - 1 < len(row) else ""

    problems = []
    where = f"sheet {sheet!r}"
    if at(TITLE_ROW, NAME_COL) != title:
        problems.append(f"{where} B{TITLE_ROW}: expected title {title!r}, found {at(TITLE_ROW, NAME_COL)!r}")
    reporter = at(REPORTER_ROW, NAME_COL)
    if not isinstance(reporter, str) or not reporter.strip():
        problems.append(f"{where} B{REPORTER_ROW}: expected the reporter's name, found {reporter!r}")
        reporter = ""
    if at(UNIT_ROW, NAME_COL) != UNIT_TEXT:
        problems.append(f"{where} B{UNIT_ROW}: expected unit {UNIT_TEXT!r}, found {at(UNIT_ROW, NAME_COL)!r}")
    header = rows[YEAR_ROW - 1] if len(rows) >= YEAR_ROW else []
    years: dict[int, int] = {}
    for ci in range(FIRST_YEAR_COL - 1, len(header)):
        v = header[ci]
        if v == "":
            continue
        text = _cell_text(v)
        if not _YEAR_TEXT.match(text):
            problems.append(f"{where} {column_letters(ci + 1)}{YEAR_ROW}: expected a year, found {v!r}")
        elif int(text) in years.values():
            problems.append(f"{where} {column_letters(ci + 1)}{YEAR_ROW}: year {text} appears twice")
        else:
            years[ci] = int(text)
    if not years:
        problems.append(f"{where} row {YEAR_ROW}: expected years from column C, found none")
    for ri, row in enumerate(rows):
        if row and row[0] != "":
            problems.append(f"{where} A{ri + 1}: expected column A empty, found {row[0]!r}")
        if ri + 1 < FIRST_DATA_ROW and ri + 1 != YEAR_ROW:
            for ci in range(FIRST_YEAR_COL - 1, len(row)):
                if row[ci] != "":
                    problems.append(
                        f"{where} {column_letters(ci + 1)}{ri + 1}: unexpected value {row[ci]!r} above the data"
                    )
    return reporter.strip(), years, problems


def _scan_sheet(rows: list[list], sheet: str, unreadable: list[UnreadableCell]) -> tuple[SheetCells, list[str]]:
    """One sheet's data block -> its non-empty data cells, plus layout problems.

    `unreadable` cells (sources.xlsx.unreadable_cells) are put back where the reader saw nothing, so they
    reach the raw layer with their reason instead of vanishing.
    """
    width = max([len(r) for r in rows] + [u.col0 + 1 for u in unreadable])
    for u in unreadable:
        while len(rows) <= u.row0:
            rows.append([""] * width)
        rows[u.row0] = list(rows[u.row0]) + [""] * (width - len(rows[u.row0]))
        rows[u.row0][u.col0] = u
    reporter, years, problems = _check_header(rows, sheet)
    first, start_col = FIRST_DATA_ROW - 1, FIRST_YEAR_COL - 1
    # The data block row by row as one list; its non-empty cells, split by type, with C-level passes
    # (map, compress): no Python code runs per cell. Columns are worked out in cells_frame, by Polars.
    width = max([len(r) - start_col for r in rows[first:]] + [0])
    flat: list = []
    for row in rows[first:]:
        cells = row[start_col:]
        flat += cells if len(cells) == width else cells + [""] * (width - len(cells))
    filled = list(map(operator.ne, flat, repeat("")))  # a number is never equal to ""
    at, values = list(compress(range(len(flat)), filled)), list(compress(flat, filled))
    types = list(map(type, values))
    is_num, is_text = list(map(operator.is_, types, repeat(float))), list(map(operator.is_, types, repeat(str)))
    num_at, nums = list(compress(at, is_num)), list(compress(values, is_num))
    text_at, texts = list(compress(at, is_text)), list(compress(values, is_text))
    others = (  # ints, dates, UnreadableCells...: rare, so found by Python only where present
        [(i, v) for i, v, t in zip(at, values, types) if t is not float and t is not str]
        if len(nums) + len(texts) < len(values)
        else []
    )
    for ci in sorted(set(range(start_col, start_col + width)) - years.keys()):
        found = next(
            ((ri, rows[ri][ci]) for ri in range(first, len(rows)) if ci < len(rows[ri]) and rows[ri][ci] != ""), None
        )
        if found:
            problems.append(
                f"sheet {sheet!r} {column_letters(ci + 1)}{found[0] + 1}: value {found[1]!r} in a column with no year in row {YEAR_ROW}"
            )
    partners = {
        ri: (p.strip() if isinstance(p, str) and p.strip() else None)
        for ri in range(first, len(rows))
        for p in [rows[ri][NAME_COL - 1] if len(rows[ri]) >= NAME_COL else ""]
    }
    return SheetCells(sheet, reporter, width, num_at, nums, text_at, texts, others, partners, years), problems


def resolve_vintage(path: Path, sha256: str, releases: dict[str, Release]) -> date:
    """The release a workbook belongs to: its row in RELEASES.csv (by SHA-256). A workbook states no
    release of its own, and the export time inside it is no publication date (a copy re-saved by
    any program gets today's), so a workbook without a row is refused: WorkbookLayoutError naming
    it, its SHA-256 and the row to add, with the export time as a hint when it has a believable one
    (`generated_at`), or saying what the file is when it is no workbook."""
    release = releases.get(sha256)
    if release:
        return release.vintage
    try:
        hint = f"; the IMF's system exported it on {generated_at(path):%Y-%m-%d %H:%M} (its internal timestamp: a hint, not a publication date)"
    except WorkbookLayoutError as exc:
        if not any("no usable release date" in p for p in exc.problems):
            raise  # not a workbook at all: say that, not that its release is missing
        hint = ""
    raise WorkbookLayoutError(
        path,
        [
            f"no declared release: give it a row in {RELEASES_FILE} ({path.name},{sha256},<generated_at>,<vintage>), "
            f"its vintage being the release it belongs to{hint}"
        ],
    )
