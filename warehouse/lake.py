"""DuckLake: the product store on a catalogue database and Parquet data files, for several writers
at once and snapshot reads (docs/scale.md). Off unless configured:

    TRADEWH_LAKE       the DuckLake catalogue as DuckLake's ATTACH takes it after `ducklake:`, e.g.
                       `postgres:dbname=tradewh host=127.0.0.1 port=5432 user=tradewh` (a PostgreSQL
                       catalogue: several processes may write at once) or `/path/meta.ducklake` (a
                       DuckDB file: one process at a time)
    TRADEWH_LAKE_DATA  where the Parquet data files go: a folder (default $TRADEWH_HOME/lake/) or an
                       s3:// prefix (credentials as DuckDB's httpfs takes them: CREATE SECRET, or the
                       AWS environment variables)

Tables, in the lake attached as `lake` (LAKE_ALIAS):

    lake.product_raw        every bulk file's rows as published (the source's raw_sql columns) with
                            source, classification, year, vintage, source_file; partitioned by
                            classification and year
    lake.product_files      one row per file version loaded (warehouse.schema.META_PRODUCT_FILES)
    lake.bulk_codes         the crosswalks' numeric country codes (source, source_code, code, entity_type)
    lake.product_observations, lake.product_quarantine, lake.product_observations_latest
                            views: the same rule as the local store's (the source's canonical_sql)

One file is one transaction, so one snapshot (`lake.snapshots()`): a reader sees every row of a file
or none, and `SELECT ... FROM lake.product_raw AT (VERSION => n)` reads the lake as it was.

DuckDB's extensions come from their PyPI wheels (duckdb-extension-ducklake, -postgres-scanner,
-httpfs), loaded from the installed files: nothing is downloaded at run time.
"""

import importlib.util
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from tradewh.sources.contract import BulkFile, BulkSource
from tradewh.warehouse.schema import META_PRODUCT_FILES
from tradewh.warehouse.tables import sql_literal

LAKE_ALIAS = "lake"
# (wheel package, extension file): DuckDB's signed builds, version = DuckDB's (pyproject.toml)
EXTENSIONS = {
    "ducklake": ("duckdb_extension_ducklake", "ducklake.duckdb_extension"),
    "postgres": ("duckdb_extension_postgres_scanner", "postgres_scanner.duckdb_extension"),
    "httpfs": ("duckdb_extension_httpfs", "httpfs.duckdb_extension"),
}
RAW_KEYS = "source VARCHAR, classification VARCHAR, year SMALLINT, vintage DATE, source_file VARCHAR"
# A commit that meets another writer's conflicting one is retried this many times (DuckLake retries
# plain appends itself; a reload that deletes a file's old rows can still conflict).
RETRIES = 5


class LakeError(RuntimeError):
    """The lake cannot be reached or set up; the message says which setting to check."""


@dataclass(frozen=True)
class Lake:
    """A DuckLake configuration: `catalog` as ATTACH 'ducklake:<catalog>' takes it, `data_path`
    a folder or s3:// prefix for the Parquet files."""

    catalog: str
    data_path: str

    @classmethod
    def from_env(cls, home: Path) -> "Lake | None":
        """The lake TRADEWH_LAKE / TRADEWH_LAKE_DATA configure, or None when TRADEWH_LAKE is unset."""
        catalog = os.environ.get("TRADEWH_LAKE", "").strip()
        if not catalog:
            return None
        data = os.environ.get("TRADEWH_LAKE_DATA", "").strip() or str(Path(home).resolve() / "lake")
        return cls(catalog.removeprefix("ducklake:"), data)

    @property
    def writers(self) -> int:
        """How many processes may write at once: several with a PostgreSQL catalogue, else one."""
        return 4 if self.catalog.startswith("postgres:") else 1


def _extension_file(name: str) -> Path:
    package, filename = EXTENSIONS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise LakeError(f"the DuckDB extension {name} is not installed (pip package {package.replace('_', '-')})")
    found = sorted(Path(spec.submodule_search_locations[0]).rglob(filename))
    if not found:
        raise LakeError(f"the package {package} holds no {filename}")
    return found[0]


