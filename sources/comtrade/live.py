"""UN Comtrade+ from the live service (comtradeapi.un.org, v1): final data, commodity totals, each
answer checked and saved as a file in the source's input folder with its FETCHED.csv row, so that
the existing reader (reader.py, layout v1_json) loads it and its release is the day it was fetched.

    fetch_totals(folder, reporters=[842], periods=["2021", "2022"], flows=("X", "M"))

Endpoints: with a key, `data/v1/get/C/{A|M}/HS` (final data); without one, the public preview
`public/v1/preview/C/{A|M}/HS`, which answers at most PREVIEW_CAP records per call. The key comes
from COMTRADE_API_KEY and goes in the Ocp-Apim-Subscription-Key header only: never in a URL, a
message, the ledger or an asset's metadata.

A query asks cmdCode TOTAL with the bilateral totals' breakdown codes (partner2Code 0, motCode 0,
customsCode C00), so the service sends no breakdown rows; any that come anyway are quarantined by
the source (breakdown_not_total), never added to a total. Partner aggregates (World, areas nes)
are partners of their own kind in the crosswalk and never summed into a bilateral figure.

The row cap: an answer holding as many records as the call may return (the cap: PREVIEW_CAP, or
COMTRADE_MAX_RECORDS with a key, default KEY_CAP) may have been cut. Such a query is split, by
period first, then by reporter, then by flow, and the parts are fetched instead; a query that
cannot be split further and still reaches the cap raises Truncated: nothing is saved as if whole.
An answer whose `error` is not empty, or whose `count` differs from its records, is NotData.

    availability(periods=["2021"], reporters=[842])

asks the data-availability endpoint (`getDa`, as the official client comtradeapicall spells it)
which final datasets exist: one per reporter, period and classification, with its record count,
checksum and first and last release times. A dataset whose checksum or last release changed has
new figures; assets/live.py's sensor comtrade_availability fetches those partitions only.

    fetch_reference(folder)

saves Comtrade+'s current reporter and partner reference lists (public, no key) in the layout of
the bundled ones (data/comtrade/reference/), from which `python -m tradewh.sources.comtrade.crosswalk_build
FOLDER` rebuilds the code crosswalk: a new or retired code shows as a diff to review.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import requests

from tradewh.sources import fetch
from tradewh.sources.contract import save_fetched

API = "https://comtradeapi.un.org"
KEY_ENV = "COMTRADE_API_KEY"
KEY_HEADER = "Ocp-Apim-Subscription-Key"
PREVIEW_CAP = 500  # records per call of the public preview
KEY_CAP = 100_000  # records per call with a free key (comtradr's large_data vignette; 250,000 with a premium one)
TOTAL_BREAKDOWN = {"partner2Code": "0", "motCode": "0", "customsCode": "C00"}


# Comtrade's own reporter list (bundled: data/comtrade/reference/, from its reference API): a
# reporter's code depends on the year (USA 841 before 1981, 842 after; India 356 to 1974, then 699)
REPORTERS = Path(__file__).resolve().parents[2] / "data" / "comtrade" / "reference" / "reference_reporters.csv"


def base_url() -> str:
    return os.environ.get("TRADEWH_COMTRADE_API", API).rstrip("/")


def reporter_code(iso3: str, year: int, reference: Path = REPORTERS) -> int:
    """Comtrade's reporter code for ISO3 `iso3` in `year`, from its reference list (entry_year,
    exit_year; groups left out). Raises ValueError naming the code and the year if there is none."""
    with open(reference, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["iso_3"] != iso3 or row["group"] == "True":
                continue
            first = int(float(row["entry_year"])) if row["entry_year"] else 0
            last = int(float(row["exit_year"])) if row["exit_year"] else 9999
            if first <= year <= last:
                return int(row["id"])
    raise ValueError(f"{reference.name}: no Comtrade reporter {iso3!r} in {year}")


@dataclass(frozen=True)
class Query:
    """One final-data query: Comtrade reporter codes, periods (YYYY, or YYYYMM for M), flows, and
    partner codes (None: every partner)."""

    freq: str
    reporters: tuple[int, ...]
    periods: tuple[str, ...]
    flows: tuple[str, ...] = ("X", "M")
    partners: tuple[int, ...] | None = None

    def params(self, cap: int) -> dict[str, str]:
        params = {
            "reporterCode": ",".join(map(str, self.reporters)),
            "period": ",".join(self.periods),
            "flowCode": ",".join(self.flows),
            "cmdCode": "TOTAL",
            **TOTAL_BREAKDOWN,
            "includeDesc": "true",
            "maxRecords": str(cap),
        }
        if self.partners is not None:
            params["partnerCode"] = ",".join(map(str, self.partners))
        return params

    def name(self) -> str:
        """The file its answer is saved as."""
        reporters = (
            "-".join(map(str, self.reporters)) if len(self.reporters) <= 4 else f"{len(self.reporters)}reporters"
        )
        periods = self.periods[0] if len(self.periods) == 1 else f"{self.periods[0]}-{self.periods[-1]}"
        partners = "" if self.partners is None else "_p" + "-".join(map(str, self.partners))
        return f"comtrade_{self.freq}_{reporters}_{periods}_{''.join(self.flows)}{partners}.json"

    def split(self) -> list[Query]:
        """Two or more smaller queries that together ask the same, or [] if it cannot be split."""
        for field in ("periods", "reporters", "flows"):
            values = getattr(self, field)
            if len(values) > 1:
                half = len(values) // 2
                return [
                    Query(**{**self.__dict__, field: values[:half]}),
                    Query(**{**self.__dict__, field: values[half:]}),
                ]
        return []


@dataclass(frozen=True)
class Saved:
    """One answer of a fetch: `status` saved or unchanged, the file, its SHA-256, its records."""

    status: str
    path: Path
    sha256: str
    records: int


@dataclass(frozen=True)
class Dataset:
    """One final dataset the availability endpoint lists: a reporter (Comtrade code and ISO3), a
    period (YYYY or YYYYMM), the classification it was reported in (H5 ...), its record count,
    checksum, and first and last release times as the service writes them (UTC, no zone)."""

    reporter_code: int
    reporter_iso3: str | None
    period: str
    classification: str | None
    total_records: int
    checksum: str
    first_released: str | None
    last_released: str

    @property
    def mark(self) -> str:
        """What changes when the dataset's figures do: its checksum and last release."""
        return f"{self.classification}:{self.checksum}@{self.last_released}"


