"""The contract every source implements, and what file sources share.

A source is one folder under `sources/` whose `source.py` defines one object implementing `Source`,
registered by one line in `sources/registry.py`. Ingest, the canonical layer, marts, growth and the
CLI know sources only through this contract (docs/add-a-source.md walks through it):

    info              provenance as data: publisher, unit, coverage, licence, how releases are declared
    raw_table         the raw table (warehouse.tables.Table): the columns of its raw-store Parquet files
    input_files       the files in its input folder, each with its declared release (vintage)
    parser_fingerprint  what decides a file's raw rows besides its bytes (code + reader versions)
    parse             files -> raw frames (raw_table columns), or a FileLayoutError per bad file
    code_columns      the raw columns holding the source's own reporter/partner names or codes, which
                      its crosswalk (crosswalk_path) maps to entity codes
    to_canonical      raw rows with mapped codes -> canonical rows (+ `reason`/`detail` for the rows
                      that cannot load, which are quarantined), with lineage back to file/row/column
    release_scope     what a newer release of the source replaces (see RELEASE_SCOPES); a source
                      whose files differ in what they answer sets it per file (release_scope_of)

No Dagster, no DuckDB here: a source turns files into Polars frames.
"""

import csv
import functools
import hashlib
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from importlib.metadata import version
from pathlib import Path

import polars as pl

from tradewh.warehouse.products import CLASSIFICATIONS
from tradewh.warehouse.tables import Table

RELEASES_FILE = "RELEASES.csv"
# The ledger of a live source's fetched answers in its input folder (read_fetched, append_fetched):
# an answer states no release date, so its release is when it was fetched, identified by its content.
FETCHED_FILE = "FETCHED.csv"
FETCHED_COLUMNS = ("file", "sha256", "fetched_at", "url", "series", "observations")

# What a newer release (vintage) of a source replaces in canonical.observations_latest:
#   reporter     every partner of a reporter, flow and period the release publishes: a partner the
#                newer release no longer lists is not filled in from an older one (a DOTS workbook,
#                the IMTS export: one reporter, all partners)
#   observation  only the observations the release contains (an answer to a query for some
#                partners, such as a Comtrade extract, says nothing about the partners not asked)
RELEASE_SCOPES = ("reporter", "observation")

# Columns every source's canonical rows carry for lineage (besides raw_id and the file version).
LINEAGE_COLUMNS = ("source_file", "source_sheet", "source_cell")


@dataclass(frozen=True)
class SourceInfo:
    """What a source is, as data (stored in ref.sources and shown in docs/sources.md)."""

    name: str  # the `source` code in every table, e.g. imf_dots
    title: str
    publisher: str
    unit: str  # as published, e.g. "US$ millions"
    coverage: str  # years and reporters of the bundled files
    releases: str  # how a file's release (vintage) is declared
    licence: str
    url: str


@dataclass(frozen=True)
class InputFile:
    """One input file version with its release: `vintage` and how it was declared (`release_kind`:
    declared = a row of the folder's RELEASES.csv; last_updated = the publisher's own "last
    updated" date printed in the file; retrieved_by = the date by which the file was retrieved, as
    its provenance records, not a publication date; fetched = the UTC day a live source's answer
    with exactly this content was fetched, as the folder's FETCHED.csv records). Never a timestamp a
    program wrote into the file. `classification`: the HS revision the release declares for a file
    whose records state none (RELEASES.csv; warehouse.products), else None."""

    path: Path
    sha256: str
    vintage: date
    release_kind: str
    classification: str | None = None

    @property
    def name(self) -> str:
        return self.path.name


class FileLayoutError(ValueError):
    """A file is not in the layout its source expects; `problems` lists every deviation found."""

    def __init__(self, path: Path | str, problems: list[str], what: str = "a file of this source"):
        self.path = str(path)
        self.problems = problems
        super().__init__(f"{Path(path).name}: not {what}: " + "; ".join(problems))


