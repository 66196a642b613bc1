"""IMF Direction of Trade Statistics (DOTS) Excel workbooks, behind the source contract.

One workbook per reporter (cell B4), two sheets (Exports, FOB -> X; Imports, CIF -> M), partners
by IMF name in rows, years in columns, US$ millions; the reader is `workbook.py`, the name
crosswalk `crosswalk.csv` (built by `crosswalk_build.py` from `crosswalk_overrides.csv`).
Releases: a row of the folder's RELEASES.csv, required (`workbook.resolve_vintage`): the export time
the IMF's system stamped in the workbook (`workbook.generated_at`) is only a hint in the message.

The same series also come as archived answers of the retired DOTS web service (CompactData JSON,
`answer.py`): each needs its FETCHED.csv row (release_kind fetched, the day it was fetched) and is a
release of scope 'observation' (it replaces only the observations it holds), while a workbook's
release replaces every partner of its reporter, flow and year.
"""

from pathlib import Path

import polars as pl

from tradewh.sources.contract import (
    FileLayoutError,
    InputFile,
    Source,
    SourceInfo,
    canonical_period,
    declared_release,
    file_sha256,
    read_fetched,
)
from tradewh.sources.imf_dots import answer, workbook

HERE = Path(__file__).parent
UNIT_MULTIPLIER = 1_000_000  # US$ millions -> US dollars