def _envelope(answer: fetch.Answer) -> list:
    """The `data` list of a Comtrade+ JSON answer. Raises ValueError saying why it is no data answer."""
    try:
        doc = json.loads(answer.body)
        data = doc.get("data")
    except (ValueError, AttributeError) as exc:
        raise ValueError(f"not a Comtrade+ JSON answer ({type(exc).__name__}): {answer.body[:200]!r}") from exc
    if not isinstance(data, list):
        raise ValueError(f"no data list in the answer: {answer.body[:200]!r}")
    if doc.get("error"):
        raise ValueError(f"the service answered with an error: {doc['error']!r}")
    if doc.get("count") is not None and doc["count"] != len(data):
        raise ValueError(f"the answer says count {doc['count']} but holds {len(data)} records: cut short")
    return data


def _datasets(answer: fetch.Answer) -> list[Dataset]:
    """The datasets of an availability answer. Raises ValueError (NotData) for a row without its
    reporter, period, record count, checksum or last release."""
    out = []
    for i, row in enumerate(_envelope(answer), 1):
        missing = [
            k
            for k in ("reporterCode", "period", "totalRecords", "datasetChecksum", "lastReleased")
            if not isinstance(row, dict) or row.get(k) in (None, "")
        ]
        if missing:
            raise ValueError(f"dataset {i} has no {', '.join(missing)}: {str(row)[:200]}")
        out.append(
            Dataset(
                int(row["reporterCode"]),
                row.get("reporterISO"),
                str(row["period"]),
                row.get("classificationCode"),
                int(row["totalRecords"]),
                str(row["datasetChecksum"]),
                row.get("firstReleased"),
                str(row["lastReleased"]),
            )
        )
    return out


