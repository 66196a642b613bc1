"""UN Comtrade+ final data, commodity totals (v1 records as CSV extracts or raw API answers), behind
the source contract.

One record per reporter x partner x flow x period (x breakdown), values in US dollars; the reader
is `reader.py`, the code crosswalk `crosswalk.csv` (Comtrade's numeric reporter/partner codes, built
by `crosswalk_build.py` from Comtrade's reference lists in data/comtrade/reference/ and
`crosswalk_overrides.csv`). Releases: a file states no publication date, so every file needs a
row in its folder's RELEASES.csv (the bundled files: dates by which they were retrieved,
release_kind retrieved_by). A Comtrade extract answers a query for some reporters and partners,
so a newer release replaces only the observations it contains (release_scope "observation").
"""

import functools
from pathlib import Path

import polars as pl

from tradewh.sources.comtrade import reader
from tradewh.sources.contract import (
    RELEASES_FILE,
    FileLayoutError,
    InputFile,
    Source,
    SourceInfo,
    canonical_period,
    code_fingerprint,
    declared_input_files,
    parse_each,
)

HERE = Path(__file__).parent

# flowDesc as published -> flow code, for layouts without flowCode (the 13-column extract).
FLOW_BY_DESC = {"Export": "X", "Import": "M", "Re-export": "RX", "Re-import": "RM"}
VALUATION = {"X": "FOB", "RX": "FOB", "M": "CIF", "RM": "CIF"}
TOTAL_CMD_DESC = "All Commodities"
ANNUAL_REF_MONTH = 52  # refMonth of an annual record in the v1 API
# The bilateral total's breakdown codes: partner2Code 0 (no second partner), motCode 0 (all modes of
# transport), customsCode C00 (all customs procedures). Any other value is a part of the total.
TOTAL_PARTNER2, TOTAL_MOT, TOTAL_CUSTOMS = 0, 0, "C00"


def _text(column: str) -> pl.Expr:
    """A raw text column (String or Categorical) as trimmed text."""
    return pl.col(column).cast(pl.String).str.strip_chars()


