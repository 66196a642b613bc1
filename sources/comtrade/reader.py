"""UN Comtrade+ final data records (v1 `data/v1/get`, totals and HS products) -> raw rows, one per data record.

Source: the UN Statistics Division's UN Comtrade+ database (comtradeapi.un.org), as the v1 API
returns records and as users save them (data/comtrade/PROVENANCE.md). Values (`primaryValue`) are
US dollars (not thousands, not millions): FOB for exports, CIF for imports.

Three layouts, told apart by the file's header or content, never by its name:

    v1_csv_camel  CSV with the API's camelCase column names (a subset of them will do), e.g. the
                  13-column extract freqCode, refPeriodId, refYear, refMonth, reporterCode,
                  reporterISO, reporterDesc, flowDesc, partnerCode, partnerISO, partnerDesc, cmdDesc,
                  primaryValue (no flowCode, no cmdCode: the flow and product are read from their
                  descriptions downstream)
    v1_csv_snake  CSV with the snake_case names the comtradr R package writes (47 columns:
                  type_code, freq_code, ..., partner2code, ..., primary_value, is_reported, is_aggregate),
                  or a subset of them, e.g. the 9-column product extract reporter_iso, reporter_desc,
                  flow_desc, partner_iso, partner_desc, cmd_code, cmd_desc, primary_value, ref_year
                  (no numeric codes: the ISO3 is mapped; no freq_code or month: a year is annual;
                  no classification_code: the release declares it, RELEASES.csv)
    v1_json       the API's JSON answer: {"elapsedTime", "count", "data": [record, ...], "error"}

A CSV file may be gzip-compressed (.csv.gz). Columns a layout lacks are null. Codes are kept as
published: reporterCode/partnerCode as integers, ISO and other code columns as text, never read
as missing values (Namibia's ISO2 is "NA").
A `primaryValue` that is not a number is kept with a `parse_error` (quarantined downstream, never
dropped). Everything else that is not as a layout requires (unknown layout, missing columns, a JSON
answer with an error or a count that differs from its records, a code or year that is not an
integer, a flag that is not true/false, product records with no HS revision stated or declared)
raises `ComtradeLayoutError`, naming the file and every problem found. No Dagster or DuckDB here.
"""

import csv
import gzip
import io
import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from tradewh.sources.contract import FileLayoutError, file_sha256, plain_unreadable
from tradewh.warehouse.tables import Column as C
from tradewh.warehouse.tables import Table, polars_schema

