"""IMF International Trade in Goods (IMTS) data-portal CSV exports -> long raw rows.

Source: the IMF data portal's "Data Explorer" CSV download of the dataflow IMF.STA:IMTS(1.0.0) (the
successor of DOTS; see data/imf_imts/PROVENANCE.md). Values are published in the unit given by
SCALE.ID: 6 = US$ millions.

Layout every export must have:

    encoding      UTF-8, with or without a byte-order mark (the portal writes one)
    quoting       every field quoted; "" = no data (an empty cell is not zero)
    line 1        the header: the columns of SERIES_COLUMNS (any order), then one column per year
                  ("2016", "2017", ...); nothing else
    line 2, ...   one series per line: reporter COUNTRY.ID (ISO3), INDICATOR.ID (XG_FOB_USD exports
                  FOB, MG_CIF_USD imports CIF), COUNTERPART_COUNTRY.ID (ISO3 or an IMF G.../GX.../TX...
                  code), FREQUENCY.ID (A: the year columns are annual values), SCALE.ID (a power of
                  ten), SERIES_CODE = COUNTRY.ID.INDICATOR.ID.COUNTERPART_COUNTRY.ID.FREQUENCY.ID;
                  then the year cells
    no status column: the export does not say which values are IMF estimates.

A year cell whose text is not a number is kept as a raw row with `value` null and `parse_error` set
(the canonical step quarantines it, never drops it). Everything else that departs from the layout
raises `ImtsLayoutError`, naming the file and every problem found. This module knows nothing about
Dagster or DuckDB: it turns one file into a Polars frame.
"""

import functools
import re
from datetime import date
from pathlib import Path

import polars as pl

from tradewh.sources import imf_sdmx
from tradewh.sources.contract import FileLayoutError, code_fingerprint, file_sha256, plain_unreadable
from tradewh.sources.imf_sdmx import NUMBER_TEXT
from tradewh.warehouse.tables import Column as C
from tradewh.warehouse.tables import Table, polars_schema

# The series columns of an export (the portal's names), each required once.
SERIES_COLUMNS = (
    "DATASET",
    "SERIES_CODE",
    "OBS_MEASURE",
    "COUNTRY.ID",
    "COUNTRY",
    "INDICATOR.ID",
    "INDICATOR",
    "COUNTERPART_COUNTRY.ID",
    "COUNTERPART_COUNTRY",
    "FREQUENCY.ID",
    "FREQUENCY",
    "SCALE.ID",
    "SCALE",
    "TRADE_FLOW.ID",
    "TRADE_FLOW",
)
# Columns that must hold a code on every line.
REQUIRED_CODES = ("SERIES_CODE", "COUNTRY.ID", "INDICATOR.ID", "COUNTERPART_COUNTRY.ID", "FREQUENCY.ID", "SCALE.ID")

# INDICATOR.ID -> (flow, valuation). TBG_USD (the trade balance) is no flow: an export with it is refused.
INDICATORS: dict[str, tuple[str, str]] = {
    "XG_FOB_USD": ("X", "FOB"),
    "MG_CIF_USD": ("M", "CIF"),
}
FREQUENCIES = ("A",)  # the year columns are annual values; a Q or M series in them would be mislabelled
ANSWER_DATASET = "IMF.STA:IMTS"  # the dataflow an api.imf.org answer is from (live.FLOW)

_YEAR = re.compile(r"^[0-9]{4}$")
_SCALE = r"^[0-9]{1,2}$"
_DUPLICATED = re.compile(r"^(.*)_duplicated_[0-9]+$")  # Polars' name for a header given twice
MAX_LISTED = 5  # lines listed per problem; the rest are counted

