"""Write a candidate DuckDB warehouse: DDL from warehouse.schema, data from Polars frames, views
and macros from warehouse/sql/*.sql. Used by the canonical asset; knows nothing about Dagster."""

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import polars as pl
import pycountry

from tradewh.sources.registry import SOURCES
from tradewh.warehouse.canonical import CanonicalResult, totals_by_source
from tradewh.warehouse.rules import CIF_FOB_FACTOR
from tradewh.warehouse.schema import (
    CANONICAL_DUPLICATES,
    CANONICAL_OBSERVATIONS,
    CANONICAL_QUARANTINE,
    ENUM_TYPES,
    MART_TABLES,
    META_CHECK_FAILURES,
    META_CHECK_RESULTS,
    META_ENTITY_VALIDITY,
    META_LOAD_RUNS,
    META_MART_ROWS,
    META_RAW_FILES,
    META_SOURCE_FILES,
    RAW_VIEWS,
    REF_CROSSWALK,
    REF_ENTITIES,
    REF_ENTITY_ALIASES,
    REF_ENTITY_BREAKS,
    REF_GROUP_MEMBERSHIP,
    REF_SOURCES,
    TABLES,
    VIEWS,
    Table,
)
from tradewh.warehouse.state import code_version
from tradewh.warehouse.tables import bind, polars_schema, register, sql_literal, sql_value

SQL_DIR = Path(__file__).parent / "sql"
SEEDS = Path(__file__).parent / "seeds"
# DuckDB's buffer pool while building (default: 80 % of RAM): a cap, so DuckDB cannot grow into the
# memory Polars holds the canonical frames in. Writing is streamed; on the bundled data neither time
# nor peak memory changes with it.
DUCKDB_MEMORY_LIMIT = "500MB"
ROW_GROUP = 122_880  # DuckDB's row group size
# Frames this large are inserted as Arrow (insert): a whole build's observations; a patched build's
# rows (a few files' worth) stay below it, and its process never imports pandas.
ARROW_MIN_ROWS = 1_000_000


def sql_file(name: str) -> str:
    return (SQL_DIR / name).read_text()


def insert(
    con: duckdb.DuckDBPyConnection, table: Table, frame: pl.DataFrame, without: pl.DataFrame | None = None
) -> None:
    """Insert `frame`'s rows into `table`, leaving out those whose raw_id is in `without`."""
    cols = ", ".join(table.column_names)
    frame = frame.select(table.column_names)
    if frame.height >= ARROW_MIN_ROWS:
        # Arrow with string views (no copy of the text), in batches of a DuckDB row group: DuckDB
        # scans one batch per thread, so a frame handed over as one chunk would be written on one
        # core. Through pyarrow.dataset, so pandas is imported (warehouse.tables._PARAM): a LazyFrame
        # would spare that, but DuckDB copies its text to Arrow strings first (0.7 GB more for the
        # bundled observations: docs/benchmarks.md).
        import pyarrow as pa

        arrow = frame.to_arrow(compat_level=pl.CompatLevel.newest())
        con.register("_frame", pa.Table.from_batches(arrow.to_batches(max_chunksize=ROW_GROUP), schema=arrow.schema))
    else:  # in chunks of a row group too
        chunks = [frame.slice(i, ROW_GROUP) for i in range(0, frame.height, ROW_GROUP)] or [frame]
        register(con, "_frame", pl.concat(chunks, rechunk=False))
    anti = ""
    if without is not None:
        register(con, "_without", without.select("raw_id"))
        anti = " ANTI JOIN _without USING (raw_id)"
    con.execute(f"INSERT INTO {table.qualified} ({cols}) SELECT {cols} FROM _frame{anti}")
    con.unregister("_frame")
    if without is not None:
        con.unregister("_without")