RAW_TABLE = Table(
    "raw",
    "comtrade_records",
    "Every data record of every UN Comtrade+ file ingested (final data: commodity totals and HS products), as "
    "published. Grain: one record (file x CSV line, or file x index in the JSON answer's data[]). Source: UN "
    "Comtrade+ v1 records (UN Statistics Division), as CSV extracts (plain or gzip) or raw API answers. Unit: US "
    "dollars (primaryValue). A view that "
    "reads the raw store's Parquet files in place (the files in meta.raw_files, under TRADEWH_HOME/raw/comtrade/): "
    "the records are not copied into the warehouse file, so this view needs the raw store beside it.",
    (
        C("raw_id", "BIGINT", "Row id within this build of the warehouse (lineage key for canonical rows).", False),
        C("source_file", "VARCHAR", "File name as received.", False),
        C("file_sha256", "VARCHAR", "SHA-256 of the file: identifies the exact file version.", False),
        C("vintage", "DATE", "Release the file belongs to (its RELEASES.csv row; docs/releases.md).", False),
        C(
            "file_layout",
            "VARCHAR",
            "Layout the file was read as: v1_csv_camel (CSV with the API's camelCase "
            "names), v1_csv_snake (CSV with comtradr's snake_case names) or v1_json (the API's JSON answer).",
            False,
        ),
        C(
            "record",
            "INTEGER",
            "Where the record is in its file: the CSV line number where it starts (header = "
            "line 1; of the decompressed text for a .csv.gz), or its index in the JSON answer's data[] (from 0).",
            False,
        ),
        C(
            "freq_code",
            "VARCHAR",
            "freqCode as published: A annual, M monthly; NULL if the layout lacks it (a record with a year and "
            "no month or period is then annual).",
        ),
        C("ref_year", "SMALLINT", "refYear: the year of the period.", False),
        C("ref_month", "SMALLINT", "refMonth: 1-12 for a month, 52 for a whole year; NULL if the layout lacks it."),
        C("period", "VARCHAR", "period as published (YYYY or YYYYMM); NULL if the layout lacks it."),
        C(
            "reporter_code",
            "INTEGER",
            "reporterCode: Comtrade's numeric reporter code (not always M49: USA 842, "
            "France 251, India 699); mapped to an entity by sources/comtrade/crosswalk.csv. NULL if the layout "
            "lacks it (reporterISO is then mapped).",
        ),
        C(
            "reporter_iso",
            "VARCHAR",
            "reporterISO as published (text: Comtrade's pseudo-codes such as S19 too); NULL if the layout lacks it.",
        ),
        C("reporter_desc", "VARCHAR", "reporterDesc: the reporter's name as published; NULL if the layout lacks it."),
        C("flow_code", "VARCHAR", "flowCode as published (X, M, RX, RM, ...); NULL if the layout lacks it."),
        C(
            "flow_desc",
            "VARCHAR",
            "flowDesc as published (Export, Import, Re-export, Re-import); NULL if the layout lacks it.",
        ),
        C(
            "partner_code",
            "INTEGER",
            "partnerCode: Comtrade's numeric partner code (0 = World); mapped by the crosswalk. NULL if the "
            "layout lacks it (partnerISO is then mapped).",
        ),
        C("partner_iso", "VARCHAR", "partnerISO as published (text: W00, X1, _X, ...); NULL if the layout lacks it."),
        C("partner_desc", "VARCHAR", "partnerDesc: the partner's name as published; NULL if the layout lacks it."),
        C(
            "partner2_code",
            "INTEGER",
            "partner2Code: second partner (0 = none, the bilateral total); NULL if the layout lacks it.",
        ),
        C(
            "customs_code",
            "VARCHAR",
            "customsCode as published (C00 = all customs procedures); NULL if the layout lacks it.",
        ),
        C("mot_code", "INTEGER", "motCode: mode of transport (0 = all modes); NULL if the layout lacks it."),
        C(
            "classification_code",
            "VARCHAR",
            "classificationCode as published (H3 = HS 2007 as reported, ...); NULL if the layout lacks it.",
        ),
        C("cmd_code", "VARCHAR", "cmdCode as published (TOTAL = all commodities); NULL if the layout lacks it."),
        C(
            "cmd_desc",
            "VARCHAR",
            "cmdDesc as published ('All Commodities' for the total); NULL if the layout lacks it.",
        ),
        C(
            "is_aggregate",
            "BOOLEAN",
            "isAggregate: the value was aggregated by UNSD from more detailed records; NULL if the layout lacks it.",
        ),
        C(
            "is_reported",
            "BOOLEAN",
            "isReported: the record is as the reporter reported it; NULL if the layout lacks it.",
        ),
        C(
            "primary_value_text",
            "VARCHAR",
            "primaryValue as published (the JSON number's literal text); NULL if the record has none.",
        ),
        C("primary_value", "DOUBLE", "primaryValue in US dollars; NULL if the text is not a number (see parse_error)."),
        C("parse_error", "VARCHAR", "Why primaryValue could not be read as a number; NULL when it was."),
        C(
            "declared_classification",
            "VARCHAR",
            "The HS revision the file's release declares (RELEASES.csv classification) for a file whose records "
            "state none; NULL otherwise.",
        ),
        C(
            "reporter_key",
            "VARCHAR",
            "What the crosswalk maps (derived): reporterCode as text, or reporterISO without its spaces where the "
            "layout has no reporterCode.",
            False,
        ),
        C("partner_key", "VARCHAR", "The same for the partner: partnerCode as text, else partnerISO.", False),
    ),
    kind="view",
)
# The columns of one raw-store Parquet file (raw_id is numbered when a build reads the files).
RAW_SCHEMA = polars_schema(RAW_TABLE, without=("raw_id",))

LAYOUT_CAMEL, LAYOUT_SNAKE, LAYOUT_JSON = "v1_csv_camel", "v1_csv_snake", "v1_json"


@dataclass(frozen=True)
class Field:
    """One raw column read from the records: its name in the API's camelCase records and in
    comtradr's snake_case CSVs, and how its text is read."""

    column: str
    camel: str
    snake: tuple[str, ...]
    kind: str  # text, int, bool or value