def plain_unreadable(path: Path) -> str | None:
    """What a file plainly is when it is no data file at all, in words for a FileLayoutError's
    problems: "empty file (0 bytes)", or an HTML page (what a failed download or a portal's error
    page saves); None otherwise (and for a file that cannot be opened: the reader says why)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024)
    except OSError:
        return None
    if not head:
        return "empty file (0 bytes)"
    if looks_like_html(head):
        return f"an HTML page, not data (a failed download or a portal's error page?): {_first_line(head)!r}"
    return None


def looks_like_html(head: bytes) -> bool:
    """Whether the first bytes of a file or an answer are an HTML page (a portal's error or login
    page, saved or sent instead of data)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<!doctype html", b"<html")) or (text.startswith(b"<") and b"<html" in text)


def _first_line(head: bytes) -> str:
    return head.decode("utf-8", "replace").strip().splitlines()[0][:80] if head.strip() else ""


class SourceBase:
    """What every source has, file or bulk: its `info`, its name, and where its input folder is
    (warehouse.config.input_dir)."""

    info: SourceInfo

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def input_env(self) -> str:
        """The environment variable naming the input folder, e.g. TRADEWH_IMF_DOTS_DIR."""
        return f"TRADEWH_{self.name.upper()}_DIR"

    @property
    def default_input(self) -> Path:
        """The default input folder, relative to the working directory: data/<name> (in a clone of the
        repository, the bundled files)."""
        return Path("data") / self.name


class Source(SourceBase, ABC):
    """One source of trade data behind the contract (see the module docstring)."""

    raw_table: Table
    release_scope: str = "reporter"
    code_columns: tuple[str, str]  # (reporter, partner) columns of raw_table
    reporter_label: str | None = None  # raw column naming the reporter for people (default: code_columns[0])
    value_column: str  # raw column with the published value, in info.unit (reconciliation totals)
    crosswalk_path: Path
    file_suffixes: tuple[str, ...]  # input file name endings it reads (lower case)
    file_noun: str = "files"  # what its input files are called in messages ("workbooks")
    raw_rows: str = "raw rows read from the files"  # what one raw row is, for the load summary
    low_cardinality: tuple[str, ...] = ()  # raw text columns with few distinct values (read as Categorical)
    precedence: int = 100  # which source's figures growth takes for a year when several have some (lower first)
    currency: str = "USD"  # the currency it publishes in (another one is converted with warehouse.currency)
    batch: int = 1  # files parsed together (a source whose parse has a per-call cost batches more)

    def release_scope_of(self, source_file: str) -> str:
        """What a newer release replaces for the rows of `source_file` (one of RELEASE_SCOPES): the
        source's release_scope unless a kind of file answers less than its slice (an API answer for
        some partners of a reporter whose workbooks publish all of them)."""
        return self.release_scope

    @abstractmethod
    def location(self) -> pl.Expr:
        """Where a raw row is in its file, as text for messages (e.g. "sheet 'Exports, FOB' cell B10",
        "line 12, column 2021"), an expression over the raw columns."""

    def input_paths(self, folder: Path) -> tuple[list[Path], list[str]]:
        """(input files in `folder` with one of file_suffixes, any case, but the folder's RELEASES.csv and FETCHED.csv;
        names skipped: "~$" lock files that an open Excel workbook leaves, which hold no data)."""
        paths, skipped = [], []
        for path in sorted(Path(folder).iterdir()):
            if (
                path.is_file()
                and path.name.lower().endswith(self.file_suffixes)
                and path.name not in (RELEASES_FILE, FETCHED_FILE)
            ):
                (skipped.append(path.name) if path.name.startswith("~$") else paths.append(path))
        return paths, skipped

    @abstractmethod
    def input_files(self, folder: Path) -> tuple[list[InputFile], list[str], list[FileLayoutError]]:
        """(the files of `folder` with their releases, in name order; names skipped; an error per file
        whose release cannot be established). Raises ValueError for a malformed RELEASES.csv."""

    @abstractmethod
    def parser_fingerprint(self) -> str:
        """A digest of what decides a file's raw rows besides its bytes: a file parsed under another
        fingerprint is parsed again (warehouse.ingest)."""

    @abstractmethod
    def parse(self, files: list[InputFile]) -> tuple[dict[InputFile, pl.DataFrame], list[FileLayoutError]]:
        """Parse `files` into raw frames (raw_table's columns but raw_id, rows in file order), or
        one FileLayoutError per bad file naming it and every problem found."""

    @abstractmethod
    def to_canonical(self, mapped: pl.LazyFrame) -> pl.LazyFrame:
        """Raw rows (raw_table columns with raw_id) plus reporter_iso3/reporter_type and
        partner_iso3/partner_type (null where the code column is null) -> one row per raw row with
        the canonical columns (warehouse.schema.CANONICAL_OBSERVATIONS) and `reason` (null for a row
        that loads; else why it is quarantined) and `detail` (what was found)."""


