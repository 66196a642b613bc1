"""The Dagster code location: every asset, the main job and the resources (workspace.yaml loads this)."""

import dagster as dg

from assets.canonical import observations
from assets.marts import marts
from assets.publish import published_warehouse
from assets.raw import imf_dots_cells
from assets.resources import WarehouseResource
from assets.sensors import inbox_sensor

ALL_ASSETS = [imf_dots_cells, observations, marts, published_warehouse]

# In-process: the steps share the run's candidate file and the multiprocess executor costs
# ~3 s per step on 2 cores.
build_warehouse = dg.define_asset_job(
    "build_warehouse",
    selection=dg.AssetSelection.assets(*ALL_ASSETS),
    executor_def=dg.in_process_executor,
    description="Ingest every source's input folder, rebuild the canonical layer, publish the warehouse.",
)

defs = dg.Definitions(
    assets=ALL_ASSETS,
    jobs=[build_warehouse],
    sensors=[inbox_sensor(build_warehouse)],
    resources={"warehouse": WarehouseResource.from_env()},
)