FIELDS = (
    Field("freq_code", "freqCode", ("freq_code",), "text"),
    Field("ref_year", "refYear", ("ref_year",), "int"),
    Field("ref_month", "refMonth", ("ref_month",), "int"),
    Field("period", "period", ("period",), "text"),
    Field("reporter_code", "reporterCode", ("reporter_code",), "int"),
    Field("reporter_iso", "reporterISO", ("reporter_iso",), "text"),
    Field("reporter_desc", "reporterDesc", ("reporter_desc",), "text"),
    Field("flow_code", "flowCode", ("flow_code",), "text"),
    Field("flow_desc", "flowDesc", ("flow_desc",), "text"),
    Field("partner_code", "partnerCode", ("partner_code",), "int"),
    Field("partner_iso", "partnerISO", ("partner_iso",), "text"),
    Field("partner_desc", "partnerDesc", ("partner_desc",), "text"),
    Field("partner2_code", "partner2Code", ("partner2code", "partner2_code"), "int"),  # comtradr: partner2code
    Field("customs_code", "customsCode", ("customs_code",), "text"),
    Field("mot_code", "motCode", ("mot_code",), "int"),
    Field("classification_code", "classificationCode", ("classification_code",), "text"),
    Field("cmd_code", "cmdCode", ("cmd_code",), "text"),
    Field("cmd_desc", "cmdDesc", ("cmd_desc",), "text"),
    Field("is_aggregate", "isAggregate", ("is_aggregate",), "bool"),
    Field("is_reported", "isReported", ("is_reported",), "bool"),
    Field("primary_value_text", "primaryValue", ("primary_value",), "value"),
)
BY_COLUMN = {f.column: f for f in FIELDS}
# Columns every record must have (a value in each record), and pairs of which one must be present.
REQUIRED = ("ref_year", "primary_value_text")
# one of each pair; a code column the layout has must have a value in every record (an ISO or a
# description is the fallback of a layout without the code column, never of an empty code)
ONE_OF = (
    ("flow_code", "flow_desc"),
    ("cmd_code", "cmd_desc"),
    ("reporter_code", "reporter_iso"),
    ("partner_code", "partner_iso"),
)
NOT_EMPTY = ("freq_code", "reporter_code", "partner_code")
INT_RANGE = {"ref_year": (0, 9999), "ref_month": (0, 99)}  # SMALLINT columns; the other int columns are INTEGER
INT32 = (-(2**31), 2**31 - 1)

# A published number: optional sign, ASCII digits with optional decimals, optional exponent.
# [0-9], not \d: \d also matches other scripts' digits, which float() would accept.
_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
_INTEGER = re.compile(r"^[+-]?[0-9]+(?:\.0*)?$")  # 842 or 842.0 (a float column written by another program)
_BOOLS = {"true": True, "false": False}
EXAMPLES = 5  # locations shown per problem


class ComtradeLayoutError(FileLayoutError):
    """A file is not in one of the UN Comtrade+ record layouts; `problems` lists every deviation found."""

    def __init__(self, path: Path | str, problems: list[str]):
        super().__init__(path, problems, what="a UN Comtrade+ records file (v1 CSV or JSON answer)")


class _JsonNumber(str):
    """A JSON number kept as its literal text (the value as published, e.g. "6804128143.0")."""


@dataclass
class Records:
    """A file's data records as text, before typing: {raw column: [text or None per record]} for the
    columns the layout has, the record locations, and the published name of the value column."""

    layout: str
    columns: dict[str, list[str | None]]
    locations: list[int]
    names: dict[str, str]  # raw column -> its name in the file (for messages and lineage)

    @property
    def value_name(self) -> str:
        return self.names["primary_value_text"]

    def where(self, i: int) -> str:
        return f"data[{self.locations[i]}]" if self.layout == LAYOUT_JSON else f"line {self.locations[i]}"


def parse_value(text: str | None, name: str = "primaryValue") -> tuple[float | None, str | None]:
    """A published value as text -> (US dollars, None), or (None, why it is not a number).

    Accepts plain decimal numbers with an optional sign and exponent ("33743790442.26", "1.5e9");
    "1e400" parses to infinity (not finite: quarantined downstream). Empty or missing text, "NaN",
    "Inf", thousands separators and other scripts' digits are not numbers.
    """
    if text is None or not text.strip():
        return None, f"{name} is empty"
    if not _NUMBER.match(text.strip()):
        return None, f"{name} {text!r} is not a number"
    return float(text.strip()), None