def canonical_period(
    freq: pl.Expr, year: pl.Expr, month: pl.Expr | None = None, quarter: pl.Expr | None = None
) -> pl.Expr:
    """An observation's canonical `period` text from its frequency: A "2023", Q "2023Q1", M "202301"
    (the format the check flow_valuation_freq_period_valid holds every observation to); null for
    another frequency, or a Q or M period without its quarter or month."""
    year_text = year.cast(pl.String)
    period = pl.when(freq == "A").then(year_text)
    if quarter is not None:
        period = period.when(freq == "Q").then(pl.format("{}Q{}", year_text, quarter))
    if month is not None:
        period = period.when(freq == "M").then(year_text + month.cast(pl.String).str.zfill(2))
    return period


# A file modified this recently (ns) is read again rather than remembered: a rewrite within the file
# system's timestamp granularity can leave its size and modification time as they were (git's
# "racily clean" files).
RACY_NS = 2_000_000_000


def file_version(path: Path) -> tuple[str, int, int, int] | None:
    """(path, size, modification time, inode) of a file as it is now: the key under which a process
    remembers what it read from it (file_sha256, warehouse.store.footer). None for a file modified in
    the last RACY_NS, which is read again each time. Raises OSError for a missing file."""
    st = os.stat(path)
    if time.time_ns() - st.st_mtime_ns < RACY_NS:
        return None
    return str(path), st.st_size, st.st_mtime_ns, st.st_ino


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes (hex). Remembered per file version (file_version) in a process: a
    run asks for every input file's hash in its no-op check, its partitions and its ingest."""
    key = file_version(path)
    return _sha256(*key) if key is not None else _hash(path)


@functools.lru_cache(maxsize=1 << 16)
def _sha256(path: str, size: int, mtime_ns: int, inode: int) -> str:
    return _hash(Path(path))


def _hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def code_fingerprint(package_dir: Path, libraries: tuple[str, ...], shared: tuple[Path, ...] = ()) -> str:
    """sha256 of every .py file of a source's folder, of the `shared` modules it reads with (e.g.
    sources/xlsx.py) and of the versions of `libraries` (the readers and Polars): the parser
    fingerprint of a source."""
    h = hashlib.sha256()
    for path in [*sorted(Path(package_dir).glob("*.py")), *map(Path, shared)]:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    h.update(library_versions(tuple(libraries)).encode())
    return h.hexdigest()


@functools.cache
def library_versions(libraries: tuple[str, ...]) -> str:
    """ "<library> <version>; ..." for `libraries`, read from their installed metadata once per process
    (what a process imported does not change under it; code fingerprints and code versions ask for
    it in every run and every check)."""
    return "; ".join(f"{lib} {version(lib)}" for lib in libraries)


@dataclass(frozen=True)
class Release:
    """A RELEASES.csv row: the vintage of a file version and how it was declared."""

    vintage: date
    kind: str
    line: int
    classification: str | None = None


RELEASE_KINDS = ("declared", "retrieved_by", "last_updated")


def read_releases(folder: Path) -> dict[str, Release]:
    """`RELEASES.csv` in an input folder -> {file_sha256: Release}. Missing file -> {}.

    Columns: source_file, file_sha256, vintage (ISO date), and optionally release_kind (default
    "declared"; "retrieved_by" for a date by which the file was retrieved), generated_at, and
    classification (the HS revision of a product file whose records state none: H0-H6, or HS as
    reported; warehouse.products). Raises ValueError naming the file and line for a malformed row,
    an unknown classification, or a file listed twice with different vintages.
    """
    path = Path(folder) / RELEASES_FILE
    if not path.exists():
        return {}
    releases: dict[str, Release] = {}
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            try:
                sha, vintage = row["file_sha256"].strip(), date.fromisoformat(row["vintage"].strip())
                kind = (row.get("release_kind") or "declared").strip()
                if kind not in RELEASE_KINDS:
                    raise ValueError(f"release_kind {kind!r} is not one of {', '.join(RELEASE_KINDS)}")
                classification = (row.get("classification") or "").strip() or None
                if classification is not None and classification not in CLASSIFICATIONS:
                    raise ValueError(
                        f"classification {classification!r} is not an HS revision ({', '.join(CLASSIFICATIONS)})"
                    )
            except (AttributeError, KeyError, ValueError) as exc:
                raise ValueError(
                    f"{path} line {line}: expected file_sha256, an ISO vintage date and known codes ({exc})"
                ) from exc
            if sha in releases and releases[sha].vintage != vintage:
                raise ValueError(
                    f"{path} line {line}: file {sha[:12]}... is listed with vintage {vintage}, "
                    f"but line {releases[sha].line} gives {releases[sha].vintage}; one file belongs to one release"
                )
            releases.setdefault(sha, Release(vintage, kind, line, classification))
    return releases