def availability(
    periods: list[str],
    reporters: list[int] | None = None,
    freq: str = "A",
    *,
    key: str | None = None,
    base: str | None = None,
    http: requests.Session | None = None,
    **options,
) -> list[Dataset]:
    """The final commodity datasets Comtrade+ has for `periods` (YYYY, or YYYYMM for M) and
    `reporters` (Comtrade codes; None: every reporter), one per reporter, period and classification.
    With a key `data/v1/getDa/C/{freq}/HS`, else the public `public/v1/getDa/C/{freq}/HS`; the key
    goes in the header only. Raises sources.fetch's FetchErrors (NotData for an error text, a count
    that disagrees with the rows, or a row without what a dataset needs)."""
    key = key if key is not None else os.environ.get(KEY_ENV) or None
    base = (base or base_url()).rstrip("/")
    url = f"{base}/{'data' if key else 'public'}/v1/getDa/C/{freq}/HS"
    params = {"period": ",".join(periods)}
    if reporters:
        params["reportercode"] = ",".join(map(str, reporters))
    return fetch.get(
        url, params=params, headers={KEY_HEADER: key} if key else {}, http=http, read=_datasets, **options
    ).data


def _records(answer: fetch.Answer) -> int:
    """The records in a Comtrade+ JSON answer. Raises ValueError saying why it is no data answer."""
    return len(_envelope(answer))


def fetch_totals(
    folder: Path,
    reporters: list[int],
    periods: list[str],
    flows: tuple[str, ...] = ("X", "M"),
    partners: list[int] | None = None,
    freq: str = "A",
    *,
    key: str | None = None,
    base: str | None = None,
    http: requests.Session | None = None,
    **options,
) -> list[Saved]:
    """Fetch the bilateral totals of `reporters` x `periods` x `flows` (x `partners`, default all),
    splitting queries whose answers reach the row cap, and save each answer in `folder` unless the
    same answer is saved there. Returns one Saved per answer, in query order.

    Raises sources.fetch's FetchErrors: NotData (an error text, a count that disagrees with the
    records, no JSON), Truncated (a query at the cap that cannot be split), and the transport's.
    """
    key = key if key is not None else os.environ.get(KEY_ENV) or None
    base = (base or base_url()).rstrip("/")
    cap = int(os.environ.get("COMTRADE_MAX_RECORDS", KEY_CAP)) if key else PREVIEW_CAP
    url = f"{base}/data/v1/get/C/{freq}/HS" if key else f"{base}/public/v1/preview/C/{freq}/HS"
    headers = {KEY_HEADER: key} if key else {}
    pending = [Query(freq, tuple(reporters), tuple(periods), tuple(flows), tuple(partners) if partners else None)]
    answers: list[tuple[Query, fetch.Answer, int]] = []
    while pending:
        query = pending.pop(0)
        answer = fetch.get(url, params=query.params(cap), headers=headers, http=http, read=_records, **options)
        records = answer.data
        if records >= cap:
            parts = query.split()
            if not parts:
                raise fetch.Truncated(
                    answer.url,
                    f"{records} records, the most one call returns ({cap}), for a query "
                    "that cannot be split further: the answer may be cut; nothing was saved",
                )
            pending[:0] = parts
            continue
        answers.append((query, answer, records))
    # saved only once every part arrived whole: a failed part leaves the folder as it was
    return [
        Saved(
            *save_fetched(
                folder,
                query.name(),
                answer.body,
                answer.sha256,
                answer.fetched_at.isoformat(timespec="seconds") + "Z",
                answer.url,
                observations=records,
            ),
            answer.sha256,
            records,
        )
        for query, answer, records in answers
    ]


