"""The table declaration types: a column, a table (its DDL and view DDL with COMMENTs); and the SQL
text helpers every layer uses (literals, the build's constants inlined, frames registered).

No imports from the rest of the project, so every layer can declare its tables with them: a source
folder its raw table (sources/<name>/), warehouse.schema the canonical, meta, ref and mart tables.
"""

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    description: str
    columns: tuple[Column, ...]
    kind: str = "table"  # or "view": computed when queried, from the SQL of the same name
    # A view's row count without running it: an identity of its SQL (tested), for the UI's row count.
    row_count_sql: str | None = None

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def ddl(self) -> str:
        cols = ",\n  ".join(f"{c.name} {c.type}{'' if c.nullable else ' NOT NULL'}" for c in self.columns)
        stmts = [
            f"CREATE TABLE {self.qualified} (\n  {cols}\n);",
            f"COMMENT ON TABLE {self.qualified} IS {sql_literal(self.description)};",
        ]
        stmts += [f"COMMENT ON COLUMN {self.qualified}.{c.name} IS {sql_literal(c.description)};" for c in self.columns]
        return "\n".join(stmts)

    def view_ddl(self, select: str) -> str:
        """CREATE VIEW over `select`, each column cast to its declared type, with the comments."""
        cols = ",\n  ".join(f"CAST({c.name} AS {c.type}) AS {c.name}" for c in self.columns)
        stmts = [
            f"CREATE VIEW {self.qualified} AS\nSELECT\n  {cols}\nFROM (\n{select}\n);",
            f"COMMENT ON VIEW {self.qualified} IS {sql_literal(self.description)};",
        ]
        stmts += [f"COMMENT ON COLUMN {self.qualified}.{c.name} IS {sql_literal(c.description)};" for c in self.columns]
        return "\n".join(stmts)


def sql_literal(value: object) -> str:
    """`value` (text, a path, a date) as a SQL string literal, quotes doubled: for the places SQL
    cannot take a bound parameter (file names in table functions, COPY targets, COMMENTs, DDL)."""
    return "'" + str(value).replace("'", "''") + "'"


# Why a build binds no parameters and scans no pandas or pyarrow object: DuckDB's Python client
# imports pandas (a third of a second in every build, for nothing else: docs/benchmarks.md) the
# first time it binds a parameter that is not None or scans a Python object other than a Polars
# LazyFrame (a DataFrame or Arrow table goes through pyarrow.dataset, which imports pandas). So the
# build's own constants (thresholds, factors, codes) go into its SQL as literals (`bind`), and
# frames are registered as LazyFrames (`register`), except a frame of a million rows or more, which
# db.insert hands over as Arrow (a whole build's observations: DuckDB would copy a LazyFrame's text).
# tests/test_patch.py checks that a patched build leaves pandas unimported. Values a user typed
# (growth's partner, group, years) are still bound by DuckDB.
_PARAM = re.compile(r"\$([A-Za-z_]\w*)")


def sql_value(value: object) -> str:
    """`value` as a SQL literal of the type DuckDB would bind it as: None -> NULL, bool, int, float
    (DOUBLE: the same double, since repr round-trips), str (VARCHAR). Raises TypeError for any other type."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"CAST('{value!r}' AS DOUBLE)"
    if isinstance(value, str):
        return sql_literal(value)
    raise TypeError(f"no SQL literal for {type(value).__name__} {value!r}")


def bind(sql: str, params: dict | None) -> str:
    """`sql` with each `$name` replaced by sql_value(params[name]) (see _PARAM's comment for why
    the build does not let DuckDB bind them). Raises KeyError naming a `$name` that `params` lacks."""
    if not params:
        return sql

    def value(match: re.Match) -> str:
        if match.group(1) not in params:
            raise KeyError(f"SQL parameter ${match.group(1)} has no value (given: {', '.join(sorted(params))})")
        return sql_value(params[match.group(1)])

    return _PARAM.sub(value, sql)


def register(con, name: str, frame) -> None:
    """Register `frame` (a Polars DataFrame, or an Arrow table, taken without a copy) on the DuckDB
    connection `con` under `name`, as a Polars LazyFrame (see _PARAM's comment). DuckDB scans its
    chunks as they are: a frame in chunks of a row group is read on every core, one chunk on one."""
    import polars as pl

    if not isinstance(frame, pl.DataFrame):
        frame = pl.from_arrow(frame, rechunk=False)
    con.register(name, frame.lazy())


# US-dollar amounts: whole cents, exact. Sums of them are exact too, so the same input gives the same
# bits whatever order DuckDB's threads add them in (a DOUBLE sum did not: 13-29 distinct totals in 30
# runs). 16 digits before the point: 10^16 US$, far above any total of world trade.
USD = "DECIMAL(18,2)"

# DuckDB column type -> Polars dtype name, for frames that must match a declared table (a source's
# raw frames); ENUM-typed columns (warehouse.schema.ENUM_TYPES) are text in Polars. Amounts (USD)
# are doubles rounded to the cent in Polars, stored exact by DuckDB (the cast rounds to the cent).
_POLARS = {
    "VARCHAR": "String",
    "DATE": "Date",
    "BOOLEAN": "Boolean",
    "DOUBLE": "Float64",
    "BIGINT": "Int64",
    "INTEGER": "Int32",
    "SMALLINT": "Int16",
    "TINYINT": "Int8",
    "TIMESTAMP": "Datetime",
    USD: "Float64",
}


def polars_schema(table: Table, without: tuple[str, ...] = ()) -> dict:
    """{column: Polars dtype} for `table`'s columns (except `without`), from their DuckDB types: the
    one declaration of a raw table serves its Parquet files and its view alike."""
    import polars as pl

    return {c.name: getattr(pl, _POLARS.get(c.type, "String")) for c in table.columns if c.name not in without}