def build_candidate(
    path: Path, raw_index: pl.DataFrame, crosswalk: pl.DataFrame, result: CanonicalResult, run_id: str
) -> None:
    """Create a fresh warehouse file at `path` (replacing a leftover one) with every table filled:
    the canonical and meta tables from `result` (warehouse.canonical.canonicalise) and `crosswalk`,
    and meta.raw_files from `raw_index` (Store.raw_index: the raw-store files the result was built
    from, in raw_id order), from which publish creates the raw views (create_raw_views) once the
    files are committed.

    Raises duckdb.Error on a write failure, after deleting the partial file. A run killed outright
    can still leave an incomplete candidate behind, which is why only Store.publish, after checking
    the candidate, makes it visible to readers.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_database(path)  # a leftover of an earlier attempt with the same run id
    try:
        _write(path, raw_index, crosswalk, result, run_id)
    except BaseException:
        remove_database(path)
        raise


def remove_database(path: Path) -> None:
    for part in (path, Path(str(path) + ".wal")):
        part.unlink(missing_ok=True)


def create_enum_types(con: duckdb.DuckDBPyConnection, frames: dict[Table, pl.DataFrame], names) -> None:
    """CREATE TYPE the ENUM_TYPES `names`, each with its fixed values (currency_code: ISO 4217 from
    pycountry) and the distinct values of the columns of that type in `frames` (every frame the
    build writes that has such a column), sorted so ORDER BY is alphabetical."""
    fixed = {"currency_code": [c.alpha_3 for c in pycountry.currencies]}
    values = {name: set(fixed.get(name, ENUM_TYPES[name].fixed)) for name in names}
    for table, frame in frames.items():
        typed = {c.name: c.type for c in table.columns if c.type in values and c.name in frame.columns}
        if not typed:
            continue
        # every column's distinct values in one select: Polars finds them in parallel
        distinct = frame.select(pl.col(c).drop_nulls().unique().implode() for c in typed).row(0, named=True)
        for c, name in typed.items():
            values[name].update(distinct[c])
    if "period_code" in values:
        values["period_code"] |= period_headroom(values["period_code"])
    for name in names:
        register(con, "_enum_values", pl.DataFrame({"v": sorted(values[name])}, schema={"v": pl.String}))
        con.execute(f"CREATE TYPE {name} AS ENUM (SELECT v FROM _enum_values ORDER BY v)")
        con.unregister("_enum_values")


def period_headroom(periods: set[str], today: date | None = None) -> set[str]:
    """Every annual (YYYY), quarterly (YYYYQn) and monthly (YYYYMM) period from the first year of
    `periods` through next year: the period_code ENUM holds them beside the periods loaded, so that
    a release bringing a later month or year can patch the published warehouse (warehouse.patch)
    instead of rewriting it for one new ENUM value. (A period outside them still gets in with the
    rows that hold it; the period check, not the type, judges periods.)"""
    years = [int(p[:4]) for p in periods if p[:4].isdigit()]
    if not years:
        return set()
    last = (today or date.today()).year + 1
    out = set()
    for year in range(min(years), last + 1):
        out |= {f"{year}", *(f"{year}Q{q}" for q in range(1, 5)), *(f"{year}{m:02d}" for m in range(1, 13))}
    return out


def _write(path: Path, raw_index: pl.DataFrame, crosswalk: pl.DataFrame, result: CanonicalResult, run_id: str) -> None:
    with duckdb.connect(str(path), config={"memory_limit": DUCKDB_MEMORY_LIMIT}) as con:
        for schema in sorted({t.schema for t in (*TABLES, *RAW_VIEWS.values())}):
            con.execute(f"CREATE SCHEMA {schema}")
        frames = {
            REF_SOURCES: sources_frame(),
            REF_CROSSWALK: crosswalk,
            REF_ENTITIES: entities(crosswalk),
            REF_ENTITY_ALIASES: load_seed(REF_ENTITY_ALIASES, "entity_aliases.csv"),
            REF_ENTITY_BREAKS: load_seed(REF_ENTITY_BREAKS, "entity_breaks.csv"),
            REF_GROUP_MEMBERSHIP: load_group_membership(),
            CANONICAL_DUPLICATES: result.duplicates,
            CANONICAL_QUARANTINE: result.quarantine,
            META_SOURCE_FILES: result.source_files,
            META_RAW_FILES: raw_index,
            META_ENTITY_VALIDITY: result.entity_validity,
        }
        create_enum_types(con, {**frames, CANONICAL_OBSERVATIONS: result.candidates}, list(ENUM_TYPES))
        for table in TABLES:
            con.execute(table.ddl())
        for table, frame in frames.items():
            insert(con, table, frame)
        insert(con, CANONICAL_OBSERVATIONS, result.candidates, without=result.duplicates)
        release_chain(con)  # superseded_by, previous_vintage: what the views filter on
        con.execute(sql_file("canonical_views.sql"))
        for view in VIEWS:
            con.execute(view.comment_sql())
        write_load_run(con, run_id)
        con.execute("CHECKPOINT")


def release_chain(con: duckdb.DuckDBPyConnection, scope: pl.DataFrame | None = None) -> None:
    """Fill canonical.observations' superseded_by and previous_vintage (sql/release_chain.sql) for
    the (source, reporter_iso3) pairs of `scope`, or for every reporter."""
    if scope is None:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE release_chain_scope AS "
            f"SELECT DISTINCT source, reporter_iso3 FROM {CANONICAL_OBSERVATIONS.qualified}"
        )
    else:
        register(con, "_scope", scope.select("source", "reporter_iso3"))
        con.execute("CREATE OR REPLACE TEMP TABLE release_chain_scope AS SELECT DISTINCT * FROM _scope")
        con.unregister("_scope")
    con.execute(sql_file("release_chain.sql"))
    con.execute("DROP TABLE release_chain_scope")


def write_load_run(con: duckdb.DuckDBPyConnection, run_id: str) -> dict:
    """Replace meta.load_runs' row with this build's: its run id, the time, the code version, and
    the warehouse's summary (warehouse_summary). Returns the summary."""
    s = warehouse_summary(con)
    con.execute(f"DELETE FROM {META_LOAD_RUNS.qualified}")
    built_at = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
    values = [
        sql_value(run_id),
        f"TIMESTAMP {sql_literal(built_at)}",
        *(sql_value(s[k]) for k in ("raw_cells", "observations", "duplicates", "quarantined")),
        sql_value(json.dumps(s, default=str, sort_keys=True)),
        sql_value(code_version()),
    ]
    con.execute(f"INSERT INTO {META_LOAD_RUNS.qualified} VALUES ({', '.join(values)})")
    return s


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-write connection to a candidate warehouse file, for one step of a run: the step's
    reads, checks and writes share it (each connection opened and closed costs a catalogue load and
    a checkpoint), and closing it checkpoints what the step wrote."""
    return duckdb.connect(str(path), config={"memory_limit": DUCKDB_MEMORY_LIMIT})


def load_summary(con: duckdb.DuckDBPyConnection) -> tuple[dict, pl.DataFrame]:
    """(the summary meta.load_runs keeps, meta.entity_validity_report) of the warehouse `con` is on."""
    (summary,) = con.execute(f"SELECT summary_json FROM {META_LOAD_RUNS.qualified}").fetchone()
    validity = con.execute(f"SELECT * FROM {META_ENTITY_VALIDITY.qualified} ORDER BY ALL").pl()
    return json.loads(summary), validity


def warehouse_summary(con: duckdb.DuckDBPyConnection) -> dict:
    """Where every raw row of a written warehouse went, from its tables: raw_cells (meta.source_files),
    observations, duplicates and quarantined (the rows of the canonical tables), files (file
    versions), vintages, duplicates_by_scope, quarantined_by_reason, estimated, negative,
    entities_outside_validity, and by_source (canonical.totals_by_source of meta.source_files). The
    same whether the warehouse was built whole or patched."""
    one = lambda sql: con.execute(sql).fetchone()  # noqa: E731
    observations, estimated, negative = one(
        f"SELECT count(*), count(*) FILTER (is_estimated), count(*) FILTER (is_negative) FROM {CANONICAL_OBSERVATIONS.qualified}"
    )
    files = con.execute(f"SELECT * EXCLUDE (source), source::VARCHAR AS source FROM {META_SOURCE_FILES.qualified}").pl()
    grouped = lambda table, column: dict(  # noqa: E731
        con.execute(f"SELECT {column}, count(*) FROM {table.qualified} GROUP BY ALL ORDER BY 1").fetchall()
    )
    return {
        "raw_cells": int(files["raw_cells"].sum()),
        "observations": observations,
        "duplicates": one(f"SELECT count(*) FROM {CANONICAL_DUPLICATES.qualified}")[0],
        "quarantined": one(f"SELECT count(*) FROM {CANONICAL_QUARANTINE.qualified}")[0],
        "files": files.height,
        "vintages": [
            str(v)
            for (v,) in con.execute(
                f"SELECT DISTINCT vintage FROM {CANONICAL_OBSERVATIONS.qualified} ORDER BY vintage"
            ).fetchall()
        ],
        "duplicates_by_scope": grouped(CANONICAL_DUPLICATES, "scope"),
        "quarantined_by_reason": grouped(CANONICAL_QUARANTINE, "reason"),
        "estimated": estimated,
        "negative": negative,
        "entities_outside_validity": one(f"SELECT count(*) FROM {META_ENTITY_VALIDITY.qualified}")[0],
        "by_source": totals_by_source(files),
    }


def sources_frame() -> pl.DataFrame:
    """REF_SOURCES rows: every registered source's declaration (sources/<name>/source.py)."""
    rows = [
        {
            **{k: getattr(s.info, k) for k in ("title", "publisher", "unit", "coverage", "releases", "licence", "url")},
            "source": s.name,
            "release_scope": s.release_scope,
        }
        for s in SOURCES
    ]
    return pl.DataFrame(rows).select(REF_SOURCES.column_names)


