"""IMF IMTS from the live service: the availability endpoint and data queries of
api.imf.org/external/sdmx/3.0 (dataflow IMF.STA:IMTS; no key), each answer checked and saved as a
file beside a ledger, so that a fetched answer is a release identified by its content.

    availability(base, "USA.*.*.*", "INDICATOR")   -> {"MG_CIF_USD", "TBG_USD", "XG_FOB_USD"}
    fetch_reporter(folder, "USA", "A", 2023, 2024) -> FetchOutcome (saved, or unchanged)

A data query asks one reporter (COUNTRY), the flow indicators XG_FOB_USD and MG_CIF_USD, every
counterpart, one frequency and a period range. Its answer must be an SDMX-ML 3.0
StructureSpecificData message (sdmx.parse_sdmx3: an error text sent with HTTP 200 is NotData); an
answer without a series for a reporter the availability endpoint lists for those indicators is
EmptyAnswer. Transport failures are sources.fetch's typed errors. Nothing is written unless the
answer is whole and valid.

Releases: the service states no release date. An answer is saved under its query's name
(`imts_<COUNTRY>_<FREQUENCY>_<start>-<end>.xml`, replacing the answer saved before for that query),
and the folder's FETCHED.csv (sources.contract) records its SHA-256, the URL and when it was
fetched (UTC): its release is that day (release_kind fetched). An answer identical to the one saved
is no new release (outcome "unchanged", nothing written). A changed answer fetched the same day
replaces that day's release, as a corrected workbook of the same name and release does; one
fetched on a later day is a new release, and the raw store keeps the earlier ones. `base` defaults
to TRADEWH_IMF_API, else API.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import requests

from tradewh.sources import fetch
from tradewh.sources.contract import save_fetched
from tradewh.sources.imf_sdmx import ImfAnswerError, parse_sdmx3

API = "https://api.imf.org/external/sdmx/3.0"
FLOW = "dataflow/IMF.STA/IMTS/+"
FLOW_INDICATORS = ("XG_FOB_USD", "MG_CIF_USD")  # exports FOB, imports CIF (TBG_USD, the balance, is no flow)


def base_url() -> str:
    return os.environ.get("TRADEWH_IMF_API", API).rstrip("/")


def availability_url(base: str, key: str, component: str) -> str:
    """The availability query for one component (COUNTRY, INDICATOR, COUNTERPART_COUNTRY,
    FREQUENCY) within `key` (e.g. "USA.*.*.*"), as the service spells it (+ as %2B in the path)."""
    return f"{base}/availability/{FLOW.replace('+', '%2B')}/{key}/{component}"


def data_url(
    base: str,
    country: str,
    frequency: str,
    start_year: int,
    end_year: int,
    indicators: tuple[str, ...] = FLOW_INDICATORS,
    counterparts: str = "*",
) -> str:
    """The data query: COUNTRY.INDICATOR(s).COUNTERPART_COUNTRY.FREQUENCY, periods from 1 January
    of start_year to 1 January of the year after end_year, one observation per TIME_PERIOD, without
    the revision history. The query string is written out: the service reads a literal +."""
    key = f"{country}.{'+'.join(indicators)}.{counterparts}.{frequency}"
    return (
        f"{base}/data/{FLOW}/{key}?c%5BTIME_PERIOD%5D=ge:{start_year}-01-01+le:{end_year + 1}-01-01"
        "&dimensionAtObservation=TIME_PERIOD&detail=full&includeHistory=false"
    )


@dataclass(frozen=True)
class Availability:
    """What the availability endpoint says about a key: the `values` of the component asked, and
    its metrics: how many series, and the first and last period with data (ISO dates)."""

    values: frozenset[str]
    series_count: int | None
    time_period_start: str | None
    time_period_end: str | None


def _availability(answer: fetch.Answer, component: str) -> Availability:
    """The answer as Availability. Raises ValueError saying why it is not an availability answer."""
    try:
        doc = json.loads(answer.body)
        constraints = doc["data"]["dataConstraints"]
        regions = [r for c in constraints for r in c.get("cubeRegions", [])]
        values = frozenset(
            v["value"]
            for r in regions
            for comp in r.get("components", [])
            if comp.get("id") == component
            for v in comp.get("values", [])
        )
        metrics = {a.get("id"): a.get("title") for c in constraints for a in c.get("annotations", [])}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"not an SDMX availability answer ({type(exc).__name__}: {exc}): {answer.body[:120]!r}"
        ) from exc
    count = metrics.get("series_count")
    return Availability(
        values,
        int(count) if count and str(count).isdigit() else None,
        metrics.get("time_period_start"),
        metrics.get("time_period_end"),
    )


def availability_of(
    base: str, key: str, component: str, http: requests.Session | None = None, **options
) -> Availability:
    """The availability endpoint's answer for `component` within `key`. Raises a FetchError, or
    NotData if the answer is not the availability JSON (data.dataConstraints[].cubeRegions[])."""
    return fetch.get(
        availability_url(base, key, component),
        headers={"Accept": "application/json"},
        http=http,
        read=lambda a: _availability(a, component),
        **options,
    ).data


def availability(base: str, key: str, component: str, http: requests.Session | None = None, **options) -> set[str]:
    """The values of `component` the service has data for within `key` (availability_of)."""
    return set(availability_of(base, key, component, http=http, **options).values)


@dataclass(frozen=True)
class FetchOutcome:
    """What one fetch brought: `status` "saved" (a new answer, written to `path`) or "unchanged"
    (identical to the answer saved at `path`); its SHA-256, URL, fetch time (ISO, UTC), series and
    observations."""

    status: str
    path: Path
    sha256: str
    url: str
    fetched_at: str
    series: int
    observations: int


def answer_name(country: str, frequency: str, start_year: int, end_year: int) -> str:
    """The file an answer to this query is saved as."""
    return f"imts_{country}_{frequency}_{start_year}-{end_year}.xml"


def fetch_reporter(
    folder: Path,
    country: str,
    frequency: str,
    start_year: int,
    end_year: int,
    *,
    base: str | None = None,
    http: requests.Session | None = None,
    **options,
) -> FetchOutcome:
    """Fetch one reporter's exports and imports with every counterpart, `frequency` A, Q or M,
    start_year..end_year, and save the answer in `folder` unless it is the one saved there.

    Raises sources.fetch's FetchErrors (NotData for an answer that is no StructureSpecificData
    message, with the reader's reason; EmptyAnswer when the availability endpoint lists `country`
    with flow indicators but the answer holds no series). Nothing is written then.
    """
    base = (base or base_url()).rstrip("/")
    url = data_url(base, country, frequency, start_year, end_year)

    def read(answer: fetch.Answer):
        try:
            return parse_sdmx3(answer.body, answer.url)
        except ImfAnswerError as exc:  # its problems, without the URL the NotData message starts with
            raise ValueError("; ".join(exc.problems)) from exc

    answer = fetch.get(url, headers={"Accept": "application/xml"}, read=read, http=http, **options)
    frame = answer.data
    if frame.height == 0:
        listed = availability(base, f"{country}.*.*.*", "INDICATOR", http=http, **options)
        if listed & set(FLOW_INDICATORS):
            raise fetch.EmptyAnswer(
                answer.url,
                f"no series in the answer, although the availability endpoint lists "
                f"{country} with {', '.join(sorted(listed & set(FLOW_INDICATORS)))}: "
                "nothing was saved; try again later",
            )
    fetched_at = answer.fetched_at.isoformat(timespec="seconds") + "Z"
    counts = {"series": frame["series"].n_unique(), "observations": frame.height}
    status, path = save_fetched(
        folder,
        answer_name(country, frequency, start_year, end_year),
        answer.body,
        answer.sha256,
        fetched_at,
        answer.url,
        **counts,
    )
    return FetchOutcome(status, path, answer.sha256, answer.url, fetched_at, **counts)
