"""Bulk product sources in Dagster: one asset per bulk source (`products/<source>`), partitioned by
HS revision x year, loaded by its own job (docs/design/partitions.md, docs/scale.md).

Partitions: `MultiPartitionsDefinition` of `classification` (H0-H6) x `year` (YEARS): keys such as
`H5|2020`, 7 x 53 = 371 per source, far under Dagster's limit, and shown as a grid in the UI. One
key is one year file of one revision (every release of it found in the input folder).

Backfill policy: one run for a range of keys (BackfillPolicy.single_run), inside which every file
to load is its own step (a dynamic fan-out): with the local product store the steps run one after
the other in the run's process (one writer: each load uses every core and up to DuckDB's memory
limit); with DuckLake (TRADEWH_LAKE) they run in separate processes, up to Lake.writers at a time
(Dagster's multiprocess executor). The load step's pool, PRODUCTS_POOL, caps loads across runs the
same way (`tradewh products` sets its limit), so a second run waits rather than doubling memory.
Then one step makes sure the published warehouse has the product views (warehouse.bulk); they glob
the store, so a new year shows without the warehouse file being written.
"""

import os
import re
from dataclasses import asdict

import dagster as dg

from tradewh.assets.metadata import OWNER, column_schema
from tradewh.sources.contract import BulkFile, BulkSource
from tradewh.sources.registry import BULK_SOURCES
from tradewh.warehouse import bulk, config
from tradewh.warehouse.lake import Lake
from tradewh.warehouse.products import AS_REPORTED, CLASSIFICATIONS
from tradewh.warehouse.schema import PRODUCT_OBSERVATIONS

PRODUCTS_POOL = "tradewh_products_writer"
YEARS = [str(y) for y in range(1988, 2041)]  # HS exists from 1988; BACI starts in 1995
REVISIONS = [c for c in CLASSIFICATIONS if c != AS_REPORTED]
PARTITIONS = dg.MultiPartitionsDefinition(
    {"classification": dg.StaticPartitionsDefinition(REVISIONS), "year": dg.StaticPartitionsDefinition(YEARS)}
)


def partition_key(classification: str, year: int) -> str:
    """The partition key of one revision and year, as Dagster writes it: `H5|2020`."""
    return str(dg.MultiPartitionKey({"classification": classification, "year": str(year)}))


class ProductStoreResource(dg.ConfigurableResource):
    """Where bulk files are read and loaded: `home` (TRADEWH_HOME: the product store and the
    published warehouse's folder), `db_path`, `input_dirs` (bulk source -> folder), the DuckLake
    settings (empty: the local store) and DuckDB's `memory_limit` for a load (TRADEWH_MEMORY_LIMIT,
    e.g. 4GB; empty: DuckDB's default of 80 % of RAM). Holds no lock while loading: loads write only
    their own partitions; publishing takes the home's build lock (warehouse.bulk.publish_views)."""

    home: str
    db_path: str
    input_dirs: dict[str, str]
    lake_catalog: str = ""
    lake_data: str = ""
    memory_limit: str = ""

    @classmethod
    def from_env(cls) -> "ProductStoreResource":
        lake = Lake.from_env(config.home())
        return cls(
            home=str(config.home()),
            db_path=str(config.db_path()),
            input_dirs={s.name: str(config.input_dir(s)) for s in BULK_SOURCES},
            lake_catalog=lake.catalog if lake else "",
            lake_data=lake.data_path if lake else "",
            memory_limit=os.environ.get("TRADEWH_MEMORY_LIMIT", ""),
        )

    def lake(self) -> Lake | None:
        return Lake(self.lake_catalog, self.lake_data) if self.lake_catalog else None


def _files_of(source: BulkSource, products: ProductStoreResource, keys: list[str]):
    folder = products.input_dirs.get(source.name)
    if not folder or not os.path.isdir(folder):
        raise FileNotFoundError(
            f"{source.name}: no input folder {folder}; set {source.input_env} to the folder of its year files"
        )
    files, errors = source.input_files(folder)
    if errors:
        raise ValueError(f"{source.name}: {len(errors)} file(s) cannot load: " + "; ".join(str(e) for e in errors))
    wanted = set(keys)
    return [f for f in files if partition_key(f.classification, f.year) in wanted]


