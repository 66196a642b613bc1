"""Raw layer: each source's raw table, the run's view of the raw store (committed releases plus the
files this run staged), validated before anything is built from it."""

import json
import time

import dagster as dg
import polars as pl

from tradewh.assets import checks
from tradewh.assets.ingest import SOURCE_FILES
from tradewh.assets.metadata import OWNER, column_schema, table_preview
from tradewh.assets.resources import WarehouseResource
from tradewh.expectations.checks import raw_columns
from tradewh.expectations.validate import validate_raw
from tradewh.sources.registry import SOURCES
from tradewh.warehouse import pipeline
from tradewh.warehouse.tables import polars_schema

RAW_KEYS = {s.name: dg.AssetKey(["raw", s.raw_table.name]) for s in SOURCES}


def _key_text(source) -> str:
    return "/".join(RAW_KEYS[source.name].path)


def _no_rows(source, columns: list[str]) -> pl.DataFrame:
    """An empty frame of the source's raw columns (with raw_id)."""
    schema = polars_schema(source.raw_table)
    return pl.DataFrame(schema={"raw_id": pl.Int64, **{c: schema[c] for c in columns}})


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            RAW_KEYS[s.name],
            deps=[SOURCE_FILES],
            group_name="raw",
            kinds={"parquet", "duckdb"},
            description=s.raw_table.description
            + f" Source: {s.info.title} ({s.info.publisher}). Unit: {s.info.unit}. Partitioning: none: every release "
            "in the raw store, with the files this run ingested.",
            owners=[OWNER],
            tags={"layer": "raw", "source": s.name},
            metadata={"dagster/column_schema": column_schema(s.raw_table), "dagster/table_name": s.raw_table.qualified},
        )
        for s in SOURCES
    ],
    check_specs=[spec for s in SOURCES for spec in checks.specs(_key_text(s), RAW_KEYS[s.name])],
)
def raw_tables(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Every source's raw rows as this run sees them (the raw store's committed files, superseded by
    the files this run staged), checked by the raw checks (expectations/checks.py); a failing
    blocking check stops the run before canonical/observations. The published warehouse's
    raw.<table> views read the same files in place once the run publishes.
    """
    store = warehouse.store()
    view = pipeline.raw_view(store, context.run.run_id)
    records = {"results": [], "failures": []}
    for source in SOURCES:
        start = time.perf_counter()
        files = view.files.get(source.name, [])
        staging = store.staging_dir(context.run.run_id, source.name)
        staged = {p.name for p in staging.glob("*.parquet")} if staging.is_dir() else set()
        asset = _key_text(source)
        outcomes = validate_raw(
            asset,
            files,
            view.first_raw_id.get(source.name, 0),
            _no_rows(source, raw_columns(asset)),
            cache=store.check_cache,
        )
        part = checks.records(outcomes)
        records["results"] += part["results"]
        records["failures"] += part["failures"]
        per_file = (
            store.raw_index(source.name, files)
            .select("path", "rows")
            .with_columns(
                pl.col("path").str.extract(r"([^/]+)$"),
                staged=pl.col("path").str.extract(r"([^/]+)$").is_in(list(staged)),
            )
        )
        yield dg.MaterializeResult(
            asset_key=RAW_KEYS[source.name],
            metadata={
                "dagster/row_count": int(per_file["rows"].sum()),
                "files": len(files),
                "files_parsed": len(staged),
                "preview": table_preview(per_file.rename({"path": "raw-store file"}), rows=15),
                "seconds": dg.MetadataValue.json({"validation": round(time.perf_counter() - start, 2)}),
            },
            check_results=[checks.result(o, secs) for o, secs in outcomes],
        )
    store.raw_checks_path(context.run.run_id).write_text(json.dumps(records))
