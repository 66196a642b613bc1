"""IMF trade series as the IMF's SDMX web services answer -> one row per observation.

Two services carry the same series (a reporter's exports or imports with a counterpart):

- IMTS, `api.imf.org/external/sdmx/3.0/data/dataflow/IMF.STA/IMTS/+/{COUNTRY}.{INDICATOR}.{COUNTERPART_COUNTRY}.{FREQUENCY}`:
  SDMX-ML 3.0 StructureSpecificData XML (`read_sdmx3`). Each `Series` element carries the key as
  XML attributes (COUNTRY, INDICATOR, COUNTERPART_COUNTRY, FREQUENCY: ISO3 and IMF codes such as
  G001 World, G998 European Union) and the series attributes (SCALE, OVERLAP); each `Obs` carries
  TIME_PERIOD, OBS_VALUE and the observation attribute DERIVATION_TYPE. **OBS_VALUE is in US
  dollars**: SCALE="6" is the scale the IMF displays the series in, not the unit of OBS_VALUE (US
  exports to the World, 2023: OBS_VALUE 2019551635133, which the legacy service gives as
  2019551.635133 with UNIT_MULT 6).
- DOTS, the legacy `dataservices.imf.org/REST/SDMX_JSON.svc/CompactData/DOT/{FREQ}.{REF_AREA}.{INDICATOR}.{COUNTERPART_AREA}`
  (archived answers; the service is retired): SDMX 2.0 CompactData as JSON (`read_compact_json`).
  Series attributes `@REF_AREA` and `@COUNTERPART_AREA` are IMF two-character area codes (US,
  W00 World, B0 European Union), `@INDICATOR` TXG_FOB_USD / TMG_CIF_USD, `@UNIT_MULT` the power of
  ten of OBS_VALUE's unit (6: OBS_VALUE in US$ millions). A single series, or a single observation,
  arrives as a JSON object instead of a list of them.

Both give the same frame (OBSERVATION_SCHEMA): the key and attributes as published, the period
parsed (year, and the quarter or month of Q and M series), the value text as published and
`value_usd` in US dollars, worked out from the text in decimal arithmetic and rounded to the
cent. A value whose text is not a number keeps its row with `value_usd` null and `parse_error`
set: nothing the service sent is dropped. Anything else that departs from the message layout
raises `ImfAnswerError` naming the file and every problem found. An answer with no series is no
error here: whether that is plausible is for the caller, which knows what the availability
endpoint promised.

Why not an SDMX library: a structure-specific message can be read only with its data structure
definition, which a fetch for data does not return. Without it, sdmx1 (2.28) reads SCALE and
OVERLAP as key dimensions of the series (measured on tests/recordings/imts_sdmx3_usa_2023_2024.yaml),
which would make a change of display scale a new series. The layout read here is small and
written down above; the XML parser is the standard library's, behind defusedxml (answers come
from the network).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

import defusedxml.ElementTree as SafeET
import polars as pl

from tradewh.sources.contract import FileLayoutError

# A value as the IMF writes one, in an answer's OBS_VALUE and in a portal export's year cell:
# optional minus, ASCII digits, optional decimals, optional exponent. [0-9], not \d: \d also
# matches other scripts' digits. Anything else is not parsed.
NUMBER_TEXT = r"^\s*-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?\s*$"
SDMX3_MESSAGE = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message"
SDMX3_KEY = ("COUNTRY", "INDICATOR", "COUNTERPART_COUNTRY", "FREQUENCY")  # DSD_IMTS(1.0.0), in key order
COMPACT_KEY = ("FREQ", "REF_AREA", "INDICATOR", "COUNTERPART_AREA")  # the legacy DOT key, in URL order

OBSERVATION_SCHEMA = {
    "service": pl.String,  # "imts_sdmx3" or "dots_compact_json"
    "series": pl.Int32,  # 1-based position of the series in the answer
    "obs": pl.Int32,  # 1-based position of the observation in its series
    "reporter_code": pl.String,  # COUNTRY / REF_AREA as published
    "indicator": pl.String,
    "counterpart_code": pl.String,  # COUNTERPART_COUNTRY / COUNTERPART_AREA as published
    "frequency": pl.String,  # A, Q or M
    "time_period": pl.String,  # as published: 2023, 2023-Q1, 2023-M01 or 2023-01
    "year": pl.Int16,
    "quarter": pl.Int8,  # Q series only
    "month": pl.Int8,  # M series only
    "scale": pl.Int16,  # SCALE (IMTS: display only) or UNIT_MULT (legacy: OBS_VALUE's unit is 10^UNIT_MULT US$)
    "overlap": pl.String,  # OVERLAP series attribute (IMTS)
    "derivation_type": pl.String,  # DERIVATION_TYPE observation attribute (IMTS)
    "obs_value": pl.String,  # the value text as published
    "value_usd": pl.Float64,  # US dollars, to the cent; null if obs_value is not a number
    "parse_error": pl.String,
}

_PERIOD = {
    "A": re.compile(r"^(?P<year>[0-9]{4})$"),
    "Q": re.compile(r"^(?P<year>[0-9]{4})-?Q(?P<quarter>[1-4])$"),
    "M": re.compile(r"^(?P<year>[0-9]{4})-M?(?P<month>0[1-9]|1[0-2])$"),
}
_NUMBER = re.compile(NUMBER_TEXT)
CENT = Decimal("0.01")


class ImfAnswerError(FileLayoutError):
    """A saved answer is not an IMF SDMX data message of the expected layout; `problems` lists every
    deviation found."""

    def __init__(self, path: Path | str, problems: list[str]):
        super().__init__(path, problems, what="an IMF SDMX data answer")


def _usd(text: str, unit_exponent: int) -> tuple[float | None, str | None]:
    """(value in US dollars to the cent, None) or (None, why not) for a published value text."""
    if not _NUMBER.match(text):
        return None, f"OBS_VALUE {text!r} is not a number"
    try:
        return float((Decimal(text).scaleb(unit_exponent)).quantize(CENT)), None
    except InvalidOperation as exc:  # too large to be US dollars to the cent
        return None, f"OBS_VALUE {text!r} x 10^{unit_exponent} is not a finite amount of US dollars ({exc})"


def _period(frequency: str, text: str) -> dict | None:
    pattern = _PERIOD.get(frequency)
    m = pattern.match(text) if pattern else None
    if not m:
        return None
    parts = {k: int(v) for k, v in m.groupdict().items()}
    return {"year": parts["year"], "quarter": parts.get("quarter"), "month": parts.get("month")}


def _frame(rows: list[dict]) -> pl.DataFrame:
    return (
        pl.DataFrame(rows, schema=OBSERVATION_SCHEMA, orient="row") if rows else pl.DataFrame(schema=OBSERVATION_SCHEMA)
    )


def _observations(
    service: str, series_rows: list[tuple[int, dict, list[dict]]], unit_exponent
) -> tuple[list[dict], list[str]]:
    """Rows for every (series position, its key and attributes, its observations), with the problems
    found; `unit_exponent(series)` is the power of ten of OBS_VALUE's unit in US dollars."""
    rows, problems = [], []
    for s, series, observations in series_rows:
        for o, obs in enumerate(observations, 1):
            at = f"series {s} observation {o}"
            period = _period(series["frequency"], obs.get("time_period") or "")
            if period is None:
                problems.append(
                    f"{at}: TIME_PERIOD {obs.get('time_period')!r} is not a period of frequency {series['frequency']!r}"
                )
                continue
            text = obs.get("obs_value")
            if text is None:
                problems.append(f"{at} ({obs['time_period']}): no OBS_VALUE")
                continue
            value, error = _usd(text.strip(), unit_exponent(series))
            rows.append(
                {
                    **series,
                    "service": service,
                    "series": s,
                    "obs": o,
                    "time_period": obs["time_period"],
                    **period,
                    "derivation_type": obs.get("derivation_type"),
                    "obs_value": text,
                    "value_usd": value,
                    "parse_error": error,
                }
            )
    return rows, problems