def write_check_results(con: duckdb.DuckDBPyConnection, rows: list[dict], failures: list[dict]) -> None:
    """Append validation results (META_CHECK_RESULTS rows) and failing rows (META_CHECK_FAILURES
    rows) to the candidate warehouse `con` is on."""
    if rows:
        insert(
            con,
            META_CHECK_RESULTS,
            pl.DataFrame(
                rows, schema_overrides={"checked_rows": pl.Int64, "failing_rows": pl.Int64, "seconds": pl.Float64}
            ),
        )
    if failures:
        insert(
            con,
            META_CHECK_FAILURES,
            pl.DataFrame(failures, schema={"check_name": pl.String, "row_json": pl.String}),
        )


def create_raw_views(con: duckdb.DuckDBPyConnection) -> None:
    """Create each source's raw view (RAW_VIEWS, e.g. raw.imf_dots_cells) in a candidate warehouse: the
    raw-store Parquet files listed in meta.raw_files, read in place, raw_id = the file's
    first_raw_id + the row's number in its file (the numbering of ingest.load_raw, which the
    observations' raw_id refers to). Called by Store.publish once the run's staged files are
    committed, since a view is checked against its files when it is created.

    Raises FileNotFoundError naming the raw-store files that are missing.
    """
    for source, table in RAW_VIEWS.items():
        paths = [
            p
            for (p,) in con.execute(
                f"SELECT path FROM {META_RAW_FILES.qualified} WHERE source = {sql_literal(source)} ORDER BY file_index"
            ).fetchall()
        ]
        if not paths:
            continue
        missing = [p for p in paths if not Path(p).is_file()]
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} raw-store file(s) of {table.qualified} are missing: {', '.join(missing[:5])}"
            )
        con.execute(f"DROP VIEW IF EXISTS {table.qualified}")  # a patched candidate has the published one
        files = ", ".join(sql_literal(p) for p in paths)
        cols = ", ".join(f"p.{c}" for c in table.column_names if c != "raw_id")
        con.execute(
            table.view_ddl(
                f"SELECT f.first_raw_id + p.file_row_number AS raw_id, {cols}\n"
                f"FROM read_parquet([{files}], file_row_number = true) p\n"
                f"JOIN {META_RAW_FILES.qualified} f ON f.source = {sql_literal(source)} AND f.file_index = p.file_index"
            )
        )


