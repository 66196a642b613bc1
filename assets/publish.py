"""Publish: swap this run's candidate warehouse in as the file readers use."""

import dagster as dg

from tradewh.assets.canonical import CANONICAL_OBSERVATIONS_KEY
from tradewh.assets.marts import MART_KEYS
from tradewh.assets.metadata import table_preview
from tradewh.assets.resources import WarehouseResource
from tradewh.warehouse import bulk, db
from tradewh.warehouse.db import FEATURED_GROUP, FEATURED_PARTNER

PUBLISHED_WAREHOUSE = dg.AssetKey(["publish", "warehouse"])


@dg.asset(
    key=PUBLISHED_WAREHOUSE,
    deps=[CANONICAL_OBSERVATIONS_KEY, *MART_KEYS.values()],
    group_name="publish",
    kinds={"duckdb"},
)
def published_warehouse(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The published DuckDB warehouse (TRADEWH_DB, default var/tradewh.duckdb) that SQL users read.

    Grain: the whole file (metadata: its tables and views, with each table's rows; row_count is the
    rows stored in all tables).
    Source: the candidate built by canonical/observations and the marts in the
    same run, after their blocking checks passed.
    Before the swap, the run's staged raw files are committed to the raw store and the raw views
    (raw.imf_dots_cells, raw.imf_imts_values, ...) are created over them: the raw rows are read in place from
    TRADEWH_HOME/raw/; so are the product views over the bulk product store (TRADEWH_HOME/products/), if
    any. Replaced atomically (os.replace): readers never see a half-written file and are never locked out,
    since the pipeline never opens this file for writing. Fails (PublishError) and leaves the previous
    warehouse in place if this run built no readable
    candidate or its raw-store files are missing.
    """
    store = warehouse.store()
    tables = None

    def finalize(con):
        nonlocal tables
        db.create_raw_views(con)
        bulk.create_product_views(con, store.home)  # the bulk product store's views, when it has partitions
        tables = db.table_rows(con)  # what the published file holds

    path = store.publish(context.run.run_id, finalize=finalize)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "bytes": path.stat().st_size,
            "dagster/row_count": int(tables["rows"].sum()),
            "preview": table_preview(tables, rows=len(tables)),  # every table and view with its rows
        }
    )


# The question the warehouse is built to answer, drawn for the published warehouse: how each ASEAN
# member's trade with Russia moved over the last ten years of figures, on both bases.
FEATURED_YEARS = 10  # the featured question (warehouse.db.FEATURED_GROUP, FEATURED_PARTNER) over its last years
FEATURED_CHART = dg.AssetKey(["publish", "featured_chart"])


@dg.asset(
    key=FEATURED_CHART,
    deps=[PUBLISHED_WAREHOUSE],
    group_name="publish",
    kinds={"duckdb"},
    automation_condition=dg.AutomationCondition.eager(),
)
def featured_chart(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """A chart of the featured question on the published warehouse: ASEAN members' trade with
    Russia over the last ten years of figures, both bases, one line per member and one for the group,
    US$ millions — what `tradewh growth --partner RUS --group ASEAN ... --chart FILE.png` draws.

    Grain: one PNG (shown inside the `chart` markdown). Source: the published warehouse
    (marts.bilateral_annual through tradewh growth's rules). Not part of build_warehouse (drawing it
    would slow every build): it is drawn after each publish by Dagster's automation when the
    daemon runs (`dagster dev`), or from the UI's Materialize button. A warehouse without those
    figures gets a line saying why, not a failure.
    """
    import base64

    from tradewh.warehouse.charts import draw
    from tradewh.warehouse.queries import QueryError, connect_read_only, group_growth

    path = warehouse.store().db_path
    try:
        with connect_read_only(path) as con:
            (last,) = con.execute("SELECT max(year) FROM marts.bilateral_annual").fetchone()
            frame, _ = group_growth(con, FEATURED_PARTNER, FEATURED_GROUP, last - FEATURED_YEARS + 1, last)
        png = draw(frame, f"{FEATURED_GROUP} members' trade with {FEATURED_PARTNER}")
    except (QueryError, ValueError, TypeError) as exc:
        return dg.MaterializeResult(metadata={"chart": dg.MetadataValue.md(f"(no chart: {exc})")})
    caption = (
        f"{FEATURED_GROUP} members' trade with {FEATURED_PARTNER}, {last - FEATURED_YEARS + 1}-{last}, US$ millions "
        "(`tradewh growth --partner RUS --group ASEAN ... --chart FILE.png`)"
    )
    return dg.MaterializeResult(
        metadata={
            "chart": dg.MetadataValue.md(
                f"{caption}\n\n![chart](data:image/png;base64,{base64.b64encode(png).decode()})"
            ),
            "dagster/row_count": frame.height,
        }
    )
