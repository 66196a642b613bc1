"""Archived answers of the retired DOTS web service, read into the same raw rows as the workbooks.

The legacy `dataservices.imf.org/REST/SDMX_JSON.svc/CompactData/DOT/{FREQ}.{REF_AREA}.{INDICATOR}.{COUNTERPART_AREA}`
service answered SDMX 2.0 CompactData as JSON (sources/imf_sdmx.py reads the message). Its series
are the workbooks' series, from a later release: US exports to the World in 2020 are US$
1,431,584.385159 million in the bundled workbook (DOTS_208.xlsx, release 2022-02-20) and
1,429,995.404019 million in the answer recorded on 2024-09-20. So an answer loads as a release of
this source, the day it was fetched (FETCHED.csv,
release_kind fetched), and replaces only the observations it holds (release scope 'observation':
an answer for two counterparts says nothing about the workbook's other partners).

Areas are the service's codes (ISO 3166 alpha-2 for countries, W00 World, B0 European Union):
`area_codes.csv` (beside this file, written by crosswalk_build.py) gives each the IMF name the
workbooks use, so the workbooks' name crosswalk maps both transports. Values: OBS_VALUE in 10^UNIT_MULT
US dollars; this reader takes the service's US$ millions (UNIT_MULT 6), the workbooks' unit.
"""

import csv
from datetime import date
from pathlib import Path

import polars as pl

from tradewh.sources.contract import file_sha256, plain_unreadable
from tradewh.sources.imf_dots.workbook import RAW_SCHEMA
from tradewh.sources.imf_sdmx import ImfAnswerError, read_compact_json

AREA_CODES = Path(__file__).parent / "area_codes.csv"
# INDICATOR -> (flow, valuation, the workbook sheet that publishes the same series)
INDICATORS = {"TXG_FOB_USD": ("X", "FOB"), "TMG_CIF_USD": ("M", "CIF")}
UNIT_MULT = 6  # US$ millions, the workbooks' unit
UNIT = "USD millions"


def area_names(path: Path = AREA_CODES) -> dict[str, str]:
    """{service area code: IMF name as the workbooks print it} from area_codes.csv (code, imf_name,
    method). Raises ValueError naming the file and line for a row without both, or a code listed twice."""
    names: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            code, name = (row.get("code") or "").strip(), (row.get("imf_name") or "").strip()
            if not code or not name:
                raise ValueError(f"{path} line {line}: expected code and imf_name")
            if code in names:
                raise ValueError(f"{path} line {line}: code {code} is listed twice")
            names[code] = name
    return names


def read_answer(path: Path, vintage: date, sha256: str | None = None) -> pl.DataFrame:
    """Read one archived CompactData JSON answer of dataset DOT into DOTS raw rows (workbook.RAW_SCHEMA),
    one per observation, in document order.

    Shape: `sheet`, `excel_row`, `excel_col` null (no workbook), `cell` where the value is in the
    answer ("series 2 A.US.TXG_FOB_USD.W00, observation 2020"); lineage `series_no`,
    `obs_no`, `series_code` (FREQ.REF_AREA.INDICATOR.COUNTERPART_AREA as published) and
    `time_period`; `frequency` A, Q or M with the period's `quarter` or `month`; `reporter_name` and
    `partner_name` the IMF names of the area codes (area_codes.csv); `value` in US$ millions,
    `cell_text` OBS_VALUE as published. Raises ImfAnswerError (a FileLayoutError) naming the file
    and every problem: what sources.imf_sdmx.read_compact_json refuses, an indicator other than
    TXG_FOB_USD / TMG_CIF_USD, a UNIT_MULT other than 6, an area code area_codes.csv lacks.
    """
    path = Path(path)
    if plain := plain_unreadable(path):
        raise ImfAnswerError(path, [plain])
    sha256 = sha256 or file_sha256(path)
    obs = read_compact_json(path)
    names = area_names()
    series_key = pl.concat_str(
        "frequency", "reporter_code", "indicator", "counterpart_code", separator="."
    )  # as in the URL
    problems = []
    for s, key, indicator, mult, reporter, counterpart in (
        obs.select("series", series_key, "indicator", "scale", "reporter_code", "counterpart_code")
        .unique(maintain_order=True)
        .rows()
    ):
        if indicator not in INDICATORS:
            problems.append(
                f"series {s} ({key}): INDICATOR {indicator!r} is no flow this source loads (expected {' or '.join(INDICATORS)})"
            )
        if mult != UNIT_MULT:
            problems.append(
                f"series {s} ({key}): UNIT_MULT {mult}; this reader takes the service's US$ millions (UNIT_MULT {UNIT_MULT})"
            )
        problems += [
            f"series {s} ({key}): area code {c!r} is not in {AREA_CODES.name}; add its IMF name there"
            for c in (reporter, counterpart)
            if c not in names
        ]
    if problems:
        raise ImfAnswerError(path, problems)
    indicator = pl.col("indicator")
    return obs.select(
        source_file=pl.lit(path.name),
        file_sha256=pl.lit(sha256),
        vintage=pl.lit(vintage, dtype=pl.Date),
        sheet=pl.lit(None, dtype=pl.String),
        flow=indicator.replace_strict({k: v[0] for k, v in INDICATORS.items()}, return_dtype=pl.String),
        valuation=indicator.replace_strict({k: v[1] for k, v in INDICATORS.items()}, return_dtype=pl.String),
        reporter_name=pl.col("reporter_code").replace_strict(names, return_dtype=pl.String),
        unit=pl.lit(UNIT),
        excel_row=pl.lit(None, dtype=pl.Int32),
        excel_col=pl.lit(None, dtype=pl.String),
        cell=pl.format("series {} {}, observation {}", "series", series_key, "time_period"),
        partner_name=pl.col("counterpart_code").replace_strict(names, return_dtype=pl.String),
        year="year",
        cell_text="obs_value",
        cell_is_text=pl.lit(False),
        # OBS_VALUE is in US$ millions (UNIT_MULT 6): the value as published
        value=pl.when(pl.col("parse_error").is_null()).then(
            pl.col("obs_value").str.strip_chars().cast(pl.Float64, strict=False)
        ),
        is_estimated=pl.lit(False),
        parse_error="parse_error",
        series_no="series",
        obs_no="obs",
        series_code=series_key,
        time_period="time_period",
        frequency="frequency",
        quarter="quarter",
        month="month",
    ).cast(RAW_SCHEMA)
