"""Storage and publishing: the raw store (system of record) and the build-then-swap warehouse file.

Layout under TRADEWH_HOME (see docs/design/storage.md for why):

    raw/<source>/<file name>.<sha256>.parquet
                                         one Parquet file per input file version ever ingested; every
                                         release stays here, even after its workbook is removed
    build/<run_id>.duckdb                the candidate warehouse a run is building (never read by users)
    tradewh.duckdb (TRADEWH_DB)          the published warehouse; replaced atomically, never written

Writers only ever write new files and rename them into place (`os.replace`, atomic on POSIX), so
a killed run leaves at most an orphan temp file or candidate, never a half-written published
file, and readers holding the published file open keep reading the version they opened.
"""

import os
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from warehouse import config

STALE_CANDIDATE_SECONDS = 24 * 3600


class PublishError(RuntimeError):
    """The candidate warehouse for a run is missing or unreadable; nothing was published."""


@dataclass(frozen=True)
class Store:
    home: Path
    db_path: Path

    @classmethod
    def from_env(cls) -> "Store":
        return cls(config.home(), config.db_path())

    def raw_dir(self, source: str) -> Path:
        return self.home / "raw" / source

    def raw_path(self, source: str, source_file: str, sha256: str) -> Path:
        return self.raw_dir(source) / f"{source_file}.{sha256}.parquet"

    def raw_files(self, source: str) -> list[Path]:
        """Every stored raw file of a source, sorted by input file name then SHA-256, so raw_ids are
        deterministic and, among exact duplicates, the copy from the first file name is kept."""
        return sorted(self.raw_dir(source).glob("*.parquet"))

    def write_raw(self, source: str, source_file: str, sha256: str, frame: pl.DataFrame) -> Path:
        """Write one input file's raw cells, atomically (temp file + rename)."""
        path = self.raw_path(source, source_file, sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        frame.write_parquet(tmp)
        os.replace(tmp, path)
        return path

    @property
    def build_dir(self) -> Path:
        return self.home / "build"

    def candidate_path(self, run_id: str) -> Path:
        return self.build_dir / f"{run_id}.duckdb"

    def publish(self, run_id: str) -> Path:
        """Swap the run's candidate in as the published warehouse, atomically.

        Raises PublishError (and publishes nothing) if the candidate is missing or does not open
        with its tables. Removes candidates of other runs older than a day (killed runs).
        """
        candidate = self.candidate_path(run_id)
        if not candidate.exists():
            raise PublishError(
                f"no candidate warehouse {candidate} for run {run_id}: materialize the canonical "
                "asset in the same run (the build_warehouse job does)"
            )
        try:
            with duckdb.connect(str(candidate), read_only=True) as con:
                con.execute("SELECT count(*) FROM canonical.observations").fetchone()
        except duckdb.Error as exc:
            raise PublishError(f"candidate {candidate} is not a readable warehouse: {exc}") from exc
        if Path(str(candidate) + ".wal").exists():
            raise PublishError(f"candidate {candidate} has an unmerged WAL file; it was not closed cleanly")
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(candidate, self.db_path)
        _fsync_dir(self.db_path.parent)
        self._remove_stale_candidates()
        return self.db_path

    def _remove_stale_candidates(self) -> None:
        cutoff = time.time() - STALE_CANDIDATE_SECONDS
        for path in self.build_dir.glob("*.duckdb*"):
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)

    def connect_published(self) -> duckdb.DuckDBPyConnection:
        """A read-only connection to the published warehouse. Raises FileNotFoundError if none."""
        if not self.db_path.exists():
            raise FileNotFoundError(f"no published warehouse at {self.db_path}: run `tradewh build` first")
        return duckdb.connect(str(self.db_path), read_only=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