def declared_input_files(source: Source, folder: Path) -> tuple[list[InputFile], list[str], list[FileLayoutError]]:
    """input_files for a source whose every file must have a declared release (the file states no
    release of its own): its RELEASES.csv row, else, for an answer a live source's fetcher saved, its
    FETCHED.csv row (fetched_release). A file with neither is an error naming it."""
    paths, skipped = source.input_paths(folder)
    releases = read_releases(folder)
    fetched = read_fetched(folder)
    files, errors = [], []
    for path in paths:
        found = declared_release(folder, path, file_sha256(path), releases, fetched)
        (errors if isinstance(found, FileLayoutError) else files).append(found)
    return files, skipped, errors


def declared_release(
    folder: Path, path: Path, sha256: str, releases: dict[str, Release], fetched: list[dict]
) -> InputFile | FileLayoutError:
    """The release of a file that states none of its own: its RELEASES.csv row (`releases`, by
    SHA-256), else, for an answer a live source's fetcher saved, its FETCHED.csv row (`fetched`,
    fetched_release); else an error naming the file and the row it needs."""
    release = releases.get(sha256)
    if release is not None:
        return InputFile(path, sha256, release.vintage, release.kind, release.classification)
    if any(r["file"] == path.name for r in fetched):
        return fetched_release(folder, path, sha256, fetched)
    return FileLayoutError(
        path,
        [
            f"no release: the file states none, so it needs a row in {RELEASES_FILE} (its SHA-256 "
            f"{sha256}, and the date by which it was retrieved as vintage with release_kind retrieved_by); "
            f"an answer fetched from a live source has its row in {FETCHED_FILE} instead, written by the fetcher"
        ],
        what="a file with a declared release",
    )


def read_fetched(folder: Path) -> list[dict]:
    """The folder's FETCHED.csv rows (FETCHED_COLUMNS, fetched_at an ISO UTC time), oldest first;
    [] without one. Raises ValueError naming the file and line for a row without a file, a SHA-256
    or an ISO fetch time."""
    path = Path(folder) / FETCHED_FILE
    if not path.exists():
        return []
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            try:
                if not row["file"] or len(row["sha256"] or "") != 64:
                    raise ValueError("a file name and a 64-digit SHA-256 are required")
                datetime.fromisoformat(row["fetched_at"].removesuffix("Z"))
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                raise ValueError(
                    f"{path} line {line}: expected file, sha256 and fetched_at (ISO, UTC) ({exc})"
                ) from exc
            rows.append(row)
    return rows


