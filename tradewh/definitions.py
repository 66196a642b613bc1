"""The Dagster code location: every asset, the main job, the sensor and the resources (workspace.yaml loads this)."""

import warnings

import dagster as dg

from tradewh.assets.canonical import observations
from tradewh.assets.console import console
from tradewh.assets.ingest import source_files
from tradewh.assets.live import definitions as live_definitions
from tradewh.assets.marts import marts
from tradewh.assets.products import PRODUCT_ASSETS, ProductStoreResource, product_jobs
from tradewh.assets.publish import featured_chart, published_warehouse
from tradewh.assets.raw import raw_tables
from tradewh.assets.resources import WarehouseResource
from tradewh.assets.sensors import inbox_sensor

ALL_ASSETS = [source_files, raw_tables, observations, marts, published_warehouse]
# drawn after each publish by Dagster's automation (or from the UI), not in the build: assets/publish.py
CHART_ASSETS = [featured_chart]

# In-process: the steps share the run's candidate file and the multiprocess executor costs
# ~3 s per step on 2 cores. The job holds the partitioned ingest asset and the unpartitioned steps
# after it, so a run takes the releases it is asked for and rebuilds and publishes the warehouse.
build_warehouse = dg.define_asset_job(
    "build_warehouse",
    selection=dg.AssetSelection.assets(*ALL_ASSETS),
    executor_def=dg.in_process_executor,
    description="Ingest the source releases asked for (partitions <source>/<release date>), rebuild the "
    "canonical layer and the marts from the whole raw store, publish the warehouse.",
)

# the live sources' fetch assets, job and schedule: only when TRADEWH_LIVE switches them on (assets/live.py)
LIVE = live_definitions()

with warnings.catch_warnings():  # Dagster marks code references beta; the warning would reach every CLI run
    warnings.simplefilter("ignore", dg.BetaWarning)
    # each asset links to the file and line that defines it (the UI's "Code references")
    ASSETS = dg.with_source_code_references(ALL_ASSETS + CHART_ASSETS + LIVE["assets"] + PRODUCT_ASSETS)

# the bulk product sources' jobs (assets/products.py): several writers at once only on DuckLake
PRODUCTS = ProductStoreResource.from_env()

defs = dg.Definitions(
    assets=ASSETS,
    jobs=[build_warehouse, *LIVE["jobs"], *product_jobs(PRODUCTS.lake())],
    schedules=LIVE["schedules"],
    sensors=[inbox_sensor(build_warehouse), *LIVE["sensors"]],
    resources={"warehouse": WarehouseResource.from_env(), "products": PRODUCTS},
    loggers={"console": console},
)
