"""Input folders -> raw store, and raw store -> raw frames, for every source. No Dagster here.

Policy for a bad file: the source's ingest stops before anything is written, with one error that
lists every bad file and what was expected (FileSetError). A missing reporter would silently
change world totals and mirror figures, so a partial load is worse than none; the published
warehouse stays as it was, and the user fixes or removes the file named.
"""

import gc
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate
from pathlib import Path

import polars as pl

from tradewh.sources.contract import FileLayoutError, InputFile, Source
from tradewh.warehouse.store import Store


class FileSetError(ValueError):
    """One or more input files of a source are bad; nothing of that source was ingested."""

    def __init__(self, source: str, folder: Path, errors: list[FileLayoutError]):
        self.source = source
        self.errors = errors
        super().__init__(
            f"{len(errors)} file(s) in {folder} cannot be read as {source} input; nothing was ingested:\n"
            + "\n".join(f"  {e}" for e in errors)
        )


@dataclass
class IngestReport:
    source: str
    folder: Path
    files: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def cells(self) -> int:
        """Raw rows of the files ingested (non-empty cells, for a workbook)."""
        return sum(f["cells"] for f in self.files)

    @property
    def parsed(self) -> int:
        """Files parsed by this run (the others were taken from the raw store)."""
        return sum(f["parsed"] for f in self.files)


def input_files(source: Source, folder: Path) -> tuple[list[InputFile], list[str]]:
    """(the source's input files in `folder` with their releases, names skipped). Raises
    FileNotFoundError for a missing or empty folder, FileSetError if a file's release cannot be
    established, ValueError for a malformed RELEASES.csv."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"input folder {folder} of {source.name} does not exist")
    files, skipped, errors = source.input_files(folder)
    if errors:
        raise FileSetError(source.name, folder, sorted(errors, key=lambda e: e.path))
    if not files:
        raise FileNotFoundError(f"no {source.name} input files ({', '.join(source.file_suffixes)}) in {folder}")
    return files, skipped


def ingest(
    source: Source,
    folder: Path,
    store: Store,
    run_id: str,
    vintages: set[date] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Bring the files of `folder` (of the releases in `vintages`, or all) into this run's view of
    the raw store.

    A file whose exact version (name, vintage, SHA-256) is already committed to the raw store,
    parsed under the source's current parser fingerprint (kept in the file's Parquet metadata), is
    not parsed again: the run reads the committed file. Every other file is parsed into this run's
    staging area, and the staged files are committed only when the run publishes (Store.publish);
    so a parser fix, which changes the fingerprint, still reaches every release whose file is in
    the folder. Files are parsed in batches (`source.batch`) on a thread per core (the readers and
    Polars release the GIL) and staged one Parquet file per input file, so only the batches in
    flight are in memory. If any file is bad, the run's staged files of this source are removed again.
    Returns one entry per file, in name order, with `parsed` False for the ones read from the raw
    store. `on_batch(parsed, to_parse)` is called after each batch of files parsed (progress).
    Raises FileNotFoundError for a missing/empty folder, FileSetError for bad files, ValueError for
    a malformed RELEASES.csv.
    """
    files, skipped = input_files(source, folder)
    if vintages is not None:
        files = [f for f in files if f.vintage in vintages]
    fingerprint = source.parser_fingerprint()
    entries: dict[InputFile, dict] = {}
    to_parse: list[InputFile] = []
    for f in files:
        committed = store.committed_raw(source.name, f.name, f.vintage, f.sha256)
        figures = _figures_from_metadata(store.raw_metadata(committed), fingerprint) if committed else None
        if figures is not None:
            entries[f] = _entry(f, figures, parsed=False)
        else:
            to_parse.append(f)

    def parse_and_stage(batch: list[InputFile]) -> tuple[dict[InputFile, dict], list[FileLayoutError]]:
        frames, errors = source.parse(batch)
        if errors:
            return {}, errors
        staged = {}
        for f, frame in frames.items():
            figures = {
                "reporter": str(frame[source.code_columns[0]][0]) if frame.height else None,
                "cells": frame.height,
                "value_total": float(frame[source.value_column].sum() or 0.0),
            }
            # stored as Parquet dictionaries: read back straight into Categorical (load_raw), not as
            # text first (on the DOTS cells 0.13 s instead of 0.3-0.4 s, with a fraction of the memory)
            frame = frame.with_columns(
                pl.col([c for c in source.low_cardinality if c in frame.columns]).cast(pl.Categorical)
            )
            store.stage_raw(run_id, source.name, f.name, f.vintage, f.sha256, frame, _metadata(figures, fingerprint))
            staged[f] = _entry(f, figures, parsed=True)
        return staged, []

    size = source.batch
    batches = [to_parse[i : i + size] for i in range(0, len(to_parse), size)]
    errors: list[FileLayoutError] = []
    with _gc_paused(), ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for done, (staged, errs) in zip(accumulate(len(b) for b in batches), pool.map(parse_and_stage, batches)):
            entries.update(staged)
            errors += errs
            if on_batch is not None:
                on_batch(done, len(to_parse))
    if errors:
        store.discard_staging(run_id, source.name)
        raise FileSetError(source.name, Path(folder), sorted(errors, key=lambda e: e.path))
    return IngestReport(source.name, Path(folder), files=[entries[f] for f in files], skipped=skipped)


