"""The product store: bulk product files (one CSV per year and HS revision, ~10 M rows each) loaded
by DuckDB straight from the CSV into Parquet partitions, never row by row in Python, and published
without rewriting history (docs/scale.md).

Layout under TRADEWH_HOME:

    products/source=<s>/classification=<H0-H6>/year=<yyyy>/vintage=<yyyy-mm-dd>/
        part.parquet     one file version's rows as published, typed (the source's raw_sql), in file
                         order; its partition's keys are in the path (hive style), not in the file
        manifest.json    the file's name, SHA-256, release and reconciliation counts (meta.product_files)

Adding a year, or a new release of one, writes one new partition file and its manifest; nothing else
is touched. A corrected file of the same release replaces its own partition (os.replace: atomic), and
a file version whose manifest already names its SHA-256 is not loaded again. The published warehouse
reads the partitions in place through views (canonical.product_observations, ..._latest,
meta.product_quarantine, meta.product_files) whose glob picks up new partitions without the
warehouse file being rewritten: readers are never blocked and see whole files only (a partition is
written under a temporary name and renamed into place). The views map codes and set each row's
quarantine reason when read (the source's canonical_sql, with ref.crosswalk), as the canonical layer
does for the raw store: the stored rows are the file's, so a crosswalk fix needs no reload, and
writing them costs what DuckDB's own CSV-to-table load costs.

With DuckLake configured (warehouse.lake), the same rows go into DuckLake tables instead, one
transaction (one snapshot) per file, so several processes can load years at once.

Policies, as for every source: every row read is loaded or quarantined with its reason (the
manifest's counts add up: rows_read = rows_loaded + rows_quarantined, and the value sums too); a
country code the crosswalk lacks, or a key (exporter, importer, product) twice in one file, stops
that file's load naming the codes or keys, and nothing of it is written.
"""

import json
import os
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from tradewh.sources.contract import BulkFile, BulkSource
from tradewh.warehouse.crosswalk import load_crosswalk
from tradewh.warehouse.schema import META_PRODUCT_FILES, PRODUCT_OBSERVATIONS, PRODUCT_QUARANTINE
from tradewh.warehouse.store import fsync_dir
from tradewh.warehouse.tables import sql_literal

PRODUCTS_DIR = "products"
PRODUCT_STORE_TABLE = "meta.product_store"
CODES_TABLE = "bulk_codes"
# Parquet for the partitions: zstd (a synthetic 10 M-row year: 74 MB against 103 MB with DuckDB's
# default snappy, written in the same time); rows keep the file's order (exporter, importer,
# product), so row-group statistics let a query for a few reporters skip most of a year.
PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION zstd"


class BulkLoadError(ValueError):
    """A bulk file cannot load: the message names the file and what is wrong (codes, keys, lines).
    Nothing of it was written."""


@dataclass(frozen=True)
class BulkLoadReport:
    """What one file's load did (its manifest, META_PRODUCT_FILES): the counts add up."""

    source: str
    source_file: str
    file_sha256: str
    vintage: str
    release_kind: str
    classification: str
    year: int
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    value_read: str  # Decimal as text: thousands of US$ as published, exact
    value_loaded: str
    value_quarantined: str
    quarantined_by_reason: dict
    loaded_at: str
    path: str
    seconds: float = 0.0
    skipped: bool = False  # this exact file version was already loaded: nothing was written


def products_dir(home: Path) -> Path:
    return Path(home) / PRODUCTS_DIR


def partition_dir(home: Path, source: BulkSource, f: BulkFile) -> Path:
    """products/source=<s>/classification=<c>/year=<y>/vintage=<d> under `home`."""
    return (
        products_dir(home)
        / f"source={source.name}"
        / f"classification={f.classification}"
        / f"year={f.year}"
        / f"vintage={f.vintage.isoformat()}"
    )


PART, MANIFEST = "part.parquet", "manifest.json"
PARTS_GLOB = ("*", "*", "*", "*", PART)  # source, classification, year, vintage


def loaded_report(home: Path, source: BulkSource, f: BulkFile) -> BulkLoadReport | None:
    """The manifest of `f`'s partition if that partition holds exactly this file version, else None."""
    folder = partition_dir(home, source, f)
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if data.get("file_sha256") != f.sha256 or not (folder / PART).exists():
        return None
    return BulkLoadReport(**{**data, "skipped": True})


def codes_sql(source: BulkSource) -> str:
    """A FROM item of `source`'s numeric country codes (source_code INTEGER, code, entity_type) read
    from the published warehouse's ref.crosswalk (the product views use it)."""
    return (
        "(SELECT CAST(CAST(source_name AS VARCHAR) AS INTEGER) AS source_code, CAST(code AS VARCHAR) AS code, "
        "CAST(entity_type AS VARCHAR) AS entity_type FROM ref.crosswalk "
        f"WHERE source = {sql_literal(source.crosswalk_source)} AND regexp_full_match(CAST(source_name AS VARCHAR), '[0-9]+'))"
    )