def entities(crosswalk: pl.DataFrame) -> pl.DataFrame:
    """REF_ENTITIES rows: each code of the crosswalks once (warehouse.crosswalk.load_crosswalks has
    checked that they agree on its attributes)."""
    return (
        crosswalk.unique(subset="code", keep="first", maintain_order=True)
        .select(REF_ENTITIES.column_names)
        .sort("code")
    )


def load_seed(table: Table, name: str) -> pl.DataFrame:
    """A seed CSV of warehouse/seeds/ with exactly `table`'s columns, typed from it. Raises ValueError
    naming the file if its columns differ."""

    path = SEEDS / name
    frame = pl.read_csv(path, schema=polars_schema(table))
    if frame.columns != table.column_names:
        raise ValueError(f"{path}: expected columns {table.column_names}, found {frame.columns}")
    return frame


def load_group_membership(path: Path = SEEDS / "group_membership.csv") -> pl.DataFrame:
    """The group membership seed (REF_GROUP_MEMBERSHIP columns). Raises ValueError naming the file
    and the rows at fault for a member listed twice in a group or a left_on before joined_on."""
    frame = pl.read_csv(
        path,
        schema={
            "group_code": pl.String,
            "group_name": pl.String,
            "member_iso3": pl.String,
            "joined_on": pl.Date,
            "left_on": pl.Date,
            "note": pl.String,
        },
    )
    dup = frame.filter(pl.struct("group_code", "member_iso3").is_duplicated())
    bad = frame.filter(pl.col("left_on") <= pl.col("joined_on"))
    if dup.height or bad.height:
        raise ValueError(
            f"{path}: members listed twice {dup.select('group_code', 'member_iso3').rows()}, "
            f"left before joining {bad.select('group_code', 'member_iso3').rows()}"
        )
    return frame