def append_fetched(folder: Path, row: dict) -> None:
    """Add one FETCHED_COLUMNS row to the folder's FETCHED.csv (its header written first if new)."""
    path = Path(folder) / FETCHED_FILE
    new = not path.exists()
    with open(path, "a", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, FETCHED_COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow({k: row.get(k, "") for k in FETCHED_COLUMNS})


def save_fetched(
    folder: Path,
    name: str,
    body: bytes,
    sha256: str,
    fetched_at: str,
    url: str,
    series: int | str = "",
    observations: int | str = "",
) -> tuple[str, Path]:
    """Save a live source's whole answer as `folder`/`name` with its FETCHED.csv row, unless that
    file already holds exactly this answer: ("unchanged" or "saved", the path). The file is written
    whole or not at all (a temporary file renamed into place), after its ledger row, so an answer
    on disk always has its release."""
    folder = Path(folder)
    path = folder / name
    if (
        path.exists()
        and file_sha256(path) == sha256
        and any(r["file"] == name and r["sha256"] == sha256 for r in read_fetched(folder))
    ):
        return "unchanged", path
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.{os.getpid()}.tmp"
    tmp.write_bytes(body)
    append_fetched(
        folder,
        {
            "file": name,
            "sha256": sha256,
            "fetched_at": fetched_at,
            "url": url,
            "series": series,
            "observations": observations,
        },
    )
    os.replace(tmp, path)
    return "saved", path


def fetched_release(folder: Path, path: Path, sha256: str, rows: list[dict]) -> InputFile | FileLayoutError:
    """A fetched answer's release: the UTC day of the last FETCHED.csv row (`rows`, read_fetched)
    with its name and content. An answer saved again later with the same content keeps that day's
    release; one without a row is an error naming it."""
    fetched = [r for r in rows if r["file"] == path.name and r["sha256"] == sha256]
    if not fetched:
        return FileLayoutError(
            path,
            [
                f"no release: {FETCHED_FILE} lists {path.name}, but not with this content (SHA-256 {sha256}): the "
                "file changed after its fetch, and a fetched answer needs its row, which the fetcher writes"
            ],
            what="a fetched answer with its release",
        )
    at = datetime.fromisoformat(fetched[-1]["fetched_at"].removesuffix("Z"))
    return InputFile(path, sha256, at.date(), "fetched")


def parse_each(
    files: list[InputFile], read: Callable[[InputFile], pl.DataFrame]
) -> tuple[dict[InputFile, pl.DataFrame], list[FileLayoutError]]:
    """Source.parse for a source that reads each file on its own: `read(file)` gives the file's raw
    frame or raises the source's FileLayoutError. Returns every frame, or no
    frames and one error per bad file (the batch is then not staged, warehouse.ingest)."""
    frames, errors = {}, []
    for f in files:
        try:
            frames[f] = read(f)
        except FileLayoutError as exc:
            errors.append(exc)
    return ({}, errors) if errors else (frames, [])


@dataclass(frozen=True)
class BulkFile:
    """One bulk product file (one year in one HS revision) with its declared release: `vintage`
    and `release_kind` as for InputFile (its RELEASES.csv row), `classification` (H0-H6) and `year`
    as the file states them (its name) and the release confirms."""

    path: Path
    sha256: str
    vintage: date
    release_kind: str
    classification: str
    year: int

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def partition(self) -> str:
        """Its Dagster partition: `<year>|<classification>` (warehouse.bulk, assets.products)."""
        return f"{self.year}|{self.classification}"


class BulkSource(SourceBase, ABC):
    """A bulk product source: one large CSV per year and HS revision (about 10 M rows each), loaded by
    DuckDB straight from the CSV into the product store (warehouse.bulk), never row by row in Python.

        info              as for Source
        crosswalk_source  the source whose crosswalk maps its numeric country codes
        input_files       the files in its input folder with their declared releases
        raw_sql           the one SELECT reading a file's rows as published (typed), stored as they are
        canonical_sql     raw rows -> product observations (warehouse.schema's PRODUCT_OBSERVATIONS
                          columns, with `reason` set on the rows to quarantine), applied when read
    """

    crosswalk_source: str
    raw_columns: dict[str, str]  # raw_sql's columns and their DuckDB types
    file_noun: str = "files"

    @abstractmethod
    def input_files(self, folder: Path) -> tuple[list[BulkFile], list[FileLayoutError]]:
        """(the files of `folder` with their releases, in name order; an error per file whose name,
        release or revision cannot be established). Raises ValueError for a malformed RELEASES.csv."""

    @abstractmethod
    def raw_sql(self, file: BulkFile) -> str:
        """A DuckDB SELECT over `file` giving its rows as published, typed, in file order: what the
        product store keeps (one Parquet partition per file version). Must read the file in one scan."""

    @abstractmethod
    def canonical_sql(self, raw: str, codes: str) -> str:
        """A DuckDB SELECT turning raw rows (`raw`: a FROM item with raw_sql's columns plus source,
        classification, year, vintage, source_file) into warehouse.schema's PRODUCT_OBSERVATIONS
        columns plus `reason` (NULL for a row that loads, else why not); `codes` is a FROM item
        (source_code INTEGER, code, entity_type) of the crosswalk's numeric codes. The product views
        and the load's audit both read it, so the rule is applied once."""