def codes_frame(source: BulkSource) -> pl.DataFrame:
    """The numeric country codes of `source`'s crosswalk seed: source_code (INTEGER), code, entity_type."""
    cw = load_crosswalk(source.crosswalk_source)
    return cw.filter(pl.col("source_name").str.contains(r"^[0-9]+$")).select(
        pl.col("source_name").cast(pl.Int32).alias("source_code"),
        pl.col("code"),
        pl.col("entity_type").cast(pl.String),
    )


def connect(memory_limit: str | None = None, threads: int | None = None, temp_dir: Path | None = None):
    """An in-memory DuckDB connection for loading (no warehouse file is opened for writing):
    `memory_limit` e.g. "4GB" (DuckDB spills to `temp_dir` beyond it)."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    if memory_limit:
        con.execute("SET memory_limit = ?", [memory_limit])
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if temp_dir:
        Path(temp_dir).mkdir(parents=True, exist_ok=True)
        con.execute("SET temp_directory = ?", [str(temp_dir)])
    return con


def _register_codes(con: duckdb.DuckDBPyConnection, source: BulkSource) -> None:
    codes = codes_frame(source)  # noqa: F841 (read by DuckDB's replacement scan)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {CODES_TABLE} AS SELECT * FROM codes")


def file_raw(source: BulkSource, f: BulkFile, parquet: str) -> str:
    """A FROM item of one written partition's raw rows with its keys as columns (canonical_sql's input)."""
    return (
        f"(SELECT p.*, {sql_literal(source.name)} AS source, {sql_literal(f.classification)} AS classification, "
        f"CAST({f.year} AS SMALLINT) AS year, DATE {sql_literal(f.vintage.isoformat())} AS vintage, "
        f"{sql_literal(f.name)} AS source_file FROM {parquet} p)"
    )


def _audit(con: duckdb.DuckDBPyConnection, source: BulkSource, f: BulkFile, raw: str) -> dict:
    """Reconciliation counts of one file's rows (`raw`: file_raw's FROM item) through the source's
    canonical rule, and the stops: raises BulkLoadError for country codes the crosswalk lacks or a
    key (exporter, importer, product) twice in the file."""
    unmapped = con.execute(
        f"""SELECT DISTINCT code FROM (SELECT DISTINCT i AS code FROM {raw} UNION SELECT DISTINCT j FROM {raw})
            WHERE code IS NULL OR code NOT IN (SELECT source_code FROM {CODES_TABLE}) ORDER BY code LIMIT 20"""
    ).fetchall()
    if unmapped:
        raise BulkLoadError(
            f"{f.path}: country codes not in the {source.crosswalk_source} crosswalk ({source.name} maps its codes "
            f"through it): {', '.join(str(c) for (c,) in unmapped)}; add them to the crosswalk (docs/add-a-source.md) "
            "and load again"
        )
    # A key twice. Files come sorted by key (CEPII writes them so): every key greater than the one
    # before proves there is none, in one streaming pass over the rows in file order. Otherwise:
    # equal keys always have equal hashes, so as many distinct hashes as rows proves none too; else
    # (a duplicate, or a hash collision) the exact keys are looked up.
    total, unsorted = con.execute(
        f"SELECT count(*), count(*) FILTER (NOT ok) FROM (SELECT (i, j, k) > lag((i, j, k)) OVER () AS ok FROM {raw})"
    ).fetchone()
    distinct = total
    if unsorted:  # (the first row, with no row before it, is not counted)
        distinct = con.execute(f"SELECT count(DISTINCT hash(i, j, k)) FROM {raw}").fetchone()[0]
    if distinct != total:
        dups = con.execute(
            f"SELECT i, j, k, count(*) FROM {raw} GROUP BY ALL HAVING count(*) > 1 ORDER BY ALL LIMIT 5"
        ).fetchall()
        if dups:
            keys = "; ".join(f"i={i} j={j} k={k} ({n} rows)" for i, j, k, n in dups)
            raise BulkLoadError(f"{f.path}: keys (exporter i, importer j, product k) given more than once: {keys}")
    by_reason = con.execute(
        f"""SELECT reason, count(*), coalesce(sum(original_value), 0)
            FROM ({source.canonical_sql(raw, CODES_TABLE)}) GROUP BY reason ORDER BY reason NULLS FIRST"""
    ).fetchall()
    loaded = next(((n, v) for r, n, v in by_reason if r is None), (0, Decimal(0)))
    quarantined = {r: n for r, n, _ in by_reason if r is not None}
    return {
        "rows_read": total,
        "rows_loaded": loaded[0],
        "rows_quarantined": sum(quarantined.values()),
        "value_read": str(sum((v for _, _, v in by_reason), Decimal(0))),
        "value_loaded": str(loaded[1]),
        "value_quarantined": str(sum((v for r, _, v in by_reason if r is not None), Decimal(0))),
        "quarantined_by_reason": quarantined,
    }


def load_file(
    source: BulkSource, f: BulkFile, home: Path, con: duckdb.DuckDBPyConnection | None = None, lake=None
) -> BulkLoadReport:
    """Load one bulk file into the product store under `home` (or into DuckLake when `lake`, a
    warehouse.lake.Lake, is given) and return its report. A file version already loaded is skipped
    (report.skipped). `con`: a connection from connect() to reuse (its settings: memory limit,
    threads). Raises BulkLoadError (nothing written) for unmapped codes or duplicate keys, and
    duckdb.Error naming the line for a malformed CSV line."""
    started = time.perf_counter()
    own = con is None
    con = con or connect(temp_dir=Path(home) / "tmp")
    try:
        _register_codes(con, source)
        if lake is not None:
            from tradewh.warehouse import lake as lake_mod

            return lake_mod.load_file(con, lake, source, f, started)
        done = loaded_report(home, source, f)
        if done is not None:
            return done
        folder = partition_dir(home, source, f)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{PART}.{os.getpid()}.tmp"
        try:
            con.execute(f"COPY ({source.raw_sql(f)}) TO {sql_literal(tmp)} ({PARQUET_OPTIONS})")
            counts = _audit(con, source, f, file_raw(source, f, f"read_parquet({sql_literal(tmp)})"))
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        report = _report(source, f, counts, str(folder / PART), started)
        manifest_tmp = folder / f".{MANIFEST}.{os.getpid()}.tmp"
        manifest_tmp.write_text(json.dumps(asdict(report), indent=1))
        os.replace(tmp, folder / PART)
        os.replace(manifest_tmp, folder / MANIFEST)
        fsync_dir(folder)
        return report
    finally:
        if own:
            con.close()


def _report(source: BulkSource, f: BulkFile, counts: dict, path: str, started: float) -> BulkLoadReport:
    return BulkLoadReport(
        source=source.name,
        source_file=f.name,
        file_sha256=f.sha256,
        vintage=f.vintage.isoformat(),
        release_kind=f.release_kind,
        classification=f.classification,
        year=f.year,
        loaded_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        path=path,
        seconds=round(time.perf_counter() - started, 3),
        **counts,
    )


def has_products(home: Path) -> bool:
    """Whether the product store under `home` holds at least one partition."""
    return any(products_dir(home).glob("/".join(PARTS_GLOB)))


def product_view_selects(raw_of, codes_of, rows: str, observations: str, files: str) -> dict[str, str]:
    """The SELECTs of the product views, one rule for the local store's views and DuckLake's:
    "rows", every bulk source's rows through its canonical_sql (`raw_of(source)` and
    `codes_of(source)` give its FROM items); "observations" and "quarantine", the loaded and the
    quarantined ones, read from the view named `rows`; "latest", the view named `observations`
    restricted to the newest release of each source, classification and year in the manifest
    relation `files`."""
    from tradewh.sources.registry import BULK_SOURCES

    cols = ", ".join(PRODUCT_OBSERVATIONS.column_names)
    return {
        "rows": "\nUNION ALL BY NAME\n".join(s.canonical_sql(raw_of(s), codes_of(s)) for s in BULK_SOURCES),
        "observations": f"SELECT {cols} FROM {rows} WHERE reason IS NULL",
        "quarantine": f"SELECT * FROM {rows} WHERE reason IS NOT NULL",
        "latest": (
            f"SELECT o.* FROM {observations} o\n"
            f"SEMI JOIN (SELECT source, classification, year, max(vintage) AS vintage FROM {files} GROUP BY ALL) l\n"
            "USING (source, classification, year, vintage)"
        ),
    }


def create_product_views(con: duckdb.DuckDBPyConnection, home: Path) -> bool:
    """(Re)create the product views (warehouse.schema's PRODUCT_TABLES and
    canonical.product_observations_latest) in the warehouse `con` holds read-write, over the product
    store under `home`, if it has any partition; returns whether it did. The warehouse must have
    ref.crosswalk (codes are mapped when read). The views glob the store, so partitions added later
    show without the warehouse file being rewritten."""
    if not has_products(home):
        return False
    root = products_dir(Path(home).resolve())
    parts = sql_literal(root.joinpath(*PARTS_GLOB))
    manifests = sql_literal(root.joinpath(*PARTS_GLOB[:-1], MANIFEST))
    files = f"read_json({manifests}, format = 'auto', filename = true)"
    con.execute("CREATE SCHEMA IF NOT EXISTS canonical")
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    # where the views read, for readers that may read only there (warehouse.queries.connect_read_only)
    con.execute(f"CREATE OR REPLACE TABLE {PRODUCT_STORE_TABLE} AS SELECT {sql_literal(root)} AS path")
    con.execute(
        f"COMMENT ON TABLE {PRODUCT_STORE_TABLE} IS " + sql_literal("The product store folder the product views read.")
    )
    for name in (*(t.qualified for t in (PRODUCT_OBSERVATIONS, PRODUCT_QUARANTINE, META_PRODUCT_FILES)),
                 "canonical.product_rows", "canonical.product_observations_latest"):  # fmt: skip
        con.execute(f"DROP VIEW IF EXISTS {name}")
    con.execute(
        META_PRODUCT_FILES.view_ddl(
            f"SELECT * EXCLUDE (quarantined_by_reason, seconds, skipped, filename) FROM {files}"
        )
    )
    # every bulk source's rows through its own rule, with the file name from the partition's manifest
    sql = product_view_selects(
        lambda source: (
            f"(SELECT p.* EXCLUDE (filename), m.source_file FROM read_parquet({parts}, hive_partitioning = true, "
            f"filename = true) p JOIN (SELECT path, source_file FROM {files}) m ON m.path = p.filename "
            f"WHERE p.source = {sql_literal(source.name)})"
        ),
        codes_sql,
        rows="canonical.product_rows",
        observations=PRODUCT_OBSERVATIONS.qualified,
        files=META_PRODUCT_FILES.qualified,
    )
    con.execute("CREATE VIEW canonical.product_rows AS\n" + sql["rows"])
    con.execute(
        "COMMENT ON VIEW canonical.product_rows IS "
        + sql_literal("Every bulk product row read, loaded or not (reason): what the two views below split.")
    )
    con.execute(PRODUCT_OBSERVATIONS.view_ddl(sql["observations"]))
    con.execute(PRODUCT_QUARANTINE.view_ddl(sql["quarantine"]))
    con.execute("CREATE VIEW canonical.product_observations_latest AS\n" + sql["latest"])
    con.execute(
        "COMMENT ON VIEW canonical.product_observations_latest IS "
        + sql_literal(
            "canonical.product_observations restricted to the newest release (vintage) of each source, classification "
            "and year: a release of a bulk source replaces whole year files. Same columns."
        )
    )
    return True


def publish_views(home: Path, db_path: Path, run_id: str) -> bool:
    """Make sure the published warehouse `db_path` has the product views over the store under `home`;
    returns whether it had to publish. When it lacks them (or reads another folder), a copy of it
    gets them and is swapped in (holding the home's build lock, as every publish does: readers keep
    the file they opened). Without a published warehouse, one is published holding ref.crosswalk and
    the product views and ref.group_membership (`tradewh build` later replaces it with the full
    warehouse, views included).
    Raises BuildLockTimeout if another build holds the lock too long."""
    import shutil

    from tradewh.warehouse.lock import build_lock
    from tradewh.warehouse.store import Store

    home, db_path = Path(home), Path(db_path)
    if not has_products(home):
        return False
    root = str(products_dir(home.resolve()))
    with build_lock(home, f"run {run_id}: publishing the product views"):
        if db_path.exists():
            with duckdb.connect(str(db_path), read_only=True) as con:
                found = con.execute(
                    "SELECT sql FROM duckdb_views() WHERE schema_name = 'canonical' AND view_name = 'product_rows'"
                ).fetchone()
            if found is not None and root in found[0]:
                return False
        store = Store(home, db_path)
        candidate = store.candidate_path(run_id)
        candidate.parent.mkdir(parents=True, exist_ok=True)
        if db_path.exists():
            shutil.copyfile(db_path, candidate)
        try:
            with duckdb.connect(str(candidate)) as con:
                if not db_path.exists():
                    from tradewh.warehouse.crosswalk import load_crosswalks
                    from tradewh.warehouse.db import load_group_membership

                    crosswalk = load_crosswalks()  # noqa: F841 (DuckDB's replacement scan)
                    membership = load_group_membership()  # noqa: F841
                    con.execute("CREATE SCHEMA ref")
                    con.execute("CREATE TABLE ref.crosswalk AS SELECT * FROM crosswalk")
                    con.execute("CREATE TABLE ref.group_membership AS SELECT * FROM membership")
                create_product_views(con, home)
                con.execute("CHECKPOINT")
            os.replace(candidate, db_path)
            fsync_dir(db_path.parent)
        finally:
            candidate.unlink(missing_ok=True)
        return True
