"""Storage and publishing: the raw store (system of record) and the build-then-swap warehouse file.

Layout under TRADEWH_HOME (see docs/design/storage.md for why):

    raw/<source>/<file>.<vintage>.<sha256>.parquet
                                         the raw store: one Parquet file per input file version that
                                         went into a published warehouse; every release stays here,
                                         even after its workbook leaves the input folder
    staging/<run_id>/<source>/...        what a run parsed; committed into raw/ only when it publishes
    build/<run_id>.duckdb                the candidate warehouse a run is building (never read by users)
    tradewh.duckdb (TRADEWH_DB)          the published warehouse; replaced atomically, never written;
                                         its raw views read the raw store's files in place

A run sees the raw store as committed files + its own staged files, where a staged file
*supersedes* a committed one with the same input file name and either the same vintage (a corrected
file within a release) or the same SHA-256 (the same bytes, its vintage reassigned in RELEASES.csv).
A new vintage is a new release and is kept beside the old one.

Writers only ever write new files and rename them into place (`os.replace`, atomic on POSIX), so
a killed run leaves at most an orphan temp file, staging folder or candidate (the next run removes
them: remove_leftovers), never a half-written published file; a failed run commits nothing to the
raw store (so a bad file, once fixed or removed, is gone for good); readers holding the published
file open keep the version they opened.
"""

import functools
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from itertools import accumulate
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from tradewh.sources.contract import file_version
from tradewh.warehouse import config
from tradewh.warehouse.tables import sql_literal

# LZ4 rather than Polars' default zstd: on the bundled workbooks the raw store is 1.4x larger (about
# 50 MB) and is written about 15 % and read about 2.5x faster; every run reads it twice.
RAW_COMPRESSION = "lz4"


def footer(path: Path) -> pq.FileMetaData:
    """The Parquet footer of a raw-store file (its rows and key-value metadata). Read once per file
    version (sources.contract.file_version) in a process: a run that looks at every file's rows in
    several steps reads each footer once. Raises OSError and pyarrow's errors for a missing or
    unreadable file."""
    key = file_version(path)
    return _footer(*key) if key is not None else pq.read_metadata(path)


@functools.lru_cache(maxsize=1 << 16)
def _footer(path: str, size: int, mtime_ns: int, inode: int) -> pq.FileMetaData:
    return pq.read_metadata(path)


class PublishError(RuntimeError):
    """The candidate warehouse for a run is missing or unreadable; nothing was published."""


@dataclass(frozen=True)
class RawFile:
    """One raw-store file name: <input file name>.<vintage>.<sha256>.parquet."""

    source_file: str
    vintage: date
    sha256: str
    path: Path = Path()

    @property
    def name(self) -> str:
        return f"{self.source_file}.{self.vintage.isoformat()}.{self.sha256}.parquet"

    @classmethod
    def parse(cls, path: Path) -> "RawFile":
        source_file, vintage, sha, ext = path.name.rsplit(".", 3)
        if ext != "parquet" or len(sha) != 64:
            raise ValueError(f"{path}: not a raw-store file name (<file>.<vintage>.<sha256>.parquet)")
        return cls(source_file, date.fromisoformat(vintage), sha, path)

    def superseded_by(self, other: "RawFile") -> bool:
        return self.source_file == other.source_file and (self.vintage == other.vintage or self.sha256 == other.sha256)

    def sort_key(self) -> tuple:
        return (self.source_file, self.vintage, self.sha256)