class Comtrade(Source):
    info = SourceInfo(
        name="comtrade",
        title="UN Comtrade+ (final data: totals and HS products)",
        publisher="United Nations Statistics Division (UN Comtrade+)",
        unit="US$",
        coverage="2021 exports (FOB) of 140 reporters to every partner (countries, areas nes, special partners, "
        "World); USA imports (CIF) from France, Germany, Japan and Mexico 2018-2022; China's exports to Korea, "
        "Mexico and the USA 2012-2022; China's trade with Argentina and Germany 2010 (a raw v1 API answer); "
        "all commodities (cmdCode TOTAL), annual",
        releases="RELEASES.csv row per file: the files state no publication date (bundled: the dates by which "
        "they were retrieved, release_kind retrieved_by: 2023-03-10 for the 2021 all-exports extract, "
        "2025-12-14 for the comtradr files; not UN publication dates)",
        licence="UN Comtrade terms of use (data); found in public repositories: pcd15/Econ-Sanctions (MIT) and "
        "rOpenSci comtradr (see data/comtrade/PROVENANCE.md)",
        url="https://comtradeapi.un.org/data/v1/get/C/A/HS (UN Comtrade+ API, final data)",
    )
    raw_table = reader.RAW_TABLE
    release_scope = "observation"
    precedence = 30  # the reporters' own submissions to the UN: where the IMF files have no figures
    code_columns = ("reporter_key", "partner_key")  # the numeric code as text, else the ISO3 (reader)
    reporter_label = "reporter_desc"
    value_column = "primary_value"
    crosswalk_path = HERE / "crosswalk.csv"
    file_suffixes = (".csv", ".csv.gz", ".json")
    file_noun = "record files"
    raw_rows = "data records read from the files"
    low_cardinality = (
        "source_file",
        "file_sha256",
        "file_layout",
        "freq_code",
        "period",
        "reporter_iso",
        "reporter_desc",
        "flow_code",
        "flow_desc",
        "partner_iso",
        "partner_desc",
        "customs_code",
        "classification_code",
        "cmd_code",
        "cmd_desc",
        "declared_classification",
        "reporter_key",
        "partner_key",
    )

    def input_paths(self, folder: Path) -> tuple[list[Path], list[str]]:
        """The .csv, .csv.gz and .json files of `folder` but RELEASES.csv (the folder's release declarations).
        Comtrade's reference lists live in the subfolder reference/ and are not input files."""
        paths, skipped = super().input_paths(folder)
        return [p for p in paths if p.name.lower() != RELEASES_FILE.lower()], skipped

    def input_files(self, folder: Path) -> tuple[list[InputFile], list[str], list[FileLayoutError]]:
        """Every file needs a RELEASES.csv row (sources.contract.declared_input_files): a file without
        one is an error naming it."""
        return declared_input_files(self, folder)

    def location(self) -> pl.Expr:
        """Where a record's value is: 'line 12, column primaryValue' in a CSV file (the value column as
        the file names it: primary_value in comtradr's files) or 'data[3].primaryValue' in a JSON answer."""
        value_name = (
            pl.when(pl.col("file_layout").cast(pl.String) == reader.LAYOUT_SNAKE)
            .then(pl.lit(reader.BY_COLUMN["primary_value_text"].snake[0]))
            .otherwise(pl.lit(reader.BY_COLUMN["primary_value_text"].camel))
        )
        return (
            pl.when(pl.col("file_layout").cast(pl.String) == reader.LAYOUT_JSON)
            .then(pl.format("data[{}].{}", pl.col("record"), value_name))
            .otherwise(pl.format("line {}, column {}", pl.col("record"), value_name))
        )

    @functools.cache
    def parser_fingerprint(self) -> str:
        """sha256 of this folder's code and the Polars version (the reader uses Python's csv and json)."""
        return code_fingerprint(HERE, ("polars",))

    def parse(self, files: list[InputFile]) -> tuple[dict[InputFile, pl.DataFrame], list[FileLayoutError]]:
        """Each file -> its raw records (`reader.records_frame`, with the HS revision its release
        declares); a file in no known layout -> a ComtradeLayoutError naming it and every problem
        (no frames then)."""
        return parse_each(files, lambda f: reader.records_frame(f.path, f.vintage, f.sha256, f.classification))

    def to_canonical(self, mapped: pl.LazyFrame) -> pl.LazyFrame:
        """Raw records (with mapped reporter/partner codes) -> canonical rows, values in US dollars as
        published (rounded to the cent in value_usd).

        flow: flowCode, else flowDesc (Export X, Import M, Re-export RX, Re-import RM); valuation FOB
        for X/RX, CIF for M/RM. freq A (refMonth 52 or absent) -> period = year; freq M (refMonth
        1-12) -> period YYYYMM and month. cmd_code TOTAL for cmdCode TOTAL, or cmdDesc 'All
        Commodities' where the layout has no cmdCode; else the HS code as published, in the
        revision classificationCode states (warehouse.products sets its level and quarantines a
        code or revision it cannot place). is_estimated: only a trade-matrix record
        (classificationCode TM) with isReported false is an estimate (UNSD's); in final data
        isReported false with isAggregate true means UNSD summed the reporter's detailed records,
        and the is*Estimated flags concern quantities and weights, not the value.

        Quarantined (reason, detail), never dropped: unparseable_value (primaryValue not a number
        or empty); breakdown_not_total (partner2Code != 0, motCode != 0 or customsCode != C00: a
        part of the bilateral total, which would count it twice); product_not_total (a product
        given by cmdDesc alone, in a layout without cmdCode: it cannot be placed); invalid_flow (a flow that is not X,
        M, RX or RM, or flowCode and flowDesc that disagree); invalid_period (a frequency other
        than A/M, or refMonth/period that do not fit it); non_finite_value.
        """
        flow_code, flow_desc = _text("flow_code"), _text("flow_desc")
        desc_flow = flow_desc.replace_strict(FLOW_BY_DESC, default=None, return_dtype=pl.String)
        flow = pl.coalesce(flow_code, desc_flow)
        flow_ok = flow.is_in(list(VALUATION)) & (flow_desc.is_null() | flow_code.is_null() | (desc_flow == flow_code))
        # a record that gives a year and neither a month nor a period (a layout without freqCode) is annual
        freq = pl.coalesce(
            _text("freq_code"),
            pl.when(pl.col("ref_month").is_null() & pl.col("period").is_null()).then(pl.lit("A")),
        )
        month = pl.col("ref_month")
        period_text = _text("period")
        period = canonical_period(freq, pl.col("ref_year"), month=month)
        period_ok = (
            pl.when(freq == "A")
            .then(month.is_null() | (month == ANNUAL_REF_MONTH))
            .when(freq == "M")
            .then(month.is_between(1, 12))
            .otherwise(False)
            & (period_text.is_null() | (period_text == period))
        ).fill_null(False)
        cmd_code, cmd_desc = _text("cmd_code"), _text("cmd_desc")
        is_total = pl.when(cmd_code.is_not_null()).then(cmd_code == "TOTAL").otherwise(cmd_desc == TOTAL_CMD_DESC)
        partner2, mot, customs = pl.col("partner2_code"), pl.col("mot_code"), _text("customs_code")
        breakdown = (
            (partner2.fill_null(TOTAL_PARTNER2) != TOTAL_PARTNER2)
            | (mot.fill_null(TOTAL_MOT) != TOTAL_MOT)
            | (customs.fill_null(TOTAL_CUSTOMS) != TOTAL_CUSTOMS)
        )
        value = pl.col("primary_value")
        reason = (
            pl.when(pl.col("parse_error").is_not_null())
            .then(pl.lit("unparseable_value"))
            .when(breakdown)
            .then(pl.lit("breakdown_not_total"))
            .when(~is_total.fill_null(False) & cmd_code.is_null())
            .then(pl.lit("product_not_total"))
            .when(~flow_ok.fill_null(False))
            .then(pl.lit("invalid_flow"))
            .when(~period_ok)
            .then(pl.lit("invalid_period"))
            .when(~value.is_finite())
            .then(pl.lit("non_finite_value"))
        )
        shown = lambda c: pl.col(c).cast(pl.String).fill_null("(none)")  # noqa: E731
        detail = (
            pl.when(pl.col("reason") == "unparseable_value")
            .then(pl.col("parse_error"))
            .when(pl.col("reason") == "breakdown_not_total")
            .then(
                pl.format(
                    "partner2Code {}, motCode {}, customsCode {}: a breakdown of the bilateral total (partner2Code "
                    "0, motCode 0, customsCode C00), which it would count twice",
                    shown("partner2_code"),
                    shown("mot_code"),
                    shown("customs_code"),
                )
            )
            .when(pl.col("reason") == "product_not_total")
            .then(
                pl.format(
                    "cmdCode {}, cmdDesc {}: a product named without its code (a layout without cmdCode is "
                    "read for its commodity totals only)",
                    shown("cmd_code"),
                    shown("cmd_desc"),
                )
            )
            .when(pl.col("reason") == "invalid_flow")
            .then(
                pl.format(
                    "flowCode {}, flowDesc {}: not one flow of X, M, RX, RM", shown("flow_code"), shown("flow_desc")
                )
            )
            .when(pl.col("reason") == "invalid_period")
            .then(
                pl.format(
                    "freqCode {}, refYear {}, refMonth {}, period {}: not an annual (refMonth 52) or "
                    "monthly (refMonth 1-12) period",
                    shown("freq_code"),
                    shown("ref_year"),
                    shown("ref_month"),
                    shown("period"),
                )
            )
            .when(pl.col("reason") == "non_finite_value")
            .then(pl.format("primaryValue {} is not finite in US dollars", pl.col("primary_value_text")))
        )
        return mapped.with_columns(reason=reason, flow=flow).with_columns(
            detail=detail,
            source=pl.lit(self.name),
            valuation=pl.col("flow").replace_strict(VALUATION, default=None, return_dtype=pl.String),
            freq=freq,
            period=period,
            year=pl.col("ref_year"),
            month=pl.when(freq == "M").then(month).otherwise(None).cast(pl.Int8),
            cmd_code=pl.when(is_total).then(pl.lit("TOTAL")).otherwise(cmd_code),
            # the HS revision the record states, else the one its release declares (warehouse.products)
            classification=pl.coalesce(_text("classification_code"), _text("declared_classification")),
            value_usd=value.round(2),  # US dollars as published, to the cent
            original_value=value,
            original_unit=pl.lit("USD"),
            original_currency=pl.lit("USD"),
            usd_per_unit=pl.lit(1.0),
            usd_rate_source=pl.lit(None, dtype=pl.String),
            is_estimated=((_text("classification_code") == "TM") & pl.col("is_reported").not_()).fill_null(False),
            is_negative=value < 0,
            derivation=pl.lit(None, dtype=pl.String),
            source_sheet=pl.lit(None, dtype=pl.String),
            source_cell=self.location(),
        )


SOURCE = Comtrade()
