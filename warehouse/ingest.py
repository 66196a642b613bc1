"""Input folder -> raw store, and raw store -> one raw frame. No Dagster here.

Policy for a bad workbook: the whole ingest stops before anything is written, with one error that
lists every bad file and what was expected (WorkbookSetError). A missing reporter would silently
change world totals and mirror figures, so a partial load is worse than none; the published
warehouse stays as it was, and the user fixes or removes the file named.
"""

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from sources import imf_dots
from warehouse.store import Store


class WorkbookSetError(ValueError):
    """One or more input files are not in the expected layout; nothing was ingested."""

    def __init__(self, folder: Path, errors: list[imf_dots.WorkbookLayoutError]):
        self.errors = errors
        super().__init__(
            f"{len(errors)} workbook(s) in {folder} are not IMF DOTS exports; nothing was ingested:\n"
            + "\n".join(f"  {e}" for e in errors)
        )


@dataclass
class IngestReport:
    folder: Path
    files: list[dict] = field(default_factory=list)

    @property
    def cells(self) -> int:
        return sum(f["cells"] for f in self.files)


def ingest_imf_dots(folder: Path, store: Store) -> IngestReport:
    """Parse every *.xlsx in `folder` and write each to the raw store (<file name>.<sha256>.parquet).

    Files are (re)parsed on every call, so a parser fix reaches stored releases whose workbook is
    still in the folder; stored files whose workbook has gone stay untouched (releases are kept).
    Raises FileNotFoundError for a missing/empty folder, WorkbookSetError for bad workbooks,
    ValueError for a malformed RELEASES.csv.
    """
    folder = Path(folder)
    paths = sorted(folder.glob("*.xlsx"))
    if not paths:
        raise FileNotFoundError(f"no .xlsx workbooks in {folder}")
    releases = imf_dots.read_releases(folder)
    parsed, errors = [], []
    for path in paths:
        try:
            sha = imf_dots.file_sha256(path)
            vintage = imf_dots.resolve_vintage(path, sha, releases)
            parsed.append((path, sha, vintage, imf_dots.read_workbook(path, vintage, sha)))
        except imf_dots.WorkbookLayoutError as exc:
            errors.append(exc)
    if errors:
        raise WorkbookSetError(folder, errors)
    report = IngestReport(folder)
    for path, sha, vintage, frame in parsed:
        store.write_raw(imf_dots.SOURCE, path.name, sha, frame)
        report.files.append(
            {
                "file": path.name,
                "sha256": sha,
                "vintage": vintage.isoformat(),
                "reporter": frame["reporter_name"][0] if frame.height else None,
                "cells": frame.height,
                "value_total_musd": frame["value"].sum(),
            }
        )
    return report


def load_raw(store: Store, source: str = imf_dots.SOURCE) -> pl.DataFrame:
    """Every stored raw file of a source as one frame with a `raw_id` (0..n-1, in Store.raw_files order).

    Raises FileNotFoundError if the raw store has nothing for the source.
    """
    files = store.raw_files(source)
    if not files:
        raise FileNotFoundError(f"raw store {store.raw_dir(source)} is empty: run the raw ingest first")
    raw = pl.read_parquet(files, schema=imf_dots.RAW_SCHEMA) if len(files) > 1 else pl.read_parquet(files[0])
    return raw.with_row_index("raw_id").with_columns(pl.col("raw_id").cast(pl.Int64))