def read_records(path: Path) -> Records:
    """Detect a file's layout and read its data records as text (see the module docstring).

    Raises ComtradeLayoutError naming the file and every layout problem found.
    """
    path = Path(path)
    if plain := plain_unreadable(path):
        raise ComtradeLayoutError(path, [plain])
    raw = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError; a cut-short file an EOFError
            raise ComtradeLayoutError(path, [f"not a complete gzip file ({exc})"]) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ComtradeLayoutError(path, [f"not UTF-8 text ({exc})"]) from exc
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("{", "[")):
        return _json_records(path, text)
    return _csv_records(path, text)


def _csv_records(path: Path, text: str) -> Records:
    rows = csv.reader(io.StringIO(text, newline=""))  # lines end at \n, \r\n or \r only, as csv expects
    try:
        header = next(rows)
    except StopIteration:
        raise ComtradeLayoutError(path, ["empty file: no header"]) from None
    except csv.Error as exc:
        raise ComtradeLayoutError(path, [f"line 1: not CSV ({exc})"]) from exc
    if "primaryValue" in header:
        layout = LAYOUT_CAMEL
        names = {f.column: (f.camel,) for f in FIELDS}
    elif "primary_value" in header:
        layout = LAYOUT_SNAKE
        names = {f.column: f.snake for f in FIELDS}
    else:
        shown = ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")
        raise ComtradeLayoutError(
            path,
            [
                "unknown layout: the header has neither primaryValue (UN Comtrade v1 camelCase records) nor "
                f"primary_value (comtradr snake_case records); found {shown}"
            ],
        )
    problems = []
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        problems.append(f"line 1: column(s) named twice: {', '.join(twice)}")
    index = {}
    for column, candidates in names.items():
        found = [header.index(n) for n in candidates if n in header]
        if found:
            index[column] = found[0]
    problems += _missing(index.keys(), {c: names[c][0] for c in names})
    if problems:
        raise ComtradeLayoutError(path, problems)
    published = {c: header[i] for c, i in index.items()}
    fast = _polars_columns(text, header, index)
    if fast is not None:
        return Records(layout, fast, list(range(2, 2 + len(next(iter(fast.values()))))), published)
    columns: dict[str, list[str | None]] = {c: [] for c in index}
    locations: list[int] = []
    wrong_width: list[str] = []
    line = rows.line_num  # lines read so far (the header's); a record starts on the line after them
    try:
        for row in rows:
            start = line + 1
            line = rows.line_num
            if not row:
                continue  # a blank line is no record
            if len(row) != len(header):
                wrong_width.append(f"line {start} ({len(row)})")
                continue
            locations.append(start)
            for column, i in index.items():
                columns[column].append(row[i] if row[i] != "" else None)
    except csv.Error as exc:
        raise ComtradeLayoutError(path, [f"line {rows.line_num}: not CSV ({exc})"]) from exc
    if wrong_width:
        problems.append(
            f"{len(wrong_width)} line(s) without the header's {len(header)} fields: " + _examples(wrong_width)
        )
    if problems:
        raise ComtradeLayoutError(path, problems)
    return Records(layout, columns, locations, published)


def _polars_columns(text: str, header: list[str], index: dict[str, int]) -> dict[str, pl.Series] | None:
    """The columns of `index` read by Polars' CSV reader, all as text (empty -> null), when the file is
    plainly one record of the header's width per line: then record k starts on line k + 2, as the
    csv module counts. The csv module checks that shape first (Polars pads a short line with nulls
    rather than refusing it); it only counts fields here, which is what makes this path fast. None
    otherwise (a field spanning lines, a blank line, a line of another width, text either reader
    cannot read): the csv module's path then reads the file and says what is wrong."""
    rows = csv.reader(io.StringIO(text, newline=""))
    records = 0
    try:
        next(rows)
        for row in rows:
            if len(row) != len(header):
                return None
            records += 1
    except csv.Error:
        return None
    if rows.line_num != records + 1:  # a field spanning lines
        return None
    try:
        frame = pl.read_csv(io.BytesIO(text.encode()), infer_schema=False, has_header=True)
    except pl.exceptions.PolarsError:
        return None
    if frame.width != len(header) or frame.height != records:
        return None
    return {c: frame.to_series(i) for c, i in index.items()}


