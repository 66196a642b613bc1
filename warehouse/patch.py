"""Patch the published warehouse instead of rebuilding it, when a run changes a few input files.

A whole build reads every raw-store file, makes ~2.9 M canonical rows, writes a new warehouse file
and rebuilds every mart. When a run adds, corrects or removes a few file versions of a warehouse
built by the same code (warehouse.state.code_version), its candidate is instead a copy of the
published file in which:

1. the *affected files* are made canonical again: the changed file versions, plus every other file
   that shares a (source, vintage, reporter) with them, and so on until no file is added (the
   closure). The exact-duplicate rule and the conflict check compare the copies of one observation
   key across files, and a key holds its source, release and reporter, so over the affected files
   they find exactly what they would over all files;
2. the affected files' old rows leave canonical.observations, canonical.duplicates,
   canonical.quarantine and meta.source_files; the other files' raw_ids move to the new numbering
   (a file with more or fewer rows shifts the files after it); the new rows go in;
3. the release chain (sql/release_chain.sql) is computed again for the affected reporters;
   meta.raw_files, meta.entity_validity_report and meta.load_runs are written again (they are
   small), and the check results are cleared for the checks of this run;
4. the marts are computed again for the affected reporters and partners only (db.write_marts with
   the scope this module leaves beside the candidate: scope_path).

The result is the warehouse a whole build makes from the same raw store, to the bit in every table
and view of ref, canonical and marts (tests/test_patch.py builds both ways and compares them). The
checks then run on the whole candidate and publish swaps it in exactly as after a whole build, so
the guarantees of docs/guarantees.md hold unchanged.

A run builds whole instead, and says why (`plan` returns the reason), when: there is no published
warehouse, or it was built by other code; nothing changed (tradewh build --force); the affected
files hold more than PATCH_MAX_SHARE of the raw rows (a whole build is then about as fast); or the
changed files bring a value an ENUM type of the published file lacks (a new file name, partner name
or period: an ENUM cannot gain a value without its tables being rewritten). No Dagster here.
"""

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from tradewh.sources.registry import BY_NAME
from tradewh.warehouse import currency, db
from tradewh.warehouse.canonical import CanonicalResult, candidates, canonicalise, entity_validity_report
from tradewh.warehouse.schema import (
    CANONICAL_DUPLICATES,
    CANONICAL_OBSERVATIONS,
    CANONICAL_QUARANTINE,
    ENUM_TYPES,
    META_CHECK_FAILURES,
    META_CHECK_RESULTS,
    META_ENTITY_VALIDITY,
    META_RAW_FILES,
    META_SOURCE_FILES,
    Table,
)
from tradewh.warehouse.state import code_version
from tradewh.warehouse.store import RawFile, Store, open_read_only
from tradewh.warehouse.tables import polars_schema, register

PATCH_MAX_SHARE = 0.25  # affected files' share of the raw rows above which a whole build is made

FILE_KEY = ["source", "source_file", "vintage"]  # one file of the raw store (a newer version replaces it)
REPORTER_KEY = ["source", "vintage", "reporter_iso3"]  # what an observation key shares with its copies


@dataclass
class Patch:
    """What a run changes in the published warehouse (see the module docstring).

    published: the published file, built by run `base_run` (its meta.load_runs); files: the affected
    files (FILE_KEY, as text); gone: raw_id ranges (lo, hi) of their rows in the published
    warehouse; shifts: raw_id ranges (lo, hi) of the other files whose numbering moved,
    with the move (delta); reporters: the affected (source, reporter_iso3) pairs, in the published
    warehouse or in the new files; index: meta.raw_files of the new warehouse; result: the affected
    files' rows made canonical (warehouse.canonical.canonicalise)."""

    published: Path
    base_run: str
    files: pl.DataFrame
    gone: pl.DataFrame
    shifts: pl.DataFrame
    reporters: pl.DataFrame
    index: pl.DataFrame
    result: CanonicalResult

    def describe(self) -> str:
        return (
            f"patched the published warehouse: {self.files.height} affected file(s), "
            f"{self.reporters.height} reporter(s), {self.result.summary['raw_cells']:,} raw rows made canonical again"
        )


def _file_keys(index: pl.DataFrame) -> pl.DataFrame:
    """meta.raw_files rows with each file's FILE_KEY (from its raw-store name) and name."""
    parsed = [RawFile.parse(Path(p)) for p in index["path"]]
    return index.with_columns(
        name=pl.Series([Path(p).name for p in index["path"]], dtype=pl.String),
        source_file=pl.Series([f.source_file for f in parsed], dtype=pl.String),
        vintage=pl.Series([f.vintage for f in parsed], dtype=pl.Date),
        source=pl.col("source").cast(pl.String),
    )