# How each mart table is computed again in a patched warehouse (warehouse.patch), for its affected
# (source, reporter) pairs, held in the temporary table patch_pairs (source, code); patch_groups
# (source, group_code) has the groups with an affected member, patch_members (source, code) every
# member of those. `rows`: the mart rows that may change (a condition on the mart's columns), which
# are deleted and computed again; `inputs`: what each relation the mart's SQL reads is narrowed to,
# such that the rows of `rows` come out of the narrowed relations whole. A view needs only `rows`,
# for its row count (write_marts).
# (compared as the columns' ENUM types: about half the time of comparing them as text). The checks
# narrow their inputs the same way (expectations.frames).
SCOPE_PAIR = "(source, {col}) IN (SELECT source::source_code, code::entity_code FROM patch_pairs)"
_CODE = "{col} IN (SELECT code::entity_code FROM patch_pairs)"
_REPORTER_OR_PARTNER = f"{SCOPE_PAIR.format(col='reporter_iso3')} OR {SCOPE_PAIR.format(col='partner_iso3')}"


@dataclass(frozen=True)
class MartPatch:
    rows: str
    inputs: dict[str, str] = field(default_factory=dict)
    # a view's: the entity columns `rows` tests, for a filter with the pairs written in as literals
    # (_in_patch), which DuckDB takes inside the view's GROUP BY: the IN (SELECT ...) of `rows` is
    # applied only after the whole view is computed, which is what the count is there to avoid
    columns: tuple[str, ...] = ()


MART_PATCHES = {
    # a row is its reporter's figure and its partner's mirror: both sides' observations
    "marts.bilateral_annual": MartPatch(_REPORTER_OR_PARTNER, {"canonical.observations_latest": _REPORTER_OR_PARTNER}),
    # a group's row sums its members' rows with one partner
    "marts.group_partner_annual": MartPatch(
        f"{SCOPE_PAIR.format(col='partner_iso3')} OR (source, group_code) IN (SELECT source::source_code, group_code FROM patch_groups)",
        {
            "marts.bilateral_annual": f"{SCOPE_PAIR.format(col='partner_iso3')} OR "
            "(source, reporter_iso3) IN (SELECT source::source_code, code::entity_code FROM patch_members)"
        },
    ),
    # sources side by side for one reporter and partner
    "marts.source_comparison": MartPatch(
        f"{_CODE.format(col='reporter_iso3')} OR {_CODE.format(col='partner_iso3')}",
        {"marts.bilateral_annual": f"{_CODE.format(col='reporter_iso3')} OR {_CODE.format(col='partner_iso3')}"},
    ),
    # a release against the one before, for one reporter
    "marts.release_diff": MartPatch(SCOPE_PAIR.format(col="reporter_iso3")),
    # a view (computed when queried): its rows that change, for its row count (write_marts)
    "marts.pair_annual": MartPatch(_REPORTER_OR_PARTNER, columns=("reporter_iso3", "partner_iso3")),
}


