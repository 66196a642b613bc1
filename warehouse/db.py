"""Write a candidate DuckDB warehouse: DDL from warehouse.schema, data from Polars frames, views
and macros from warehouse/sql/*.sql. Used by the canonical asset; knows nothing about Dagster."""

import json
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import polars as pl

from warehouse.canonical import CanonicalResult
from warehouse.schema import (
    CANONICAL_DUPLICATES,
    CANONICAL_OBSERVATIONS,
    CANONICAL_QUARANTINE,
    ENUM_TYPES,
    META_CHECK_FAILURES,
    META_CHECK_RESULTS,
    META_ENTITY_VALIDITY,
    META_LOAD_RUNS,
    META_SOURCE_FILES,
    RAW_IMF_DOTS_CELLS,
    MART_TABLES,
    REF_CROSSWALK,
    REF_GROUP_MEMBERSHIP,
    TABLES,
    VIEWS,
    Table,
)

SQL_DIR = Path(__file__).parent / "sql"
SEEDS = Path(__file__).parent / "seeds"
CIF_FOB_FACTOR = 1.06  # the IMF DOTS flat factor between CIF imports and FOB exports
# Row order of the big tables on disk: the common filters first, so DuckDB's zone maps skip blocks.
ORDER = {
    CANONICAL_OBSERVATIONS.qualified: "reporter_iso3, partner_iso3, flow, period, vintage",
}


def sql_file(name: str) -> str:
    return (SQL_DIR / name).read_text()


def _insert(con: duckdb.DuckDBPyConnection, table: Table, frame: pl.DataFrame) -> None:
    cols = ", ".join(table.column_names)
    order = f" ORDER BY {ORDER[table.qualified]}" if table.qualified in ORDER else ""
    con.register("_frame", frame.select(table.column_names).to_arrow())
    con.execute(f"INSERT INTO {table.qualified} ({cols}) SELECT {cols} FROM _frame{order}")
    con.unregister("_frame")


def write_candidate(
    path: Path,
    raw: pl.DataFrame,
    crosswalk: pl.DataFrame,
    result: CanonicalResult,
    run_id: str,
) -> None:
    """Create a fresh warehouse file at `path` (replacing a leftover one) with every table filled.

    Raises duckdb.Error on a write failure, after deleting the partial file. A run killed outright
    can still leave an incomplete candidate behind, which is why only Store.publish, after checking
    the candidate, makes it visible to readers.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_database(path)  # a leftover of an earlier attempt with the same run id
    try:
        _write(path, raw, crosswalk, result, run_id)
    except BaseException:
        _remove_database(path)
        raise


def _remove_database(path: Path) -> None:
    for part in (path, Path(str(path) + ".wal")):
        part.unlink(missing_ok=True)


def create_enum_types(con: duckdb.DuckDBPyConnection, frames: dict[Table, pl.DataFrame]) -> None:
    """CREATE TYPE every ENUM_TYPES type with the distinct values of the columns of that type in
    `frames` (every frame the build writes), sorted, so ORDER BY on them is alphabetical."""
    for name in ENUM_TYPES:
        values = sorted(
            {
                v
                for table, frame in frames.items()
                for c in table.columns
                if c.type == name
                for v in frame.get_column(c.name).drop_nulls().unique().to_list()
            }
        )
        con.register("_enum_values", pl.DataFrame({"v": values}, schema={"v": pl.String}).to_arrow())
        con.execute(f"CREATE TYPE {name} AS ENUM (SELECT v FROM _enum_values ORDER BY v)")
        con.unregister("_enum_values")


def _write(path: Path, raw: pl.DataFrame, crosswalk: pl.DataFrame, result: CanonicalResult, run_id: str) -> None:
    frames = {
        RAW_IMF_DOTS_CELLS: raw,
        REF_CROSSWALK: crosswalk,
        REF_GROUP_MEMBERSHIP: load_group_membership(),
        CANONICAL_OBSERVATIONS: result.observations,
        CANONICAL_DUPLICATES: result.duplicates,
        CANONICAL_QUARANTINE: result.quarantine,
        META_SOURCE_FILES: result.source_files,
        META_ENTITY_VALIDITY: result.entity_validity,
    }
    with duckdb.connect(str(path)) as con:
        for schema in sorted({t.schema for t in TABLES}):
            con.execute(f"CREATE SCHEMA {schema}")
        create_enum_types(con, frames)
        for table in TABLES:
            con.execute(table.ddl())
        for table, frame in frames.items():
            _insert(con, table, frame)
        con.execute(sql_file("canonical_views.sql"))
        for view in VIEWS:
            con.execute(view.comment_sql())
        s = result.summary
        con.execute(
            f"INSERT INTO {META_LOAD_RUNS.qualified} VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                datetime.now(timezone.utc).replace(tzinfo=None),
                s["raw_cells"],
                s["observations"],
                s["duplicates"],
                s["quarantined"],
                json.dumps(s, default=str, sort_keys=True),
            ],
        )
        con.execute("CHECKPOINT")


def write_check_results(path: Path, rows: list[dict], failures: list[dict]) -> None:
    """Append validation results (META_CHECK_RESULTS rows) and failing rows (META_CHECK_FAILURES
    rows) to a candidate warehouse."""
    with duckdb.connect(str(path)) as con:
        if rows:
            _insert(
                con,
                META_CHECK_RESULTS,
                pl.DataFrame(rows, schema_overrides={"checked_rows": pl.Int64, "failing_rows": pl.Int64, "seconds": pl.Float64}),
            )
        if failures:
            _insert(con, META_CHECK_FAILURES, pl.DataFrame(failures, schema={"check_name": pl.String, "row_json": pl.String}))
        con.execute("CHECKPOINT")


def load_group_membership(path: Path = SEEDS / "group_membership.csv") -> pl.DataFrame:
    """The group membership seed (REF_GROUP_MEMBERSHIP columns). Raises ValueError naming the file
    and the rows at fault for a member listed twice in a group or a left_on before joined_on."""
    frame = pl.read_csv(
        path,
        schema={"group_code": pl.String, "group_name": pl.String, "member_iso3": pl.String,
                "joined_on": pl.Date, "left_on": pl.Date, "note": pl.String},
    )
    dup = frame.filter(pl.struct("group_code", "member_iso3").is_duplicated())
    bad = frame.filter(pl.col("left_on") <= pl.col("joined_on"))
    if dup.height or bad.height:
        raise ValueError(f"{path}: members listed twice {dup.select('group_code', 'member_iso3').rows()}, "
                         f"left before joining {bad.select('group_code', 'member_iso3').rows()}")
    return frame


def write_marts(path: Path) -> dict[str, int]:
    """Build every mart (MART_TABLES, SQL in warehouse/sql/marts/) in a candidate warehouse, in
    dependency order. Returns {table: rows}."""
    counts = {}
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        for table in MART_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table.qualified}")
            con.execute(table.ddl())
            select = sql_file(f"marts/{table.name}.sql")
            params = {"cif_fob": CIF_FOB_FACTOR} if "$cif_fob" in select else None
            cols = ", ".join(table.column_names)
            con.execute(f"INSERT INTO {table.qualified} ({cols}) SELECT {cols} FROM ({select})", params)
            counts[table.qualified] = con.execute(f"SELECT count(*) FROM {table.qualified}").fetchone()[0]
        con.execute("CHECKPOINT")
    return counts