# Parquet key-value metadata of a raw file: the parser fingerprint and the per-file figures the raw
# asset reports, so a file taken from the raw store needs only its footer read.
PARSER_KEY, REPORTER_KEY, CELLS_KEY, VALUE_KEY = (
    "tradewh.parser",
    "tradewh.reporter",
    "tradewh.cells",
    "tradewh.value_total",
)


def _entry(f: InputFile, figures: dict, parsed: bool) -> dict:
    """One IngestReport.files entry: the file version, its release, its figures (reporter: the
    first row's reporter code or name; cells: raw rows; value_total: sum of the published values,
    in the source's unit) and whether this run parsed it."""
    return {
        "file": f.name,
        "sha256": f.sha256,
        "vintage": f.vintage.isoformat(),
        "release_kind": f.release_kind,
        **figures,
        "parsed": parsed,
    }


def _metadata(figures: dict, fingerprint: str) -> dict[str, str]:
    return {
        PARSER_KEY: fingerprint,
        REPORTER_KEY: figures["reporter"] or "",
        CELLS_KEY: str(figures["cells"]),
        VALUE_KEY: repr(figures["value_total"]),
    }


def _figures_from_metadata(meta: dict[str, str], fingerprint: str) -> dict | None:
    """The per-file figures of a committed raw file written under `fingerprint`; None if it was
    written under another parser (or before fingerprints were kept): it is parsed again."""
    if meta.get(PARSER_KEY) != fingerprint or not {REPORTER_KEY, CELLS_KEY, VALUE_KEY} <= meta.keys():
        return None
    return {
        "reporter": meta[REPORTER_KEY] or None,
        "cells": int(meta[CELLS_KEY]),
        "value_total": float(meta[VALUE_KEY]),
    }


@contextmanager
def _gc_paused():
    """Pause Python's cyclic garbage collector while files are parsed: the millions of cell objects
    alive at once make every collection walk all of them (scanning the DOTS workbooks took 3.5 s
    instead of 1.8 s). Nothing made meanwhile needs the cycle collector."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_raw(
    store: Store,
    source: Source,
    run_id: str | None = None,
    columns: list[str] | None = None,
    files: list[Path] | None = None,
    first_raw_id: int = 0,
) -> pl.DataFrame:
    """The raw files of `source` a run sees (Store.raw_files, or `files` taken from it) as one frame
    with a `raw_id` (first_raw_id, first_raw_id + 1, ..., in that order), with all the raw table's
    columns or only `columns` (raw_ids are the same either way). The low-cardinality text columns
    come as Categorical.

    Raises FileNotFoundError if there is nothing for the source.
    """
    files = store.raw_files(source.name, run_id) if files is None else files
    if not files:
        raise FileNotFoundError(f"raw store {store.raw_dir(source.name)} is empty: run the raw ingest first")
    raw = pl.read_parquet(files, columns=columns)
    # text columns with few distinct values (files, names, codes) as Categorical: on the DOTS cells
    # that takes the canonical step's peak memory down by ~0.4 GB
    categorical = [c for c in source.low_cardinality if c in raw.columns]
    return raw.with_row_index("raw_id", offset=first_raw_id).with_columns(
        pl.col("raw_id").cast(pl.Int64), pl.col(categorical).cast(pl.Categorical)
    )