def write_marts(con: duckdb.DuckDBPyConnection, scope: pl.DataFrame | None = None) -> dict[str, int]:
    """Build every mart (MART_TABLES, SQL in warehouse/sql/marts/) in the candidate warehouse `con` is on, in
    dependency order: tables filled, views created (kind "view"). With `scope` (a patched
    candidate's affected (source, reporter_iso3) pairs, warehouse.patch.read_scope), only the mart
    rows those can change are computed again (MART_PATCHES), in the marts the patched file already
    has. Returns {mart: rows}, also written to meta.mart_rows (a view's rows from its row_count_sql,
    else counted by running it; in a patched candidate a view with a MART_PATCHES entry is counted
    where the patch can change it, before and after, and the rest carried: _view_rows)."""
    counts = {}
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    carried = {}
    if scope is not None:
        _patch_scope(con, scope)
        carried = _view_rows(con, scope)
    for table in MART_TABLES:
        select = sql_file(f"marts/{table.name}.sql")
        params = {"cif_fob": CIF_FOB_FACTOR} if "$cif_fob" in select else None
        select = bind(select, params)
        if scope is not None:
            if table.kind != "view":
                _patch_mart(con, table, select)
        elif table.kind == "view":
            if params:
                raise ValueError(f"{table.qualified}: a view's SQL cannot take parameters")
            con.execute(f"DROP VIEW IF EXISTS {table.qualified}")
            con.execute(table.view_ddl(select))
        else:
            con.execute(f"DROP TABLE IF EXISTS {table.qualified}")
            con.execute(table.ddl())
            cols = ", ".join(table.column_names)
            con.execute(f"INSERT INTO {table.qualified} ({cols}) SELECT {cols} FROM ({select})")
    for table in MART_TABLES:
        if table.qualified in carried:
            old, before = carried[table.qualified]
            (after,) = con.execute(_in_patch(table, scope)).fetchone()
            counts[table.qualified] = old - before + after
        else:
            count_sql = table.row_count_sql or f"SELECT count(*) FROM {table.qualified}"
            counts[table.qualified] = con.execute(count_sql).fetchone()[0]
    if scope is not None:  # the connection goes on to the step's checks, which register their own relations
        _drop_patch_scope(con)
    con.execute(f"DELETE FROM {META_MART_ROWS.qualified}")
    rows = pl.DataFrame(
        {"mart": list(counts), "kind": [t.kind for t in MART_TABLES], "rows": list(counts.values())},
        schema=polars_schema(META_MART_ROWS),
    )
    insert(con, META_MART_ROWS, rows)
    return counts


def _in_patch(view: Table, scope: pl.DataFrame) -> str:
    """SQL: how many rows of `view` the patch `scope` can change (MART_PATCHES[view].rows, with the
    scope's pairs as literals in its `columns`)."""
    by_source = scope.group_by("source").agg(pl.col("reporter_iso3").unique().sort()).sort("source").rows()
    where = " OR ".join(
        f"(source = {sql_literal(source)} AND {column} IN ({', '.join(sql_literal(c) for c in codes)}))"
        for source, codes in by_source
        for column in MART_PATCHES[view.qualified].columns
    )
    return f"SELECT count(*) FROM {view.qualified} WHERE {where or 'false'}"


def _view_rows(con: duckdb.DuckDBPyConnection, scope: pl.DataFrame) -> dict[str, tuple[int, int]]:
    """{view: (its rows in the warehouse the patched candidate was copied from (meta.mart_rows), its
    rows the patch `scope` can change, counted now: before the marts are patched)} for each view with
    MART_PATCHES columns and no row_count_sql. A view's rows outside the scope come from mart rows
    the patch leaves as they are, so they are carried, not counted (counting a view computes it
    whole)."""
    known = dict(con.execute(f"SELECT mart, rows FROM {META_MART_ROWS.qualified} WHERE kind = 'view'").fetchall())
    return {
        t.qualified: (known[t.qualified], con.execute(_in_patch(t, scope)).fetchone()[0])
        for t in MART_TABLES
        if t.kind == "view"
        and not t.row_count_sql
        and t.qualified in known
        and (p := MART_PATCHES.get(t.qualified)) is not None
        and p.columns
    }


def _patch_scope(con: duckdb.DuckDBPyConnection, scope: pl.DataFrame) -> None:
    """The temporary tables MART_PATCHES read: patch_pairs, patch_groups, patch_members."""
    register(con, "_scope", scope.select("source", code="reporter_iso3"))
    con.execute("CREATE OR REPLACE TEMP TABLE patch_pairs AS SELECT DISTINCT source, code FROM _scope")
    con.unregister("_scope")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE patch_groups AS SELECT DISTINCT p.source, g.group_code "
        f"FROM patch_pairs p JOIN {REF_GROUP_MEMBERSHIP.qualified} g ON g.member_iso3::VARCHAR = p.code"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE patch_members AS SELECT DISTINCT p.source, g.member_iso3::VARCHAR AS code "
        f"FROM patch_groups p JOIN {REF_GROUP_MEMBERSHIP.qualified} g USING (group_code)"
    )