# Comtrade+'s reference lists as the service publishes them (files/v1/app/reference/), saved in the
# layout of the bundled lists (data/comtrade/reference/, which crosswalk_build.py reads): the file
# -> (the service's file, the prefix of its code fields). The partner list spells its fields
# PartnerCode, PartnerDesc, PartnerCodeIsoAlpha2/3 but partnerNote.
REFERENCE_LISTS = {
    "reference_reporters.csv": ("Reporters.json", "reporter", "reporter"),
    "reference_partners.csv": ("partnerAreas.json", "Partner", "partner"),
}
REFERENCE_COLUMNS = ("id", "country", "iso_3", "iso_2", "note", "entry_year", "exit_year", "group", "last_modified")


def _reference_rows(prefix: str, note_prefix: str, fetched_on: str):
    """A `read` for fetch.get: a reference list's answer -> rows of REFERENCE_COLUMNS. Raises
    ValueError (NotData) for an answer without a `results` list, or an entry without its id, code
    and name, or whose id and code differ."""

    def read(answer: fetch.Answer) -> list[dict]:
        try:
            results = json.loads(answer.body.decode("utf-8-sig")).get("results")
        except (ValueError, AttributeError, UnicodeDecodeError) as exc:
            raise ValueError(f"not a Comtrade+ reference list ({type(exc).__name__}): {answer.body[:200]!r}") from exc
        if not isinstance(results, list) or not results:
            raise ValueError(f"no results list in the answer: {answer.body[:200]!r}")
        rows = []
        for i, entry in enumerate(results, 1):
            if not isinstance(entry, dict):
                raise ValueError(f"entry {i} is not an object: {str(entry)[:200]}")
            code, name = entry.get(f"{prefix}Code"), entry.get("text")
            if entry.get("id") in (None, "") or code in (None, "") or not name or str(entry["id"]) != str(code):
                raise ValueError(f"entry {i} has no id, {prefix}Code and text that agree: {str(entry)[:200]}")
            rows.append(
                {
                    "id": str(entry["id"]),
                    "country": name,
                    "iso_3": entry.get(f"{prefix}CodeIsoAlpha3") or "",
                    "iso_2": entry.get(f"{prefix}CodeIsoAlpha2") or "",
                    "note": entry.get(f"{note_prefix}Note") or "",
                    "entry_year": (entry.get("entryEffectiveDate") or "")[:4],
                    "exit_year": (entry.get("entryExpiredDate") or "")[:4],
                    "group": str(bool(entry.get("isGroup"))),
                    "last_modified": fetched_on,
                }
            )
        return rows

    return read


def fetch_reference(
    folder: Path, *, base: str | None = None, http: requests.Session | None = None, **options
) -> list[Path]:
    """Fetch Comtrade+'s reporter and partner reference lists (public, no key) and save them in
    `folder` as reference_reporters.csv and reference_partners.csv, the layout crosswalk_build.py
    reads (`python -m tradewh.sources.comtrade.crosswalk_build FOLDER` then rebuilds the crosswalk from
    them). Both files are written only once both lists came whole, each in one rename. Returns the
    paths. Raises sources.fetch's FetchErrors (NotData: no results list, an entry without id, code
    and name)."""
    base = (base or base_url()).rstrip("/")
    fetched_on = datetime.now(timezone.utc).date().isoformat()
    lists = {
        name: fetch.get(
            f"{base}/files/v1/app/reference/{remote}",
            http=http,
            read=_reference_rows(prefix, note_prefix, fetched_on),
            **options,
        ).data
        for name, (remote, prefix, note_prefix) in REFERENCE_LISTS.items()
    }
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, rows in lists.items():
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, REFERENCE_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, folder / name)
        out.append(folder / name)
    return out
