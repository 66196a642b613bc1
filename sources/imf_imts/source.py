"""IMF International Trade in Goods (IMTS) data-portal CSV exports, behind the source contract.

One series per CSV line (reporter COUNTRY.ID x INDICATOR.ID x COUNTERPART_COUNTRY.ID x FREQUENCY.ID),
one column per year, values in 10^SCALE.ID US dollars (6 = millions); the reader is `reader.py`,
the code crosswalk `crosswalk.csv` (built by `crosswalk_build.py` from `crosswalk_overrides.csv`),
the rules for values that are not the reporter's own report `derivations.csv`.
Releases: the export states no publication date, so every file needs a row in its folder's
RELEASES.csv (the bundled file: retrieved by 2026-05-09, release_kind retrieved_by).

The same series also come from the live service, api.imf.org (SDMX 3.0): `live.py` fetches an
answer into the input folder with its FETCHED.csv row (release_kind fetched: the day it was
fetched), `reader.read_answer` reads it (`sources/imf_sdmx.py`) into the same raw rows, so both transports give
the same canonical rows.
"""

import csv
from pathlib import Path

import polars as pl

from tradewh.sources.contract import (
    FileLayoutError,
    InputFile,
    Source,
    SourceInfo,
    canonical_period,
    declared_input_files,
    parse_each,
)
from tradewh.sources.imf_imts import reader

HERE = Path(__file__).parent
DERIVATIONS = HERE / "derivations.csv"

# SCALE.ID -> the unit as published, normalised like the DOTS unit ("USD millions").
SCALE_UNITS = {0: "USD", 3: "USD thousands", 6: "USD millions", 9: "USD billions"}