def _step_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def product_asset(source: BulkSource) -> dg.AssetsDefinition:
    """The `products/<source>` asset: its three ops (list, load each file, publish) as a graph."""
    name = source.name

    @dg.op(name=f"{name}_files", out=dg.DynamicOut(BulkFile))
    def list_files(context: dg.OpExecutionContext, products: ProductStoreResource):
        """The year files of the run's partitions found in the input folder (each release), one
        dynamic output per file not loaded yet. On DuckLake, sets up its catalogue first (several
        processes creating it at once would clash)."""
        files = _files_of(source, products, list(context.partition_keys))
        lake = products.lake()
        if lake is not None:  # create the lake's catalogue and tables once, before the loads run at once
            from tradewh.warehouse.lake import connect as lake_connect

            lake_connect(lake, read_only=False).close()
        for f in files:
            if lake is None and bulk.loaded_report(products.home, source, f) is not None:
                context.log.info(f"{f.name}: this file version is in the product store already")
                continue
            yield dg.DynamicOutput(f, mapping_key=_step_name(f"{f.classification}_{f.year}_{f.vintage}"))

    @dg.op(name=f"{name}_load", pool=PRODUCTS_POOL)
    def load(context: dg.OpExecutionContext, products: ProductStoreResource, f: BulkFile) -> dict:
        """One year file (as the files step found it, with its SHA-256 and release) -> its partition
        of the product store (or DuckLake), audited."""
        con = bulk.connect(memory_limit=products.memory_limit or None, temp_dir=os.path.join(products.home, "tmp"))
        try:
            report = bulk.load_file(source, f, products.home, con=con, lake=products.lake())
        finally:
            con.close()
        context.log.info(
            f"{f.name}: {report.rows_read:,} rows read, {report.rows_loaded:,} loaded, "
            f"{report.rows_quarantined:,} quarantined{' ' + str(report.quarantined_by_reason) if report.rows_quarantined else ''} "
            f"in {report.seconds:.1f} s"
        )
        return asdict(report)

    @dg.op(name=f"{name}_publish")
    def publish(context: dg.OpExecutionContext, products: ProductStoreResource, reports: list[dict]) -> None:
        """Make sure the published warehouse reads the product store (its views glob it)."""
        if products.lake() is None:
            changed = bulk.publish_views(products.home, products.db_path, context.run.run_id)
            context.log.info(
                "product views created in the published warehouse" if changed else "product views in place"
            )
        context.add_output_metadata(
            {
                "files_loaded": len(reports),
                "dagster/row_count": sum(r["rows_loaded"] for r in reports),
                "rows_quarantined": sum(r["rows_quarantined"] for r in reports),
                "storage": "DuckLake " + products.lake_catalog if products.lake_catalog else "local product store",
            }
        )

    @dg.graph_asset(
        key=dg.AssetKey(["products", name]),
        group_name="products",
        partitions_def=PARTITIONS,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"duckdb", "parquet"},
        description=(
            f"{source.info.title}: every year file of the partitions asked for, loaded by DuckDB straight from "
            "the CSV into the product store (warehouse.bulk). Partitions: HS revision x year (`H5|2020`).\n\n"
            "Grain: one row per exporter x importer x HS6 product x year x release (canonical.product_observations, "
            "or lake.product_observations on DuckLake); reconciliation counts per file in meta.product_files.\n"
            f"Source: the year files in {source.input_env} (default data/{source.name}), each with its RELEASES.csv row."
        ),
        metadata={
            "dagster/column_schema": column_schema(PRODUCT_OBSERVATIONS),
            "dagster/table_name": PRODUCT_OBSERVATIONS.qualified,
        },
        owners=[OWNER],
    )
    def products_asset():
        return publish(list_files().map(load).collect())

    return products_asset


PRODUCT_ASSETS = [product_asset(s) for s in BULK_SOURCES]


def product_jobs(lake: Lake | None) -> list:
    """One job per bulk source; several loads at once only on DuckLake with a PostgreSQL catalogue."""
    writers = lake.writers if lake else 1
    executor = (
        dg.in_process_executor if writers == 1 else dg.multiprocess_executor.configured({"max_concurrent": writers})
    )
    return [
        dg.define_asset_job(
            f"load_{s.name}",
            selection=dg.AssetSelection.assets(a),
            executor_def=executor,
            description=f"Load {s.name}'s year files of the partitions asked for into the product store.",
        )
        for s, a in zip(BULK_SOURCES, PRODUCT_ASSETS)
    ]