class ImfDots(Source):
    info = SourceInfo(
        name="imf_dots",
        title="IMF Direction of Trade Statistics (DOTS), Excel exports",
        publisher="International Monetary Fund",
        unit="US$ millions",
        coverage="every reporter in the world (countries, former countries, IMF aggregates), 1960-2020",
        releases="RELEASES.csv row per workbook, required (bundled: one download of the weekly release, 2022-02-20); "
        "an archived answer of the retired web service: the day it was fetched (FETCHED.csv, release_kind fetched)",
        licence="IMF terms of use: free reuse with attribution",
        url="https://data.imf.org (legacy DOTS report 'Exports and Imports by Areas and Countries')",
    )
    raw_table = workbook.RAW_TABLE
    release_scope = "reporter"
    precedence = 10  # every reporter of the world, both sides: the most complete source to 2020
    code_columns = ("reporter_name", "partner_name")
    value_column = "value"
    crosswalk_path = HERE / "crosswalk.csv"
    file_suffixes = (".xlsx", ".json")
    file_noun = "workbooks or archived answers"
    raw_rows = "non-empty data cells read from the workbooks (and observations of archived answers)"
    batch = 20  # workbooks turned into columns at once: fewer per-frame costs, and threads still overlap
    low_cardinality = (
        "source_file",
        "file_sha256",
        "sheet",
        "flow",
        "valuation",
        "reporter_name",
        "partner_name",
        "unit",
        "excel_col",
        "series_code",
        "frequency",
    )

    def input_files(self, folder: Path) -> tuple[list[InputFile], list[str], list[FileLayoutError]]:
        """A workbook needs its RELEASES.csv row (workbook.resolve_vintage), an archived answer (.json)
        its FETCHED.csv row or a RELEASES.csv row (contract.declared_release): a file without one is an
        error naming it."""
        paths, skipped = self.input_paths(folder)
        releases = workbook.read_releases(folder)
        fetched = read_fetched(folder)
        files, errors = [], []
        for path in paths:
            sha = file_sha256(path)
            if _is_answer(path.name):
                found = declared_release(folder, path, sha, releases, fetched)
                (errors if isinstance(found, FileLayoutError) else files).append(found)
                continue
            try:
                vintage = workbook.resolve_vintage(path, sha, releases)
            except workbook.WorkbookLayoutError as exc:
                errors.append(exc)
                continue
            files.append(InputFile(path, sha, vintage, releases[sha].kind))
        return files, skipped, errors

    def release_scope_of(self, source_file: str) -> str:
        """'observation' for an archived answer (a query for some counterparts), else 'reporter'."""
        return "observation" if _is_answer(source_file) else self.release_scope

    def location(self) -> pl.Expr:
        return (
            pl.when(pl.col("sheet").is_not_null())
            .then(pl.format("sheet '{}' cell {}", pl.col("sheet"), pl.col("cell")))
            .otherwise(
                pl.format(
                    "series {} {}, observation {}", pl.col("series_no"), pl.col("series_code"), pl.col("time_period")
                )
            )
        )

    def parser_fingerprint(self) -> str:
        return workbook.parser_fingerprint()

    def parse(self, files: list[InputFile]) -> tuple[dict[InputFile, pl.DataFrame], list[FileLayoutError]]:
        """Scan each workbook (`workbook.scan_workbook`), then turn the batch into columns at once
        (`workbook.cells_frame`) and split it per file; read each archived answer with
        `answer.read_answer`."""
        scanned, answers, errors = [], {}, []
        for f in files:
            try:
                if _is_answer(f.name):
                    answers[f] = answer.read_answer(f.path, f.vintage, f.sha256)
                else:
                    scanned.append((f, workbook.scan_workbook(f.path, f.vintage, f.sha256)))
            except FileLayoutError as exc:
                errors.append(exc)
        if errors:
            return {}, errors
        frames: dict[InputFile, pl.DataFrame] = {}
        if scanned:
            cells = workbook.cells_frame([w for _, w in scanned])
            cells = cells.with_columns(pl.col(list(self.low_cardinality)).cast(pl.Categorical))  # once per batch
            parts = cells.partition_by("source_file", "file_sha256", maintain_order=True, as_dict=True)
            frames = {f: parts.get((w.source_file, w.sha256), cells.clear()) for f, w in scanned}
        frames.update(answers)  # their low-cardinality columns become Categorical at staging (warehouse.ingest)
        return {f: frames[f] for f in files}, []

    def to_canonical(self, mapped: pl.LazyFrame) -> pl.LazyFrame:
        """Values from US$ millions to US dollars (x 1e6, to the cent); the period annual for a
        workbook cell, from the frequency for an answer (A 2020, Q 2020Q1, M 202001); quarantined:
        text that is not a number (Excel error cells and uncached formulas included), a value in a
        row without a partner name, a value not finite in US dollars."""
        value_usd = pl.col("value") * UNIT_MULTIPLIER
        frequency = pl.coalesce(pl.col("frequency").cast(pl.String), pl.lit("A"))  # a workbook's years are annual
        reason = (
            pl.when(pl.col("parse_error").is_not_null())
            .then(pl.lit("unparseable_value"))
            .when(pl.col("partner_name").is_null())
            .then(pl.lit("missing_partner"))
            .when(~value_usd.is_finite())
            .then(pl.lit("non_finite_value"))
        )
        return mapped.with_columns(reason=reason).with_columns(
            detail=pl.when(pl.col("reason") == "unparseable_value")
            .then(pl.col("parse_error"))
            .when(pl.col("reason") == "missing_partner")
            .then(
                pl.format(
                    "value {} in row {} has no partner name in column B", pl.col("cell_text"), pl.col("excel_row")
                )
            )
            .when(pl.col("reason") == "non_finite_value")
            .then(pl.format("value {} (US$ millions) is not finite in US dollars", pl.col("cell_text"))),
            source=pl.lit(self.name),
            freq=frequency,
            period=canonical_period(frequency, pl.col("year"), month=pl.col("month"), quarter=pl.col("quarter")),
            month=pl.col("month").cast(pl.Int8),
            cmd_code=pl.lit("TOTAL"),
            # to the cent: millions x 1e6 in binary floats leaves noise below it (1045.330002 -> 1045330001.9999999)
            value_usd=value_usd.round(2),
            original_value=pl.col("value"),
            original_unit=pl.col("unit"),
            original_currency=pl.lit("USD"),
            usd_per_unit=pl.lit(1.0),
            usd_rate_source=pl.lit(None, dtype=pl.String),
            is_negative=pl.col("value") < 0,
            derivation=pl.lit(None, dtype=pl.String),
            source_sheet=pl.col("sheet"),
            source_cell=pl.col("cell"),
        )


def _is_answer(name: str) -> bool:
    """Whether an input file is an archived web-service answer (.json) rather than a workbook."""
    return name.lower().endswith(".json")


SOURCE = ImfDots()