RAW_TABLE = Table(
    "raw",
    "imf_imts_values",
    "Every non-empty year cell of every IMF IMTS data-portal CSV export, and every observation of every "
    "api.imf.org answer, ingested as published. Grain: one value (file version x series x period): a CSV "
    "line x year column, or an answer's series x observation; an empty cell has no row (empty is not zero). "
    "Source: IMF International Trade in Goods (IMTS, dataflow IMF.STA:IMTS), CSV download of the IMF data "
    "portal or SDMX 3.0 answer of api.imf.org. Unit: 10^unit_exponent US dollars (the export: SCALE.ID, "
    "6 = US$ millions; an answer: US dollars). Neither says which values are IMF estimates. A view that "
    "reads the raw store's Parquet files in place (the files in meta.raw_files, "
    "under TRADEWH_HOME/raw/imf_imts/): the raw rows are not copied into the warehouse file, so this view "
    "needs the raw store beside it.",
    (
        C("raw_id", "BIGINT", "Row id within this build of the warehouse (lineage key for canonical rows).", False),
        C("source_file", "VARCHAR", "CSV file name as received.", False),
        C("file_sha256", "VARCHAR", "SHA-256 of the CSV file: identifies the exact file version.", False),
        C("vintage", "DATE", "Release the file belongs to (its RELEASES.csv row; docs/releases.md).", False),
        C(
            "csv_line",
            "INTEGER",
            "Line of the CSV file the series is on (1-based; the header is line 1); NULL for an API answer.",
        ),
        C("csv_column", "VARCHAR", "Header of the year column the value is in, e.g. '2021'; NULL for an API answer."),
        C("series_no", "INTEGER", "Position of the series in an API answer (1-based); NULL for a CSV export."),
        C(
            "obs_no",
            "INTEGER",
            "Position of the observation in its series in an API answer (1-based); NULL for a CSV export.",
        ),
        C(
            "time_period",
            "VARCHAR",
            "The period as published: the year column's header in a CSV export; TIME_PERIOD in "
            "an API answer (2023, 2023-Q1, 2023-M01).",
            False,
        ),
        C("year", "SMALLINT", "Year of the period.", False),
        C("quarter", "TINYINT", "Quarter of a Q series (1-4); NULL otherwise."),
        C("month", "TINYINT", "Month of an M series (1-12); NULL otherwise."),
        C(
            "dataset",
            "VARCHAR",
            "DATASET as published, e.g. 'IMF.STA:IMTS(1.0.0)' (an API answer: its structure's id).",
            False,
        ),
        C(
            "series_code",
            "VARCHAR",
            "SERIES_CODE as published, e.g. 'RUS.XG_FOB_USD.IDN.A' (an API answer: its series key).",
            False,
        ),
        C("reporter_code", "VARCHAR", "Reporter as published in COUNTRY.ID (ISO3, e.g. RUS).", False),
        C("reporter_name", "VARCHAR", "Reporter name as published in COUNTRY; NULL if empty (an API answer has none)."),
        C(
            "indicator",
            "VARCHAR",
            "INDICATOR.ID as published: XG_FOB_USD (exports, FOB) or MG_CIF_USD (imports, CIF).",
            False,
        ),
        C(
            "counterpart_code",
            "VARCHAR",
            "Partner as published in COUNTERPART_COUNTRY.ID: ISO3, or an IMF code such as "
            "G001 (World), G998 (European Union), GX901 (CIS), TX898 (Countries & Areas not specified).",
            False,
        ),
        C(
            "counterpart_name",
            "VARCHAR",
            "Partner name as published in COUNTERPART_COUNTRY; NULL if empty (an API answer has none).",
        ),
        C("frequency", "VARCHAR", "FREQUENCY.ID as published: A (annual), Q or M (API answers).", False),
        C(
            "scale",
            "SMALLINT",
            "SCALE.ID / SCALE as published (6 = millions): the CSV export's unit; an API answer's "
            "display scale only (its OBS_VALUE is in US dollars).",
            False,
        ),
        C(
            "unit_exponent",
            "SMALLINT",
            "The power of ten of US dollars `value` is in: SCALE.ID for a CSV export, 0 for an API answer.",
            False,
        ),
        C(
            "derivation_type",
            "VARCHAR",
            "DERIVATION_TYPE of the observation in an API answer (meaning not documented by the IMF); NULL for a CSV export.",
        ),
        C(
            "cell_text",
            "VARCHAR",
            "The value exactly as published (CSV: the text between the quotes; API: OBS_VALUE).",
            False,
        ),
        C(
            "value",
            "DOUBLE",
            "Parsed value in 10^unit_exponent US dollars (US$ millions in the bundled export); NULL if the text "
            "is not a number (see parse_error).",
            True,
        ),
        C("parse_error", "VARCHAR", "Why the cell could not be parsed; NULL when it parsed."),
    ),
    kind="view",
)
# The columns of one raw-store Parquet file (raw_id is numbered when a build reads the files).
RAW_SCHEMA = polars_schema(RAW_TABLE, without=("raw_id",))