def plan(store: Store, view, index: pl.DataFrame, crosswalk: pl.DataFrame) -> tuple[Patch | None, str]:
    """(the patch that turns the published warehouse into this run's, None) or (None, why the run
    builds whole). `view` is the run's pipeline.RawView, `index` its meta.raw_files rows
    (view.index). Raises what canonicalise raises for the
    affected files (a conflict between two of their copies stops the run as a whole build would)."""
    published = store.db_path
    if not published.exists():
        return None, "no published warehouse"
    try:
        # as published now (store.open_read_only), not an older file this process may hold open
        with open_read_only(published) as con:
            base_run, built_by = con.execute("SELECT run_id, code_version FROM meta.load_runs").fetchone()
            if built_by != code_version():
                return None, "the published warehouse was built by other code"
            return _plan(con, published, base_run, store, view, index, crosswalk)
    except (duckdb.Error, TypeError) as exc:  # an older layout, or no readable warehouse
        return None, f"the published warehouse cannot be patched ({type(exc).__name__}: {exc})"


def _plan(
    con, published: Path, base_run: str, store: Store, view, index: pl.DataFrame, crosswalk: pl.DataFrame
) -> tuple[Patch | None, str]:
    old = _file_keys(con.execute(f"SELECT * FROM {META_RAW_FILES.qualified} ORDER BY source, file_index").pl())
    new = _file_keys(index)
    changed = pl.concat(
        [
            old.join(new, on=["source", "name"], how="anti").select(FILE_KEY),
            new.join(old, on=["source", "name"], how="anti").select(FILE_KEY),
        ]
    ).unique()
    if not changed.height:
        return None, "no input file changed"
    actual = {(s, Path(p).name): p for s, paths in view.files.items() for p in paths}  # staged or committed

    def raws(files: pl.DataFrame) -> dict[str, pl.DataFrame]:
        rows = new.join(files, on=FILE_KEY, how="semi").sort("first_raw_id")
        out = {}
        for (name,), part in rows.group_by("source", maintain_order=True):
            source = BY_NAME[name]
            frames = [
                view.load_file(store, source, actual[(name, n)], first)
                for n, first in part.select("name", "first_raw_id").iter_rows()
            ]
            out[name] = pl.concat(frames) if len(frames) > 1 else frames[0]
        return out

    # the reporters of the new file versions (the published warehouse knows the old ones')
    added = new.join(old, on=["source", "name"], how="anti").select(FILE_KEY)
    found = [
        candidates(BY_NAME[name], raw, crosswalk)[0].select(
            pl.col("source").cast(pl.String), "vintage", pl.col("reporter_iso3").cast(pl.String)
        )
        for name, raw in raws(added).items()
    ]
    reporters = pl.concat(found).unique() if found else pl.DataFrame(schema=_REPORTER_SCHEMA)
    files = changed
    while True:
        register(con, "_files", files)
        reporters = pl.concat([reporters, con.execute(_REPORTERS_OF_FILES).pl().cast(_REPORTER_SCHEMA)]).unique()
        register(con, "_reporters", reporters)
        more = con.execute(_FILES_OF_REPORTERS).pl().cast(_FILE_SCHEMA).join(files, on=FILE_KEY, how="anti")
        if not more.height:
            break
        files = pl.concat([files, more.cast(files.schema)])
    rows = new.join(files, on=FILE_KEY, how="semi")["rows"].sum()
    if rows > PATCH_MAX_SHARE * max(new["rows"].sum(), 1):
        return None, f"the affected files hold {rows:,} of {new['rows'].sum():,} raw rows"
    gone = old.join(files, on=FILE_KEY, how="semi").select(
        lo="first_raw_id", hi=pl.col("first_raw_id") + pl.col("rows") - 1
    )
    shifts = (
        old.join(files, on=FILE_KEY, how="anti")
        .join(new.select("source", "name", new_first="first_raw_id"), on=["source", "name"])
        .select(
            lo="first_raw_id",
            hi=pl.col("first_raw_id") + pl.col("rows") - 1,
            delta=pl.col("new_first") - pl.col("first_raw_id"),
        )
        .filter(pl.col("delta") != 0)
    )
    currency.prepare(BY_NAME[s].currency for s in files["source"].unique())  # while the raw rows are read
    affected = raws(files)
    result = canonicalise(affected, crosswalk) if affected else _nothing()  # a file only taken out: no new rows
    missing = _missing_enum_values(
        con,
        {
            CANONICAL_OBSERVATIONS: result.candidates,
            CANONICAL_DUPLICATES: result.duplicates,
            CANONICAL_QUARANTINE: result.quarantine,
            META_SOURCE_FILES: result.source_files,
        },
    )
    if missing:
        return None, f"new values for the published warehouse's ENUM types: {missing}"
    touched = (
        pl.concat(
            [reporters, result.candidates.select(pl.col(c).cast(t) for c, t in _REPORTER_SCHEMA.items()).unique()]
        )
        .select("source", "reporter_iso3")
        .unique()
        .sort("source", "reporter_iso3")
    )
    return Patch(published, base_run, files.sort(FILE_KEY), gone, shifts, touched, index, result), ""


