"""Marts: bilateral mirrors, pair totals, growth and group totals, built in this run's candidate
warehouse from canonical.observations_latest (SQL in warehouse/sql/marts/)."""

import dagster as dg

from tradewh.assets import checks
from tradewh.assets.canonical import CANONICAL_OBSERVATIONS_KEY
from tradewh.assets.metadata import OWNER, column_schema, table_preview
from tradewh.assets.resources import WarehouseResource
from tradewh.expectations.checks import checks_for
from tradewh.expectations.validate import validate_candidate
from tradewh.warehouse import db, patch, pipeline
from tradewh.warehouse.schema import MART_TABLES

MART_KEYS = {t.qualified: dg.AssetKey(["marts", t.name]) for t in MART_TABLES}


def _key_text(table) -> str:
    return "/".join(MART_KEYS[table.qualified].path)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            MART_KEYS[t.qualified],
            deps=[CANONICAL_OBSERVATIONS_KEY],
            group_name="marts",
            kinds={"duckdb"},
            description=t.description
            + " Source: canonical.observations_latest (the values no newer release replaced)."
            + " Partitioning: none; built in every run's candidate warehouse, whole, or for a patched"
            + " candidate only the rows its changed files' reporters can change (warehouse/patch.py).",
            owners=[OWNER],
            tags={"layer": "marts"},
            metadata={"dagster/column_schema": column_schema(t), "dagster/table_name": t.qualified},
        )
        for t in MART_TABLES
    ],
    check_specs=[spec for t in MART_TABLES for spec in checks.specs(_key_text(t), MART_KEYS[t.qualified])],
)
def marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Build every mart in the run's candidate warehouse (built by canonical/observations in the same run).

    Raises FileNotFoundError if this run built no candidate.
    """
    store = warehouse.store()
    candidate = store.candidate_path(context.run.run_id)
    if not candidate.exists():
        raise FileNotFoundError(
            f"no candidate warehouse {candidate}: materialize canonical/observations in the same run"
        )
    scope = patch.read_scope(candidate)
    with db.connect(candidate) as con:  # the step's one connection: marts, previews, checks, results
        counts = pipeline.build_marts(con, scope)
        previews = db.previews(con, list(counts))
        outcomes = {
            t.qualified: validate_candidate(con, _key_text(t), cache=store.check_cache, scope=scope)
            if checks_for(_key_text(t))
            else []
            for t in MART_TABLES
        }
        records = checks.records([o for found in outcomes.values() for o in found])
        db.write_check_results(con, records["results"], records["failures"])
    for table, rows in counts.items():
        yield dg.MaterializeResult(
            asset_key=MART_KEYS[table],
            metadata={"dagster/row_count": rows, "preview": table_preview(previews[table])},
            check_results=[checks.result(o, secs) for o, secs in outcomes[table]],
        )