class ImtsLayoutError(FileLayoutError):
    """A CSV file is not in the IMTS data-portal export layout; `problems` lists every deviation found."""

    def __init__(self, path: Path | str, problems: list[str]):
        super().__init__(path, problems, what="an IMF IMTS data-portal CSV export")


@functools.cache
def parser_fingerprint() -> str:
    """What decides a file's raw rows besides its bytes: the code of this folder and the Polars
    version (the CSV reader). A file parsed under another fingerprint is parsed again."""
    return code_fingerprint(Path(__file__).parent, ("polars",), (Path(imf_sdmx.__file__),))


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:MAX_LISTED])
    return f"line{'s' if len(numbers) > 1 else ''} {shown}" + (
        f" (and {len(numbers) - MAX_LISTED} more)" if len(numbers) > MAX_LISTED else ""
    )


def _line_problems(data: bytes, records: int) -> list[str]:
    """The file's physical lines against the records Polars read: a blank line, or a quoted field
    that spans lines, would shift every later line number (and Polars splits such a field)."""
    text_lines = data.split(b"\n")
    while text_lines and text_lines[-1].strip(b"\r \t") == b"":
        text_lines.pop()  # the newline that ends the last line, and blank lines after it
    blank = [i + 1 for i, ln in enumerate(text_lines) if ln.strip(b"\r \t") == b""]
    problems = [f"empty {_lines(blank)}"] if blank else []
    if not blank and len(text_lines) != records + 1:
        problems.append(
            f"{len(text_lines)} lines hold {records} series after the header: a quoted field spans lines, "
            "or a line is malformed"
        )
    return problems