def load_derivations(path: Path = DERIVATIONS) -> list[tuple[str, int, str]]:
    """The derivation rules (derivations.csv: reporter, from_year, derivation, note) -> [(reporter
    code as published in COUNTRY.ID, first year, derivation)]: a value of that reporter for that
    year or later is not the reporter's own report but what `derivation` says (e.g.
    'imf_figures_for_reporter'). Raises ValueError naming the file and line for a malformed row or
    a reporter listed twice."""
    rules: dict[str, tuple[str, int, str]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            try:
                reporter, derivation = row["reporter"].strip(), row["derivation"].strip()
                from_year = int(row["from_year"])
                if not reporter or not derivation:
                    raise ValueError("reporter and derivation must not be empty")
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                raise ValueError(
                    f"{path} line {line}: expected reporter, from_year (a year), derivation ({exc})"
                ) from exc
            if reporter in rules:
                raise ValueError(f"{path} line {line}: reporter {reporter} has a rule already; one rule per reporter")
            rules[reporter] = (reporter, from_year, derivation)
    return list(rules.values())


class ImfImts(Source):
    info = SourceInfo(
        name="imf_imts",
        title="IMF International Trade in Goods (IMTS), data portal CSV export",
        publisher="International Monetary Fund",
        unit="US$ millions",
        coverage="Russian Federation as reporter with 236 counterparts (countries, former countries, IMF "
        "aggregates), exports FOB and imports CIF, annual 2016-2024; from 2022 the IMF's figures for Russia, "
        "largely built from partners' reports (canonical derivation 'imf_figures_for_reporter')",
        releases="RELEASES.csv row per file: the export states no publication date (bundled: retrieved on or "
        "before 2026-05-09, release_kind retrieved_by, not an IMF publication date); an api.imf.org answer: "
        "the day it was fetched (FETCHED.csv, release_kind fetched)",
        licence="IMF terms of use: free reuse with attribution",
        url="https://data.imf.org (IMF data portal, dataset IMF.STA:IMTS, Data Explorer CSV download)",
    )
    raw_table = reader.RAW_TABLE
    release_scope = "reporter"
    precedence = 20  # the IMF's current dataset: after DOTS (which covers every reporter to 2020), before Comtrade
    code_columns = ("reporter_code", "counterpart_code")
    reporter_label = "reporter_name"
    value_column = "value"
    crosswalk_path = HERE / "crosswalk.csv"
    file_suffixes = (".csv", ".xml")
    file_noun = "CSV exports or API answers"
    raw_rows = "non-empty year cells (CSV exports) and observations (API answers)"
    low_cardinality = (
        "source_file",
        "file_sha256",
        "csv_column",
        "dataset",
        "reporter_code",
        "reporter_name",
        "indicator",
        "counterpart_code",
        "counterpart_name",
        "frequency",
    )

    def input_files(self, folder: Path) -> tuple[list[InputFile], list[str], list[FileLayoutError]]:
        """Every CSV export needs a RELEASES.csv row, every saved API answer (.xml, live.py) its
        FETCHED.csv row (sources.contract.declared_input_files): a file without one is an error
        naming it."""
        return declared_input_files(self, folder)

    def location(self) -> pl.Expr:
        return (
            pl.when(pl.col("csv_line").is_not_null())
            .then(pl.format("line {}, column {}", pl.col("csv_line"), pl.col("csv_column")))
            .otherwise(
                pl.format(
                    "series {} {}, observation {}", pl.col("series_no"), pl.col("series_code"), pl.col("time_period")
                )
            )
        )

    def parser_fingerprint(self) -> str:
        return reader.parser_fingerprint()

    def parse(self, files: list[InputFile]) -> tuple[dict[InputFile, pl.DataFrame], list[FileLayoutError]]:
        """Each CSV export with `reader.read_export`, each API answer (.xml) with `reader.read_answer`;
        one FileLayoutError per bad file (no frames then)."""

        def read(f: InputFile) -> pl.DataFrame:
            read_file = reader.read_answer if f.path.suffix.lower() == ".xml" else reader.read_export
            return read_file(f.path, f.vintage, f.sha256)

        return parse_each(files, read)

    def to_canonical(self, mapped: pl.LazyFrame) -> pl.LazyFrame:
        """Values from 10^unit_exponent US dollars to US dollars (to the cent: the same canonical rows
        from a CSV export in millions and an API answer in dollars); INDICATOR.ID gives flow and
        valuation (XG_FOB_USD -> X FOB, MG_CIF_USD -> M CIF); the period from the frequency (A:
        2023; Q: 2023Q1; M: 202301 with its month); `derivation` from derivations.csv (e.g. Russia
        from 2022: 'imf_figures_for_reporter'), null elsewhere; never an estimate (neither transport
        says which values are). Quarantined: text that is not a number (unparseable_value), a value
        not finite in US dollars (non_finite_value). Empty codes cannot reach here: the readers
        refuse a file with one."""
        value_usd = pl.col("value") * pl.lit(10.0).pow(pl.col("unit_exponent").cast(pl.Float64))
        reason = (
            pl.when(pl.col("parse_error").is_not_null())
            .then(pl.lit("unparseable_value"))
            .when(~value_usd.is_finite())
            .then(pl.lit("non_finite_value"))
        )
        derivation = pl.lit(None, dtype=pl.String)
        for reporter, from_year, label in reversed(load_derivations()):
            derivation = (
                pl.when((pl.col("reporter_code").cast(pl.String) == reporter) & (pl.col("year") >= from_year))
                .then(pl.lit(label))
                .otherwise(derivation)
            )
        unit = pl.format("USD x 10^{}", pl.col("unit_exponent"))
        for scale, name in SCALE_UNITS.items():
            unit = pl.when(pl.col("unit_exponent") == scale).then(pl.lit(name)).otherwise(unit)
        frequency = pl.col("frequency").cast(pl.String)
        period = canonical_period(frequency, pl.col("year"), month=pl.col("month"), quarter=pl.col("quarter"))
        indicator = pl.col("indicator").cast(pl.String)
        flows = {k: v[0] for k, v in reader.INDICATORS.items()}
        valuations = {k: v[1] for k, v in reader.INDICATORS.items()}
        return mapped.with_columns(reason=reason).with_columns(
            detail=pl.when(pl.col("reason") == "unparseable_value")
            .then(pl.col("parse_error"))
            .when(pl.col("reason") == "non_finite_value")
            .then(
                pl.format(
                    "value {} (10^{} US dollars) is not finite in US dollars",
                    pl.col("cell_text"),
                    pl.col("unit_exponent"),
                )
            ),
            source=pl.lit(self.name),
            flow=indicator.replace_strict(flows, return_dtype=pl.String),
            valuation=indicator.replace_strict(valuations, return_dtype=pl.String),
            freq=frequency,
            period=period,
            month=pl.col("month").cast(pl.Int8),
            cmd_code=pl.lit("TOTAL"),
            # to the cent: millions x 1e6 in binary floats leaves noise below it
            value_usd=value_usd.round(2),
            original_value=pl.col("value"),
            original_unit=unit,
            original_currency=pl.lit("USD"),
            usd_per_unit=pl.lit(1.0),
            usd_rate_source=pl.lit(None, dtype=pl.String),
            is_estimated=pl.lit(False),
            is_negative=pl.col("value") < 0,
            derivation=derivation,
            source_sheet=pl.lit(None, dtype=pl.String),
            source_cell=self.location(),
        )


SOURCE = ImfImts()