@dataclass(frozen=True)
class Store:
    home: Path
    db_path: Path

    @classmethod
    def from_env(cls) -> "Store":
        return cls(config.home(), config.db_path())

    def raw_dir(self, source: str) -> Path:
        return self.home / "raw" / source

    def staging_dir(self, run_id: str, source: str) -> Path:
        return self.home / "staging" / run_id / source

    def stage_raw(
        self,
        run_id: str,
        source: str,
        source_file: str,
        vintage: date,
        sha256: str,
        frame: pl.DataFrame,
        metadata: dict[str, str] | None = None,
    ) -> Path:
        """Write one input file's raw cells into this run's staging folder, atomically, with
        `metadata` as the Parquet file's key-value metadata (read back by `raw_metadata`)."""
        path = self.staging_dir(run_id, source) / RawFile(source_file, vintage, sha256).name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        frame.write_parquet(tmp, compression=RAW_COMPRESSION, metadata=metadata)
        os.replace(tmp, path)
        return path

    def committed_raw(self, source: str, source_file: str, vintage: date, sha256: str) -> Path | None:
        """The raw-store file of exactly this input file version, if one is committed."""
        path = self.raw_dir(source) / RawFile(source_file, vintage, sha256).name
        return path if path.is_file() else None

    @staticmethod
    def raw_metadata(path: Path) -> dict[str, str]:
        """A raw file's key-value metadata (as `stage_raw` wrote it), read from the Parquet footer
        only; {} for a file written without, or one whose footer cannot be read (the ingest then
        parses its workbook again, and the new file replaces it when the run publishes)."""
        try:
            meta = footer(path).metadata or {}
        except (OSError, pa.ArrowException):
            return {}
        return {k.decode(): v.decode() for k, v in meta.items() if not k.startswith(b"ARROW:")}

    def discard_staging(self, run_id: str, source: str) -> None:
        """Remove what a run staged for `source` (its ingest failed: nothing of it may be committed)."""
        shutil.rmtree(self.staging_dir(run_id, source), ignore_errors=True)

    def raw_files(self, source: str, run_id: str | None = None) -> list[Path]:
        """The raw files a run reads: committed ones not superseded by the run's staged ones, plus the
        staged ones; sorted by input file name, then vintage and SHA-256, so raw_ids are
        deterministic and, among exact duplicates, the copy from the first file name is kept."""
        staged = [RawFile.parse(p) for p in self._parquet(self.staging_dir(run_id, source))] if run_id else []
        committed = [RawFile.parse(p) for p in self._parquet(self.raw_dir(source))]
        keep = [c for c in committed if not any(c.superseded_by(s) for s in staged)]
        return [f.path for f in sorted(keep + staged, key=RawFile.sort_key)]

    def raw_index(self, source: str, files: list[Path], first_raw_id: int = 0) -> pl.DataFrame:
        """META_RAW_FILES rows for a run's raw `files` of `source` (Store.raw_files, in that order): each
        file's path once committed (raw/<source>/<name>, where publish moves staged files), its rows
        (from the Parquet footer) and the raw_id of its first row (`first_raw_id` plus the rows of the
        files before it: the sources' raw_ids follow each other, so they are unique across sources)."""
        rows = [footer(f).num_rows for f in files]
        return pl.DataFrame(
            {
                "source": [source] * len(files),
                "file_index": range(len(files)),
                "path": [str(self.raw_dir(source) / f.name) for f in files],
                "first_raw_id": list(accumulate(rows, initial=first_raw_id))[:-1],
                "rows": rows,
            },
            schema={
                "source": pl.String,
                "file_index": pl.Int32,
                "path": pl.String,
                "first_raw_id": pl.Int64,
                "rows": pl.Int64,
            },
        )

    def commit_raw(self, run_id: str, source: str) -> list[Path]:
        """Move a run's staged raw files into the raw store, removing the committed files they
        supersede. Returns the committed paths. Called by publish, before the warehouse swap."""
        staged = [RawFile.parse(p) for p in self._parquet(self.staging_dir(run_id, source))]
        committed = [RawFile.parse(p) for p in self._parquet(self.raw_dir(source))]
        self.raw_dir(source).mkdir(parents=True, exist_ok=True)
        out = []
        for s in staged:
            target = self.raw_dir(source) / s.name
            os.replace(s.path, target)
            out.append(target)
            for c in committed:
                if c.superseded_by(s) and c.name != s.name:
                    c.path.unlink(missing_ok=True)
        return out

    @staticmethod
    def _parquet(folder: Path) -> list[Path]:
        return sorted(folder.glob("*.parquet")) if folder.is_dir() else []

    @property
    def build_dir(self) -> Path:
        return self.home / "build"

    @property
    def check_cache(self) -> Path:
        """Where the checks keep the GX outcome of their last frame (expectations.validate._validate)."""
        return self.home / "cache" / "checks"

    def candidate_path(self, run_id: str) -> Path:
        return self.build_dir / f"{run_id}.duckdb"

    def raw_checks_path(self, run_id: str) -> Path:
        """Where the raw asset leaves its check results for the canonical asset of the same run."""
        self.build_dir.mkdir(parents=True, exist_ok=True)
        return self.build_dir / f"{run_id}.raw_checks.json"

    def publish(self, run_id: str, finalize: Callable[[duckdb.DuckDBPyConnection], None] | None = None) -> Path:
        """Commit the run's staged raw files, call `finalize(con)` with a connection to the candidate
        (the build's last touch that needs the committed files: db.create_raw_views), then swap the
        candidate in as the published warehouse.

        Raises PublishError (and publishes nothing) if the candidate is missing or does not open
        with its tables, or if `finalize` fails.
        """
        candidate = self.candidate_path(run_id)
        if not candidate.exists():
            raise PublishError(
                f"no candidate warehouse {candidate} for run {run_id}: materialize the canonical "
                "asset in the same run (the build_warehouse job does)"
            )
        if Path(str(candidate) + ".wal").exists():
            raise PublishError(f"candidate {candidate} has an unmerged WAL file; it was not closed cleanly")
        try:
            con = duckdb.connect(str(candidate))
            con.execute("SELECT count(*) FROM canonical.observations").fetchone()
        except duckdb.Error as exc:
            raise PublishError(f"candidate {candidate} is not a readable warehouse: {exc}") from exc
        with con:  # closed (and checkpointed) before the swap
            run_staging = self.home / "staging" / run_id
            if run_staging.is_dir():
                for source_dir in sorted(run_staging.iterdir()):
                    self.commit_raw(run_id, source_dir.name)
                    fsync_dir(self.raw_dir(source_dir.name))
                shutil.rmtree(run_staging)
            if finalize is not None:
                try:
                    finalize(con)
                except (duckdb.Error, OSError) as exc:
                    raise PublishError(f"candidate {candidate} could not be finished: {exc}") from exc
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(candidate, self.db_path)
        fsync_dir(self.db_path.parent)
        for path in self.build_dir.glob(f"{run_id}.*"):  # what the run left beside its candidate
            path.unlink(missing_ok=True)
        return self.db_path

    def remove_leftovers(self, run_id: str) -> list[Path]:
        """Remove the candidates, check files and staging folders of every run but `run_id`: runs
        that were killed, or stopped by a blocking check (whose candidate stays for inspection until
        the next run). Only safe while holding the home's build lock (warehouse.lock): no live build
        is without it. Returns what was removed."""
        removed = []
        for path in [*self.build_dir.glob("*.duckdb*"), *self.build_dir.glob("*.raw_checks.json")]:
            if not path.name.startswith(f"{run_id}."):
                path.unlink(missing_ok=True)
                removed.append(path)
        staging = self.home / "staging"
        for path in staging.iterdir() if staging.is_dir() else []:
            if path.name != run_id:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        return removed

    def connect_published(self) -> duckdb.DuckDBPyConnection:
        """A read-only connection to the published warehouse as it is now (open_read_only). Raises
        FileNotFoundError if there is none, WarehouseLockedError if another program holds it for writing."""
        if not self.db_path.exists():
            raise FileNotFoundError(f"no published warehouse at {self.db_path}: run `tradewh build` first")
        return open_read_only(self.db_path)