def read_series(path: Path) -> tuple[pl.DataFrame, list[str]]:
    """Read one export and check its layout: (the series, one row per CSV line, every column as text,
    with `csv_line`; the year column names in file order).

    Raises ImtsLayoutError naming the file and every problem found: not UTF-8 or not CSV, empty,
    a series column missing or given twice, a column that is neither a series column nor a year,
    no year column, a line with a field missing, an empty code, an unknown INDICATOR.ID or
    FREQUENCY.ID, a SCALE.ID that is not a whole number, a SERIES_CODE that does not agree with
    the line's codes.
    """
    path = Path(path)
    if plain := plain_unreadable(path):
        raise ImtsLayoutError(path, [plain])
    data = path.read_bytes()
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise ImtsLayoutError(path, ["the file is empty (expected a header line and one line per series)"])
    try:
        # a quoted "" reads as "", an unquoted empty field or a missing one as null
        frame = pl.read_csv(data, infer_schema=False, encoding="utf8", quote_char='"')
    except Exception as exc:  # Polars' own errors: invalid UTF-8, more fields than the header, ...
        raise ImtsLayoutError(path, [f"cannot be read as a UTF-8 CSV file ({type(exc).__name__}: {exc})"]) from exc

    problems: list[str] = []
    names = frame.columns
    twice = sorted({m.group(1) for n in names if (m := _DUPLICATED.match(n))})
    problems += [f"column {n!r} appears more than once in the header" for n in twice]
    missing = [c for c in SERIES_COLUMNS if c not in names]
    if missing:
        problems.append("missing column" + ("s " if len(missing) > 1 else " ") + ", ".join(repr(c) for c in missing))
    others = [n for n in names if n not in SERIES_COLUMNS and not _DUPLICATED.match(n)]
    not_years = [n for n in others if not _YEAR.match(n)]
    if not_years:
        problems.append(
            "column"
            + ("s " if len(not_years) > 1 else " ")
            + ", ".join(repr(n) for n in not_years)
            + " neither a series column nor a year (expected 4-digit year columns after the series columns)"
        )
    years = [n for n in others if _YEAR.match(n)]
    if not years:
        problems.append("no year columns (expected '2016', '2017', ... after the series columns)")
    if problems:  # without the expected columns the lines cannot be checked
        raise ImtsLayoutError(path, problems)

    problems += _line_problems(data, frame.height)
    frame = frame.with_row_index("csv_line", offset=2).with_columns(pl.col("csv_line").cast(pl.Int32))
    # Every field is quoted: a null is a field missing from its line (or not quoted).
    short = frame.filter(pl.any_horizontal(pl.all().is_null()))["csv_line"].to_list()
    if short:
        problems.append(
            f"fields missing or unquoted on {_lines(short)} (every line has one quoted field per header column)"
        )

    def bad(condition: pl.Expr, column: str, why: str) -> None:
        given = pl.col(column).is_not_null() & (pl.col(column) != "")
        rows = frame.filter(given & condition).group_by(column, maintain_order=True).agg(pl.col("csv_line"))
        for value, lines in rows.iter_rows():
            problems.append(f"{column} {value!r} on {_lines(lines)}: {why}")

    for col in REQUIRED_CODES:
        empty = frame.filter(pl.col(col).fill_null("").str.strip_chars() == "")["csv_line"].to_list()
        if empty:
            problems.append(f"{col} empty on {_lines(empty)}")
    bad(
        ~pl.col("INDICATOR.ID").is_in(list(INDICATORS)),
        "INDICATOR.ID",
        f"unknown indicator (expected {' or '.join(INDICATORS)})",
    )
    bad(
        ~pl.col("FREQUENCY.ID").is_in(list(FREQUENCIES)),
        "FREQUENCY.ID",
        f"expected {' or '.join(FREQUENCIES)} (the value columns are years)",
    )
    bad(
        ~pl.col("SCALE.ID").str.contains(_SCALE),
        "SCALE.ID",
        "not a whole number (the power of ten of the values' unit)",
    )
    series_code = pl.concat_str("COUNTRY.ID", "INDICATOR.ID", "COUNTERPART_COUNTRY.ID", "FREQUENCY.ID", separator=".")
    bad(
        pl.col("SERIES_CODE") != series_code,
        "SERIES_CODE",
        "does not agree with the line's COUNTRY.ID.INDICATOR.ID.COUNTERPART_COUNTRY.ID.FREQUENCY.ID",
    )
    if problems:
        raise ImtsLayoutError(path, problems)
    return frame, years