def _json_records(path: Path, text: str) -> Records:
    try:
        answer = json.loads(text, parse_float=_JsonNumber, parse_int=_JsonNumber)
    except json.JSONDecodeError as exc:
        raise ComtradeLayoutError(path, [f"not JSON ({exc})"]) from exc
    if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
        keys = ", ".join(map(str, answer)) if isinstance(answer, dict) else type(answer).__name__
        raise ComtradeLayoutError(
            path, [f"unknown layout: expected a v1 answer {{elapsedTime, count, data: [...], error}}, found {keys}"]
        )
    data = answer["data"]
    problems = []
    error = answer.get("error")
    if error not in (None, ""):
        problems.append(f"the answer carries an error: {error!r}")
    count = answer.get("count")
    if count is None:
        problems.append("the answer has no count: a truncated answer could not be told from a complete one")
    elif not isinstance(count, _JsonNumber) or not _INTEGER.match(count) or int(float(count)) != len(data):
        shown = count if isinstance(count, _JsonNumber) else repr(count)
        problems.append(f"count {shown} differs from the {len(data)} records in data[] (a truncated or altered answer)")
    not_objects = [f"data[{i}]" for i, r in enumerate(data) if not isinstance(r, dict)]
    if not_objects:
        problems.append(f"{len(not_objects)} record(s) are not JSON objects: {_examples(not_objects)}")
        raise ComtradeLayoutError(path, problems)
    present = {f.column for f in FIELDS if any(f.camel in r for r in data)}
    if data:
        problems += _missing(present, {f.column: f.camel for f in FIELDS})
        for column in (*REQUIRED, *NOT_EMPTY):
            lacking = [f"data[{i}]" for i, r in enumerate(data) if BY_COLUMN[column].camel not in r]
            if column in present and lacking:
                problems.append(f"{len(lacking)} record(s) lack {BY_COLUMN[column].camel}: {_examples(lacking)}")
    columns: dict[str, list[str | None]] = {}
    for column in sorted(present):
        name = BY_COLUMN[column].camel
        values, nested = [], []
        for i, r in enumerate(data):
            v = r.get(name)
            if isinstance(v, (dict, list)):
                nested.append(f"data[{i}]")
                v = None
            values.append(_json_text(v))
        if nested:
            problems.append(f"{name}: not a single value in {len(nested)} record(s): {_examples(nested)}")
        columns[column] = values
    if problems:
        raise ComtradeLayoutError(path, problems)
    return Records(LAYOUT_JSON, columns, list(range(len(data))), {f.column: f.camel for f in FIELDS})