def _nothing() -> CanonicalResult:
    """The canonical result of no raw rows."""
    empty = lambda table: pl.DataFrame(schema=polars_schema(table))  # noqa: E731
    return CanonicalResult(
        empty(CANONICAL_OBSERVATIONS),
        empty(CANONICAL_DUPLICATES),
        empty(CANONICAL_QUARANTINE),
        empty(META_SOURCE_FILES),
        empty(META_ENTITY_VALIDITY),
        {"raw_cells": 0},
    )


_REPORTER_SCHEMA = {"source": pl.String, "vintage": pl.Date, "reporter_iso3": pl.String}
_FILE_SCHEMA = {"source": pl.String, "source_file": pl.String, "vintage": pl.Date}

# The (source, vintage, reporter) of the published rows of the files in _files, and of the
# observations their duplicates copy (a duplicate has its kept copy's key); the small side is cast to
# the ENUM types (TRY_CAST: a new file's name is in no ENUM, and matches nothing).
_FILE_MATCH = (
    "o.source = TRY_CAST(f.source AS source_code) AND {file} = TRY_CAST(f.source_file AS file_name) "
    "AND o.vintage = f.vintage"
)
_REPORTER_MATCH = (
    "o.source = TRY_CAST(r.source AS source_code) AND o.vintage = r.vintage "
    "AND o.reporter_iso3 = TRY_CAST(r.reporter_iso3 AS entity_code)"
)
_REPORTERS_OF_FILES = f"""
SELECT DISTINCT o.source::VARCHAR AS source, o.vintage, o.reporter_iso3::VARCHAR AS reporter_iso3
FROM {CANONICAL_OBSERVATIONS.qualified} o
JOIN _files f ON {_FILE_MATCH.format(file="o.source_file")}
UNION
SELECT DISTINCT o.source::VARCHAR, o.vintage, o.reporter_iso3::VARCHAR
FROM {CANONICAL_DUPLICATES.qualified} d
JOIN {CANONICAL_OBSERVATIONS.qualified} o ON o.raw_id = d.kept_raw_id
JOIN _files f ON {_FILE_MATCH.format(file="d.source_file")}
"""

# The files that hold a published observation of the (source, vintage, reporter) in _reporters, or
# a duplicate of one.
_FILES_OF_REPORTERS = f"""
SELECT DISTINCT o.source::VARCHAR AS source, o.source_file::VARCHAR AS source_file, o.vintage
FROM {CANONICAL_OBSERVATIONS.qualified} o
JOIN _reporters r ON {_REPORTER_MATCH}
UNION
SELECT DISTINCT o.source::VARCHAR, d.source_file::VARCHAR, o.vintage
FROM {CANONICAL_DUPLICATES.qualified} d
JOIN {CANONICAL_OBSERVATIONS.qualified} o ON o.raw_id = d.kept_raw_id
JOIN _reporters r ON {_REPORTER_MATCH}
"""


def _missing_enum_values(con: duckdb.DuckDBPyConnection, frames: dict[Table, pl.DataFrame]) -> str:
    """The values of `frames`' ENUM-typed columns that the published ENUM types lack, as text
    ('' if none): 'file_name: DOTS_95.xlsx; ...'."""
    missing: dict[str, set] = {}
    for table, frame in frames.items():
        for c in table.columns:
            if c.type not in ENUM_TYPES or c.name not in frame.columns:
                continue
            values = set(frame[c.name].drop_nulls().cast(pl.String).unique().to_list())
            known = {v for (v,) in con.execute(f"SELECT unnest(enum_range(NULL::{c.type}))").fetchall()}
            if values - known:
                missing.setdefault(c.type, set()).update(values - known)
    return "; ".join(f"{t}: {', '.join(sorted(v)[:5])}" for t, v in sorted(missing.items()))