def _drop_patch_scope(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the temporary tables and views _patch_scope and _patch_mart created in `con`."""
    for (name,) in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE temporary AND view_name LIKE 'patch_input_%'"
    ).fetchall():
        con.execute(f"DROP VIEW {name}")
    for name in ("patch_pairs", "patch_groups", "patch_members"):
        con.execute(f"DROP TABLE IF EXISTS {name}")


def _patch_mart(con: duckdb.DuckDBPyConnection, table: Table, select: str) -> None:
    """Compute `table`'s rows that the patch scope can change again (MART_PATCHES[table])."""
    patch = MART_PATCHES.get(table.qualified)
    if patch is None:
        raise ValueError(f"{table.qualified}: no MART_PATCHES entry, so a patched build cannot update it")
    for i, (relation, condition) in enumerate(patch.inputs.items()):
        if relation not in select:
            raise ValueError(f"{table.qualified}: its SQL does not read {relation} (MART_PATCHES)")
        con.execute(f"CREATE OR REPLACE TEMP VIEW patch_input_{i} AS SELECT * FROM {relation} WHERE {condition}")
        select = select.replace(relation, f"patch_input_{i}")
    cols = ", ".join(table.column_names)
    con.execute(f"DELETE FROM {table.qualified} WHERE {patch.rows}")
    con.execute(f"INSERT INTO {table.qualified} ({cols}) SELECT {cols} FROM ({select}) WHERE {patch.rows}")


# The featured question (README): how ASEAN members' trade with Russia moved. The web UI's previews
# of the marts and publish/featured_chart show it.
FEATURED_GROUP, FEATURED_PARTNER = "ASEAN", "RUS"


def previews(con: duckdb.DuckDBPyConnection, tables: list[str], rows: int = 10) -> dict[str, pl.DataFrame]:
    """Up to `rows` rows of each of `tables` (qualified names) in the warehouse `con` is on that tell the
    featured story: a table with a group and a partner, FEATURED_GROUP's rows with FEATURED_PARTNER;
    one with a reporter and a partner, the group's current members' rows with the partner; the
    latest years first. A table without those rows (or those columns) shows its first rows. The
    filters are ENUM-typed literals, so that they reach inside a view (a view's first rows
    unfiltered would compute the whole view: 0.2-0.3 s each)."""
    members = [
        m
        for (m,) in con.execute(
            f"SELECT member_iso3 FROM {REF_GROUP_MEMBERSHIP.qualified} "
            f"WHERE group_code = {sql_literal(FEATURED_GROUP)} AND left_on IS NULL ORDER BY member_iso3"
        ).fetchall()
    ]
    literal = lambda code: sql_literal(code) + "::entity_code"  # noqa: E731
    out = {}
    for t in tables:
        columns = {c for (c,) in con.execute(f"SELECT name FROM pragma_table_info('{t}')").fetchall()}
        where = ""
        if {"group_code", "partner_iso3"} <= columns:
            where = f" WHERE group_code = '{FEATURED_GROUP}' AND partner_iso3 = {literal(FEATURED_PARTNER)}"
        elif {"reporter_iso3", "partner_iso3"} <= columns and members:
            where = (
                f" WHERE partner_iso3 = {literal(FEATURED_PARTNER)} AND reporter_iso3 IN "
                f"({', '.join(literal(m) for m in members)})"
            )
        order = (
            " ORDER BY year DESC, reporter_iso3"
            if {"year", "reporter_iso3"} <= columns
            else (" ORDER BY year DESC" if "year" in columns else "")
        )
        frame = con.execute(f"SELECT * FROM {t}{where}{order} LIMIT {rows}").pl() if where else None
        out[t] = frame if frame is not None and frame.height else con.execute(f"SELECT * FROM {t} LIMIT {rows}").pl()
    return out


def table_rows(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every table and view of the warehouse `con` is on (schema.name, kind) with its rows; a view's
    rows are left empty (counting one means running it)."""
    names = con.execute(
        "SELECT schema_name || '.' || table_name, 'table' FROM duckdb_tables() WHERE NOT internal "
        "UNION ALL SELECT schema_name || '.' || view_name, 'view' FROM duckdb_views() WHERE NOT internal "
        "ORDER BY 1"
    ).fetchall()
    counts = [
        con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] if kind == "table" else None for name, kind in names
    ]
    return pl.DataFrame(
        {"table": [n for n, _ in names], "kind": [k for _, k in names], "rows": counts},
        schema={"table": pl.String, "kind": pl.String, "rows": pl.Int64},
    )