def read_sdmx3(path: Path) -> pl.DataFrame:
    """Read a saved api.imf.org SDMX 3.0 IMTS data answer (StructureSpecificData XML).

    Shape: OBSERVATION_SCHEMA, service "imts_sdmx3", in document order; value_usd = OBS_VALUE (US
    dollars whatever SCALE says). Raises ImfAnswerError naming the file: not XML, an SDMX error
    message or any other document instead of StructureSpecificData, a Series without one of the
    key attributes or with a SCALE that is not a whole number, an Obs without TIME_PERIOD or
    OBS_VALUE, a period that does not fit the series' frequency.
    """
    path = Path(path)
    return parse_sdmx3(path.read_bytes(), path)


def parse_sdmx3(data: bytes, name: Path | str) -> pl.DataFrame:
    """`read_sdmx3` on an answer's bytes; `name` (a file or URL) is what errors name."""
    path = name
    try:
        root = SafeET.fromstring(data)
    except Exception as exc:  # ParseError, or defusedxml's refusal of entities
        raise ImfAnswerError(path, [f"not XML ({type(exc).__name__}: {exc})"]) from exc
    if root.tag != f"{{{SDMX3_MESSAGE}}}StructureSpecificData":
        text = " ".join(t.strip() for t in root.itertext() if t.strip())[:300]
        raise ImfAnswerError(
            path,
            [
                f"expected an SDMX-ML 3.0 StructureSpecificData message, found <{root.tag.split('}')[-1]}>"
                + (f": {text}" if text else "")
            ],
        )
    problems, series_rows = [], []
    for s, series in enumerate((e for e in root.iter() if e.tag.split("}")[-1] == "Series"), 1):
        a = series.attrib
        missing = [k for k in SDMX3_KEY if not a.get(k)]
        scale = a.get("SCALE", "0")
        if missing or not scale.isdigit():
            problems.append(
                f"series {s}: "
                + "; ".join(
                    ([f"no {', '.join(missing)}"] if missing else [])
                    + ([f"SCALE {scale!r} is not a whole number"] if not scale.isdigit() else [])
                )
            )
            continue
        key = {
            "reporter_code": a["COUNTRY"],
            "indicator": a["INDICATOR"],
            "counterpart_code": a["COUNTERPART_COUNTRY"],
            "frequency": a["FREQUENCY"],
            "scale": int(scale),
            "overlap": a.get("OVERLAP"),
        }
        observations = [
            {
                "time_period": o.get("TIME_PERIOD"),
                "obs_value": o.get("OBS_VALUE"),
                "derivation_type": o.get("DERIVATION_TYPE"),
            }
            for o in series
            if o.tag.split("}")[-1] == "Obs"
        ]
        series_rows.append((s, key, observations))
    rows, obs_problems = _observations("imts_sdmx3", series_rows, lambda _: 0)
    if problems or obs_problems:
        raise ImfAnswerError(path, problems + obs_problems)
    return _frame(rows)