def read_export(path: Path, vintage: date, sha256: str | None = None) -> pl.DataFrame:
    """Read one IMTS CSV export into long raw rows: one row per non-empty (series, year) cell, in
    file order (CSV line, then year column); an empty cell gives no row, a "0" gives value 0.

    Shape: RAW_SCHEMA columns; `value` in the file's SCALE units (US$ millions for SCALE.ID 6), null
    where the text is not a number (`parse_error` says why; the canonical step quarantines it);
    `cell_text` the text between the quotes, verbatim; lineage `source_file`, `file_sha256`,
    `vintage`, `csv_line`, `csv_column`. Raises ImtsLayoutError naming the file and every layout
    problem found (see read_series).
    """
    path = Path(path)
    sha256 = sha256 or file_sha256(path)
    series, years = read_series(path)
    order = {y: i for i, y in enumerate(years)}
    number = pl.col("cell_text").str.contains(NUMBER_TEXT)
    return (
        series.unpivot(
            on=years, index=["csv_line", *SERIES_COLUMNS], variable_name="csv_column", value_name="cell_text"
        )
        .filter(pl.col("cell_text") != "")
        .sort(pl.col("csv_line"), pl.col("csv_column").replace_strict(order, return_dtype=pl.Int32))
        .select(
            source_file=pl.lit(path.name),
            file_sha256=pl.lit(sha256),
            vintage=pl.lit(vintage, dtype=pl.Date),
            csv_line="csv_line",
            csv_column="csv_column",
            series_no=pl.lit(None, dtype=pl.Int32),
            obs_no=pl.lit(None, dtype=pl.Int32),
            time_period="csv_column",
            year=pl.col("csv_column").cast(pl.Int16),
            quarter=pl.lit(None, dtype=pl.Int8),
            month=pl.lit(None, dtype=pl.Int8),
            dataset="DATASET",
            series_code="SERIES_CODE",
            reporter_code="COUNTRY.ID",
            reporter_name=pl.col("COUNTRY").replace("", None),
            indicator="INDICATOR.ID",
            counterpart_code="COUNTERPART_COUNTRY.ID",
            counterpart_name=pl.col("COUNTERPART_COUNTRY").replace("", None),
            frequency="FREQUENCY.ID",
            scale=pl.col("SCALE.ID").cast(pl.Int16),
            unit_exponent=pl.col("SCALE.ID").cast(pl.Int16),
            derivation_type=pl.lit(None, dtype=pl.String),
            cell_text="cell_text",
            value=pl.when(number).then(pl.col("cell_text").str.strip_chars().cast(pl.Float64, strict=False)),
            parse_error=pl.when(~number).then(pl.format("value text '{}' is not a number", pl.col("cell_text"))),
        )
        .cast(RAW_SCHEMA)
    )


def read_answer(path: Path, vintage: date, sha256: str | None = None) -> pl.DataFrame:
    """Read one saved api.imf.org SDMX 3.0 answer (sources/imf_imts/live.py) into the same raw rows
    as a CSV export: one row per observation, in document order.

    Shape: RAW_SCHEMA columns; lineage `series_no`, `obs_no` (no CSV line or column); `cell_text`
    OBS_VALUE as published; `value` in US dollars (unit_exponent 0: the answer's OBS_VALUE is in US
    dollars, its SCALE only the display scale), null where OBS_VALUE is not a number
    (`parse_error`); `dataset` IMF.STA:IMTS; `series_code` the series key. Raises
    sdmx.ImfAnswerError (a FileLayoutError) naming the file and every problem found; only the
    indicators and frequencies this source loads (INDICATORS; A, Q, M) are accepted.
    """
    from tradewh.sources.imf_sdmx import ImfAnswerError, read_sdmx3

    path = Path(path)
    if plain := plain_unreadable(path):
        raise ImfAnswerError(path, [plain])
    sha256 = sha256 or file_sha256(path)
    obs = read_sdmx3(path)
    problems = [
        f"series {s}: INDICATOR {i!r} is no flow this source loads (expected {' or '.join(INDICATORS)})"
        for s, i in obs.filter(~pl.col("indicator").is_in(list(INDICATORS)))
        .select("series", "indicator")
        .unique(maintain_order=True)
        .rows()
    ]
    if problems:
        raise ImfAnswerError(path, problems)
    return obs.select(
        source_file=pl.lit(path.name),
        file_sha256=pl.lit(sha256),
        vintage=pl.lit(vintage, dtype=pl.Date),
        csv_line=pl.lit(None, dtype=pl.Int32),
        csv_column=pl.lit(None, dtype=pl.String),
        series_no="series",
        obs_no="obs",
        time_period="time_period",
        year="year",
        quarter="quarter",
        month="month",
        dataset=pl.lit(ANSWER_DATASET),
        series_code=pl.concat_str("reporter_code", "indicator", "counterpart_code", "frequency", separator="."),
        reporter_code="reporter_code",
        reporter_name=pl.lit(None, dtype=pl.String),
        indicator="indicator",
        counterpart_code="counterpart_code",
        counterpart_name=pl.lit(None, dtype=pl.String),
        frequency="frequency",
        scale="scale",
        unit_exponent=pl.lit(0, dtype=pl.Int16),
        derivation_type="derivation_type",
        cell_text="obs_value",
        value="value_usd",
        parse_error="parse_error",
    ).cast(RAW_SCHEMA)
