"""The run order, one function per stage: ingest -> raw -> canonical (candidate warehouse) -> marts.

The Dagster assets, `benchmarks/job.py` (the data path without Dagster) and the tests call these,
so the order is written once. Publishing is Store.publish. No Dagster here.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from tradewh.sources.contract import Source
from tradewh.sources.registry import SOURCES
from tradewh.warehouse import currency, db, ingest, patch
from tradewh.warehouse.canonical import CanonicalResult, canonicalise
from tradewh.warehouse.crosswalk import load_crosswalks
from tradewh.warehouse.store import Store, footer


def ingest_sources(
    store: Store,
    run_id: str,
    input_dirs: dict[str, Path],
    releases: dict[str, set[date]] | None = None,
    on_batch: Callable[[str, int, int], None] | None = None,
) -> list[ingest.IngestReport]:
    """Ingest each source's input folder (`input_dirs`, by source name) into this run's staging:
    only the releases in `releases[source]` when given (a partitioned run), else every file.
    Sources are taken in registry order; the first bad source stops the run (ingest.FileSetError).
    `on_batch(source, parsed, to_parse)` reports progress after each batch of files parsed."""
    reports = []
    for source in SOURCES:
        if source.name not in input_dirs or (releases is not None and not releases.get(source.name)):
            continue
        wanted = None if releases is None else releases[source.name]
        report = None if on_batch is None else (lambda done, total, name=source.name: on_batch(name, done, total))
        reports.append(ingest.ingest(source, input_dirs[source.name], store, run_id, wanted, report))
    return reports


@dataclass
class RawView:
    """The raw-store files a run reads for each source (committed + staged), with their raw_id
    numbering: the sources' rows are numbered one after the other, in registry order."""

    files: dict[str, list[Path]]
    first_raw_id: dict[str, int]

    @property
    def sources(self) -> list[Source]:
        return [s for s in SOURCES if self.files.get(s.name)]

    def index(self, store: Store) -> pl.DataFrame:
        """META_RAW_FILES rows for every source's files."""
        frames = [store.raw_index(s.name, self.files[s.name], self.first_raw_id[s.name]) for s in self.sources]
        return pl.concat(frames) if frames else store.raw_index("", [])

    def load(self, store: Store, source: Source, columns: list[str] | None = None) -> pl.DataFrame:
        return ingest.load_raw(
            store, source, files=self.files[source.name], columns=columns, first_raw_id=self.first_raw_id[source.name]
        )

    def load_file(self, store: Store, source: Source, path: Path, first_raw_id: int) -> pl.DataFrame:
        """One of the view's files of `source`, its rows numbered from `first_raw_id` (its place in index())."""
        return ingest.load_raw(store, source, files=[path], first_raw_id=first_raw_id)


def raw_view(store: Store, run_id: str | None) -> RawView:
    """The run's view of the raw store (Store.raw_files for every source), numbered."""
    files, first, offset = {}, {}, 0
    for source in SOURCES:
        paths = store.raw_files(source.name, run_id)
        if paths:
            files[source.name], first[source.name] = paths, offset
            offset += sum(footer(p).num_rows for p in paths)
    return RawView(files, first)


def build_canonical(
    store: Store, run_id: str, view: RawView | None = None, patching: bool = True
) -> tuple[Path, CanonicalResult, str]:
    """The run's raw rows of every source -> canonical observations (warehouse.canonical) written with
    the ref and meta tables into the run's candidate warehouse (Store.candidate_path): a copy of the
    published warehouse patched where the run changed files (warehouse.patch), when `patching` and
    the change allows it, else a fresh file built whole. Returns the candidate's path, the result
    (of the files made canonical: all of them, or a patch's affected files) and how it was built.
    Raises FileNotFoundError if no source has raw rows, and what canonicalise and
    db.build_candidate raise."""
    view = view or raw_view(store, run_id)
    if not view.sources:
        raise FileNotFoundError(
            f"the raw store {store.home / 'raw'} is empty and this run staged nothing: nothing to build"
        )
    crosswalk = load_crosswalks()
    candidate, index = store.candidate_path(run_id), view.index(store)
    if patching:
        plan, why = patch.plan(store, view, index, crosswalk)
        if plan is not None:
            patch.apply(plan, candidate, crosswalk, run_id)
            return candidate, plan.result, plan.describe()
    else:
        why = "a whole build was asked for"
    patch.scope_path(candidate).unlink(missing_ok=True)  # of an earlier attempt of this run, if any
    currency.prepare(s.currency for s in view.sources)  # the ECB rates load while the raw rows are read
    # each raw frame is let go once transformed, before the observations are written
    result = canonicalise({s.name: view.load(store, s) for s in view.sources}, crosswalk)
    db.build_candidate(candidate, index, crosswalk, result, run_id)
    return candidate, result, f"built whole: {why}"


def build_marts(con: duckdb.DuckDBPyConnection, scope: patch.Scope | None) -> dict[str, int]:
    """Every mart in the candidate warehouse `con` is on (db.write_marts): {mart: rows}; in a
    patched candidate (`scope`: warehouse.patch.read_scope) only the rows its changed files can change."""
    return db.write_marts(con, scope.pairs if scope else None)