def _as_list(value) -> list:
    """CompactData JSON gives a lone series or observation as an object, several as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def read_compact_json(path: Path) -> pl.DataFrame:
    """Read a saved legacy dataservices.imf.org CompactData JSON answer (dataset DOT).

    Shape: OBSERVATION_SCHEMA, service "dots_compact_json", in document order; value_usd =
    OBS_VALUE x 10^UNIT_MULT. Raises ImfAnswerError naming the file: not JSON, no CompactData
    object (an error text, an HTML page), a series without one of the key attributes or without
    UNIT_MULT, an observation without TIME_PERIOD or OBS_VALUE, a period that does not fit the
    series' frequency.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImfAnswerError(path, [f"not JSON ({type(exc).__name__}: {exc})"]) from exc
    compact = doc.get("CompactData") if isinstance(doc, dict) else None
    if not isinstance(compact, dict):
        raise ImfAnswerError(path, [f"expected a CompactData message, found {str(doc)[:300]!r}"])
    problems, series_rows = [], []
    for s, series in enumerate(_as_list((compact.get("DataSet") or {}).get("Series")), 1):
        missing = [k for k in (*COMPACT_KEY, "UNIT_MULT") if not series.get(f"@{k}")]
        if missing or not str(series.get("@UNIT_MULT", "")).isdigit():
            problems.append(
                f"series {s}: no {', '.join(missing)}"
                if missing
                else f"series {s}: UNIT_MULT {series['@UNIT_MULT']!r} is not a whole number"
            )
            continue
        key = {
            "reporter_code": series["@REF_AREA"],
            "indicator": series["@INDICATOR"],
            "counterpart_code": series["@COUNTERPART_AREA"],
            "frequency": series["@FREQ"],
            "scale": int(series["@UNIT_MULT"]),
            "overlap": None,
        }
        observations = [
            {"time_period": o.get("@TIME_PERIOD"), "obs_value": o.get("@OBS_VALUE")}
            for o in _as_list(series.get("Obs"))
        ]
        series_rows.append((s, key, observations))
    rows, obs_problems = _observations("dots_compact_json", series_rows, lambda k: k["scale"])
    if problems or obs_problems:
        raise ImfAnswerError(path, problems + obs_problems)
    return _frame(rows)