class WarehouseLockedError(OSError):
    """Another program holds the warehouse file open for writing, so it cannot be read now."""


# DuckDB's words for a file another process holds: ... Conflicting lock is held in <program> (PID <n>) ...
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.+?) \(PID (\d+)\)")


def open_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse file at `path` as it is *now*: the file is attached
    to a fresh in-memory database (catalog "tradewh", made the default) instead of opened with
    duckdb.connect(path), which in one process reuses the instance of a connection already open to
    that path and so keeps showing the warehouse as it was before a rebuild replaced the file.
    Its tables, views and macros answer as in a direct connection. Raises WarehouseLockedError,
    naming the program and process, if another program holds the file for writing (DuckDB lets no
    one read it then); duckdb.Error for a file that is no DuckDB database."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {sql_literal(path)} AS tradewh (READ_ONLY)")
    except duckdb.IOException as exc:
        con.close()
        held = _LOCK_HOLDER.search(str(exc))
        if not held:
            raise
        raise WarehouseLockedError(
            f"{path} is open for writing in another program ({held.group(1)}, process {held.group(2)}), and DuckDB "
            "lets no one read it meanwhile: close it there, or open it read-only there, and run this again"
        ) from exc
    except BaseException:
        con.close()
        raise
    con.execute("USE tradewh")
    return con


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (a rename into it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