def apply(patch: Patch, candidate: Path, crosswalk: pl.DataFrame, run_id: str) -> None:
    """Write the patched warehouse to `candidate` (a copy of the published file, patched) and the
    marts' scope beside it (scope_path). Raises duckdb.Error on a write failure, after deleting the
    partial file (the published file is never opened for writing)."""
    candidate.parent.mkdir(parents=True, exist_ok=True)
    db.remove_database(candidate)
    try:
        shutil.copyfile(patch.published, candidate)
        with duckdb.connect(str(candidate), config={"memory_limit": db.DUCKDB_MEMORY_LIMIT}) as con:
            con.execute("BEGIN TRANSACTION")
            _apply(con, patch, crosswalk, run_id)
            con.execute("COMMIT")
            con.execute("CHECKPOINT")
        scope = {"base_run": patch.base_run, "pairs": patch.reporters.rows(), "shifts": patch.shifts.rows()}
        scope_path(candidate).write_text(json.dumps(scope))
    except BaseException:
        db.remove_database(candidate)
        raise


def _apply(con: duckdb.DuckDBPyConnection, patch: Patch, crosswalk: pl.DataFrame, run_id: str) -> None:
    result = patch.result
    register(con, "_gone", patch.gone)
    for table in (CANONICAL_OBSERVATIONS, CANONICAL_DUPLICATES, CANONICAL_QUARANTINE):
        con.execute(f"DELETE FROM {table.qualified} t USING _gone g WHERE t.raw_id BETWEEN g.lo AND g.hi")
    register(con, "_files", patch.files)
    con.execute(
        f"DELETE FROM {META_SOURCE_FILES.qualified} t USING _files f WHERE t.source::VARCHAR = f.source "
        "AND t.source_file::VARCHAR = f.source_file AND t.vintage = f.vintage"
    )
    if patch.shifts.height:
        register(con, "_shifts", patch.shifts)
        moves = [(t, "raw_id") for t in (CANONICAL_OBSERVATIONS, CANONICAL_DUPLICATES, CANONICAL_QUARANTINE)]
        for table, column in [*moves, (CANONICAL_DUPLICATES, "kept_raw_id")]:
            con.execute(
                f"UPDATE {table.qualified} t SET {column} = t.{column} + s.delta FROM _shifts s "
                f"WHERE t.{column} BETWEEN s.lo AND s.hi"
            )
    db.insert(con, CANONICAL_OBSERVATIONS, result.candidates, without=result.duplicates)
    for table, frame in (
        (CANONICAL_DUPLICATES, result.duplicates),
        (CANONICAL_QUARANTINE, result.quarantine),
        (META_SOURCE_FILES, result.source_files),
    ):
        db.insert(con, table, frame)
    con.execute(f"DELETE FROM {META_RAW_FILES.qualified}")
    db.insert(con, META_RAW_FILES, patch.index)
    db.release_chain(con, patch.reporters)
    # the entities outside their validity dates, over every observation (only rows with such a code can count)
    with_dates = crosswalk.filter(pl.col("valid_from").is_not_null() | pl.col("valid_to").is_not_null())
    codes = ", ".join(f"'{c}'" for c in with_dates["code"].unique().sort())
    rows = con.execute(
        f"SELECT source::VARCHAR AS source, vintage, year, reporter_iso3::VARCHAR AS reporter_iso3, "
        f"partner_iso3::VARCHAR AS partner_iso3 FROM {CANONICAL_OBSERVATIONS.qualified} "
        f"WHERE reporter_iso3::VARCHAR IN ({codes}) OR partner_iso3::VARCHAR IN ({codes})"
    ).pl()
    con.execute(f"DELETE FROM {META_ENTITY_VALIDITY.qualified}")
    db.insert(con, META_ENTITY_VALIDITY, entity_validity_report(rows, crosswalk))
    for table in (META_CHECK_RESULTS, META_CHECK_FAILURES):  # this run's checks write theirs
        con.execute(f"DELETE FROM {table.qualified}")
    db.write_load_run(con, run_id)


def scope_path(candidate: Path) -> Path:
    """The file beside a patched candidate that gives its Scope, for the checks and the marts step; a
    whole build has none."""
    return candidate.with_name(candidate.name + ".patch.json")


@dataclass(frozen=True)
class Scope:
    """What a patched candidate changed: its affected (source, reporter_iso3) `pairs` (text), relative
    to the published warehouse of run `base_run` it was copied from, and the raw_id ranges of the
    other files that moved (`shifts`: lo, hi, delta, as Patch.shifts)."""

    base_run: str
    pairs: pl.DataFrame
    shifts: pl.DataFrame


def read_scope(candidate: Path) -> Scope | None:
    """A patched candidate's Scope, None for a whole build."""
    path = scope_path(candidate)
    if not path.exists():
        return None
    scope = json.loads(path.read_text())
    pairs = pl.DataFrame(scope["pairs"], schema={"source": pl.String, "reporter_iso3": pl.String}, orient="row")
    shifts = pl.DataFrame(scope["shifts"], schema={"lo": pl.Int64, "hi": pl.Int64, "delta": pl.Int64}, orient="row")
    return Scope(scope["base_run"], pairs, shifts)