def load_extensions(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """LOAD the extensions `lake` needs from their wheels (signature checking stays on)."""
    needed = ["ducklake"]
    if lake.catalog.startswith("postgres:"):
        needed.append("postgres")
    if lake.data_path.startswith(("s3://", "gs://", "http://", "https://")):
        needed.append("httpfs")
    for name in needed:
        con.execute(f"LOAD '{_extension_file(name)}'")


def attach(con: duckdb.DuckDBPyConnection, lake: Lake, read_only: bool = False) -> None:
    """Attach `lake` as LAKE_ALIAS to `con`; a writer also creates its tables and views when missing.
    Raises LakeError naming the catalogue when it cannot be attached."""
    load_extensions(con, lake)
    data = lake.data_path if "://" in lake.data_path else str(Path(lake.data_path).resolve()) + "/"
    # a reader takes the data path the catalogue records; a writer states it (DuckLake refuses one
    # that differs from the catalogue's, naming both)
    options = "READ_ONLY" if read_only else f"DATA_PATH {sql_literal(data)}"
    try:
        # a new catalogue that another process is creating at this moment: attach again once it exists
        _retry(
            lambda: con.execute(f"ATTACH {sql_literal('ducklake:' + lake.catalog)} AS {LAKE_ALIAS} ({options})"),
            lambda exc: "already exists" in str(exc) or "duplicate key" in str(exc),
        )
    except duckdb.Error as exc:
        raise LakeError(f"cannot attach the DuckLake catalogue {lake.catalog!r} (TRADEWH_LAKE): {exc}") from exc
    if not read_only:
        _retry(lambda: _ensure_tables(con))


def connect(lake: Lake, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection with `lake` attached as LAKE_ALIAS."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    attach(con, lake, read_only=read_only)
    return con


def _retry(action, retryable=lambda exc: isinstance(exc, duckdb.TransactionException)):
    """action(), again up to RETRIES times, a little later each time, while it raises a duckdb.Error
    that `retryable` accepts (default: a commit that met another writer's); the last error is raised."""
    for attempt in range(RETRIES + 1):
        try:
            return action()
        except duckdb.Error as exc:
            if attempt == RETRIES or not retryable(exc):
                raise
            time.sleep(0.2 * (attempt + 1))


def _ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    from tradewh.sources.registry import BULK_SOURCES
    from tradewh.warehouse.bulk import codes_frame

    have = {
        n
        for (n,) in con.execute(
            f"SELECT table_name FROM duckdb_tables() WHERE database_name = '{LAKE_ALIAS}'"
        ).fetchall()
    }
    raw_cols = {}
    for source in BULK_SOURCES:
        raw_cols.update(source.raw_columns)
    con.execute("BEGIN")
    try:
        if "product_raw" not in have:
            cols = ", ".join(f"{c} {t}" for c, t in raw_cols.items())
            con.execute(f"CREATE TABLE {LAKE_ALIAS}.product_raw ({RAW_KEYS}, {cols})")
            con.execute(f"ALTER TABLE {LAKE_ALIAS}.product_raw SET PARTITIONED BY (classification, year)")
        if "product_files" not in have:
            cols = ", ".join(f"{c.name} {c.type}" for c in META_PRODUCT_FILES.columns)
            con.execute(f"CREATE TABLE {LAKE_ALIAS}.product_files ({cols})")
        if "bulk_codes" not in have:
            con.execute(
                f"CREATE TABLE {LAKE_ALIAS}.bulk_codes (source VARCHAR, source_code INTEGER, code VARCHAR, entity_type VARCHAR)"
            )
            for source in BULK_SOURCES:
                codes = codes_frame(source)  # noqa: F841 (DuckDB's replacement scan)
                con.execute(
                    f"INSERT INTO {LAKE_ALIAS}.bulk_codes SELECT {sql_literal(source.crosswalk_source)}, * FROM codes"
                )
            _create_views(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _create_views(con: duckdb.DuckDBPyConnection) -> None:
    from tradewh.warehouse.bulk import product_view_selects

    sql = product_view_selects(
        lambda source: f"(SELECT * FROM {LAKE_ALIAS}.product_raw WHERE source = {sql_literal(source.name)})",
        lambda source: (
            f"(SELECT source_code, code, entity_type FROM {LAKE_ALIAS}.bulk_codes "
            f"WHERE source = {sql_literal(source.crosswalk_source)})"
        ),
        rows=f"{LAKE_ALIAS}.product_rows",
        observations=f"{LAKE_ALIAS}.product_observations",
        files=f"{LAKE_ALIAS}.product_files",
    )
    for view, key in (("product_rows", "rows"), ("product_observations", "observations"),
                      ("product_quarantine", "quarantine"), ("product_observations_latest", "latest")):  # fmt: skip
        con.execute(f"CREATE VIEW {LAKE_ALIAS}.{view} AS\n{sql[key]}")


def load_file(con: duckdb.DuckDBPyConnection, lake: Lake, source: BulkSource, f: BulkFile, started: float):
    """warehouse.bulk.load_file into the lake: one transaction (one snapshot) that replaces an earlier
    version of the same file (same source, revision, year and release) and appends the rows and the
    manifest row; a file version already in the lake is skipped. Raises BulkLoadError (rolled back)
    as the local store does."""
    from tradewh.warehouse import bulk

    if LAKE_ALIAS not in {n for (n,) in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()}:
        attach(con, lake)
    key = (
        f"source = {sql_literal(source.name)} AND classification = {sql_literal(f.classification)} AND year = {f.year} "
        f"AND vintage = DATE {sql_literal(f.vintage.isoformat())}"
    )

    def once():
        con.execute("BEGIN")
        try:
            row = con.execute(
                f"SELECT file_sha256, rows_read, rows_loaded, rows_quarantined, value_read, value_loaded, "
                f"value_quarantined, loaded_at FROM {LAKE_ALIAS}.product_files WHERE {key}"
            ).fetchone()
            if row is not None and row[0] == f.sha256:
                con.execute("ROLLBACK")
                return bulk.BulkLoadReport(
                    source.name, f.name, f.sha256, f.vintage.isoformat(), f.release_kind, f.classification, f.year,
                    row[1], row[2], row[3], str(row[4]), str(row[5]), str(row[6]), {}, str(row[7]),
                    f"{LAKE_ALIAS}.product_raw", skipped=True,
                )  # fmt: skip
            if row is not None:
                con.execute(f"DELETE FROM {LAKE_ALIAS}.product_raw WHERE {key}")
                con.execute(f"DELETE FROM {LAKE_ALIAS}.product_files WHERE {key}")
            con.execute(
                f"INSERT INTO {LAKE_ALIAS}.product_raw BY NAME SELECT {sql_literal(source.name)} AS source, "
                f"{sql_literal(f.classification)} AS classification, {f.year} AS year, DATE {sql_literal(f.vintage.isoformat())} AS vintage, "
                f"{sql_literal(f.name)} AS source_file, r.* FROM ({source.raw_sql(f)}) r"
            )
            counts = bulk._audit(con, source, f, f"(SELECT * FROM {LAKE_ALIAS}.product_raw WHERE {key})")
            report = bulk._report(source, f, counts, f"{LAKE_ALIAS}.product_raw", started)
            con.execute(
                f"INSERT INTO {LAKE_ALIAS}.product_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    report.source, report.source_file, report.file_sha256, report.vintage, report.release_kind,
                    report.classification, report.year, report.rows_read, report.rows_loaded, report.rows_quarantined,
                    report.value_read, report.value_loaded, report.value_quarantined,
                    datetime.now(timezone.utc).replace(tzinfo=None), report.path,
                ],
            )  # fmt: skip
            con.execute("COMMIT")
            return report
        except BaseException:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:
                pass
            raise

    return _retry(once)