def _json_text(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return None if str(v) == "" else str(v)


def _missing(present, names: dict[str, str]) -> list[str]:
    """Problems for required columns (and one-of pairs) absent from `present`, by published name."""
    missing = [names[c] for c in REQUIRED if c not in present]
    missing += [f"{names[a]} or {names[b]}" for a, b in ONE_OF if a not in present and b not in present]
    return [f"missing column(s): {', '.join(missing)}"] if missing else []


def _examples(where: list[str]) -> str:
    return ", ".join(where[:EXAMPLES]) + (f" and {len(where) - EXAMPLES} more" if len(where) > EXAMPLES else "")


def records_frame(
    path: Path, vintage: date, sha256: str | None = None, declared_classification: str | None = None
) -> pl.DataFrame:
    """Read one UN Comtrade+ file (.csv, .csv.gz or .json) into raw rows, one per data record, in file order.

    Shape: RAW_SCHEMA columns (see RAW_TABLE); `primary_value` in US dollars as published (None where
    the text is not a number, with `parse_error` saying why); columns the layout lacks are null.
    `declared_classification`: the HS revision the file's release declares (RELEASES.csv), for a file
    whose records state none. Raises ComtradeLayoutError naming the file and every problem: unknown
    layout, missing columns, a JSON answer with an error or a count that differs from its records,
    codes, years or flags that are not integers / true-false (or an empty code), and product records
    with no HS revision, stated or declared.
    """
    path = Path(path)
    sha256 = sha256 or file_sha256(path)
    records = read_records(path)
    n = len(records.locations)
    # Typed column by column in Polars (a product file has 10^5-10^7 records); where a problem is
    # found, its first EXAMPLES locations are shown.
    typed: dict[str, pl.Series] = {}
    problems: list[str] = []

    def nulls(dtype: pl.DataType) -> pl.Series:
        return pl.repeat(None, n, dtype=dtype, eager=True)

    def shown(mask: pl.Series, texts: pl.Series | None = None) -> str:
        """The count of `mask` and its first locations (with the text as published, if given)."""
        at = pl.Series(records.locations, dtype=pl.Int64).filter(mask).cast(pl.String)
        places = ("data[" + at + "]") if records.layout == LAYOUT_JSON else ("line " + at)  # as Records.where
        head = places.head(EXAMPLES).to_list()
        if texts is not None:
            head = [f"{w} {t!r}" for w, t in zip(head, texts.filter(mask).head(EXAMPLES).to_list())]
        return (
            f"{places.len()} record(s): "
            + ", ".join(head)
            + (f" and {places.len() - EXAMPLES} more" if places.len() > EXAMPLES else "")
        )

    for f in FIELDS:
        texts = records.columns.get(f.column)
        name = records.names.get(f.column, f.camel)
        if texts is None:  # a column the layout lacks (a required one only in an answer without records)
            absent = (f.column, "primary_value", "parse_error") if f.kind == "value" else (f.column,)
            typed.update({c: nulls(RAW_SCHEMA[c]) for c in absent})
            continue
        text = pl.Series(f.column, texts, dtype=pl.String)
        stripped = text.str.strip_chars()
        blank = text.is_null() | (stripped == "")
        if (f.column in REQUIRED or f.column in NOT_EMPTY) and f.kind != "value" and blank.any():
            # an empty value is kept and quarantined, an empty code is not
            problems.append(f"{name}: empty in {shown(blank)}")
        if f.kind == "int":
            low, high = INT_RANGE.get(f.column, INT32)
            number = stripped.cast(pl.Float64, strict=False)
            ok = stripped.str.contains(_INTEGER.pattern) & number.is_between(low, high)
            bad = ~blank & ~ok.fill_null(False)
            if bad.any():
                problems.append(f"{name}: not an integer in {shown(bad, text)}")
            typed[f.column] = number.zip_with(~blank & ~bad, nulls(pl.Float64)).cast(RAW_SCHEMA[f.column])
        elif f.kind == "bool":
            lowered = stripped.str.to_lowercase()
            bad = ~blank & ~lowered.is_in(list(_BOOLS)).fill_null(False)
            if bad.any():
                problems.append(f"{name}: not true/false in {shown(bad, text)}")
            typed[f.column] = lowered.replace_strict(_BOOLS, default=None, return_dtype=pl.Boolean)
        elif f.kind == "value":
            number_ok = stripped.str.contains(_NUMBER.pattern).fill_null(False)
            typed["primary_value_text"] = text
            typed["primary_value"] = stripped.cast(pl.Float64, strict=False).zip_with(number_ok, nulls(pl.Float64))
            failed = (~number_ok).arg_true()  # few in practice: parse_value says why, as for one value
            typed["parse_error"] = nulls(pl.String).scatter(
                failed, pl.Series([parse_value(texts[i], name)[1] for i in failed.to_list()], dtype=pl.String)
            )
        else:
            typed[f.column] = text
    cmd = typed["cmd_code"].str.strip_chars()
    products = cmd.is_not_null() & (cmd != "TOTAL") & typed["classification_code"].is_null()
    if declared_classification is None and products.any():
        problems.append(
            "product records state no HS revision (classificationCode), and the file's "
            f"RELEASES.csv row declares none: add its classification (H0-H6, or HS as reported): {shown(products)}"
        )
    keys = {}
    for role in ("reporter", "partner"):
        iso = typed[f"{role}_iso"].str.strip_chars()
        keys[role] = (
            typed[f"{role}_code"]
            .cast(pl.String)
            .zip_with(typed[f"{role}_code"].is_not_null(), iso.zip_with(iso != "", nulls(pl.String)))
        )
        lacking = keys[role].is_null()
        if lacking.any():
            name = records.names.get(f"{role}_iso", f"{role}ISO")
            problems.append(f"{name}: empty in {shown(lacking)}, which have no code either")
    if problems:
        raise ComtradeLayoutError(path, problems)
    return _frame(path.name, sha256, vintage, records, typed, declared_classification, keys, n)


def _frame(
    name: str, sha256: str, vintage: date, records: Records, typed: dict, declared: str | None, keys: dict, n: int
) -> pl.DataFrame:
    """The raw rows of one file from its typed columns (RAW_SCHEMA, in order)."""
    constant = {
        "source_file": name,
        "file_sha256": sha256,
        "vintage": vintage,
        "file_layout": records.layout,
        "declared_classification": declared,
    }
    columns = {
        **{c: pl.repeat(v, n, dtype=RAW_SCHEMA[c], eager=True) for c, v in constant.items()},
        "record": pl.Series(records.locations, dtype=RAW_SCHEMA["record"]),
        **typed,
        "reporter_key": keys["reporter"],
        "partner_key": keys["partner"],
    }
    return pl.DataFrame([columns[c].rename(c).cast(RAW_SCHEMA[c]) for c in RAW_SCHEMA])
