"""Marts: bilateral mirrors, pair totals, growth and group totals, built in this run's candidate
warehouse from canonical.observations_latest (SQL in warehouse/sql/marts/)."""

import dagster as dg

from assets.canonical import CANONICAL_OBSERVATIONS_KEY
from assets.metadata import column_schema, markdown_preview
from assets.resources import WarehouseResource
from warehouse import db
from warehouse.schema import MART_TABLES

MART_KEYS = {t.qualified: dg.AssetKey(["marts", t.name]) for t in MART_TABLES}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            MART_KEYS[t.qualified],
            deps=[CANONICAL_OBSERVATIONS_KEY],
            group_name="marts",
            kinds={"duckdb"},
            description=t.description
            + " Source: canonical.observations_latest (newest release per source and reporter)."
            + " Partitioning: none; rebuilt whole in every run's candidate warehouse.",
            metadata={"dagster/column_schema": column_schema(t)},
        )
        for t in MART_TABLES
    ],
)
def marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Build every mart in the run's candidate warehouse (built by canonical/observations in the same run).

    Raises FileNotFoundError if this run built no candidate.
    """
    candidate = warehouse.store().candidate_path(context.run.run_id)
    if not candidate.exists():
        raise FileNotFoundError(f"no candidate warehouse {candidate}: materialize canonical/observations in the same run")
    counts = db.write_marts(candidate)
    previews = db.previews(candidate, list(counts))
    for table, rows in counts.items():
        yield dg.MaterializeResult(
            asset_key=MART_KEYS[table],
            metadata={"dagster/row_count": rows, "preview": markdown_preview(previews[table])},
        )
