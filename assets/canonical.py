"""Canonical layer: the raw store -> canonical.observations (+ duplicates, quarantine) in a
candidate DuckDB warehouse for this run."""

import json
import time

import dagster as dg

from tradewh.assets import checks
from tradewh.assets.metadata import OWNER, column_schema, table_preview
from tradewh.assets.raw import RAW_KEYS
from tradewh.assets.resources import WarehouseResource
from tradewh.expectations.checks import CANONICAL
from tradewh.expectations.validate import validate_candidate
from tradewh.warehouse import db, patch, pipeline
from tradewh.warehouse.schema import CANONICAL_OBSERVATIONS

CANONICAL_OBSERVATIONS_KEY = dg.AssetKey(["canonical", "observations"])


@dg.asset(
    key=CANONICAL_OBSERVATIONS_KEY,
    deps=list(RAW_KEYS.values()),
    group_name="canonical",
    kinds={"duckdb", "polars"},
    owners=[OWNER],
    tags={"layer": "canonical"},
    metadata={
        "dagster/column_schema": column_schema(CANONICAL_OBSERVATIONS),
        "dagster/table_name": CANONICAL_OBSERVATIONS.qualified,
    },
    check_specs=checks.specs(CANONICAL, CANONICAL_OBSERVATIONS_KEY),
)
def observations(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Bilateral trade observations, one long table for every source and release.

    Grain: source x vintage x reporter_iso3 x partner_iso3 x flow x freq x period x cmd_code (unique).
    Source: every source's raw table (the raw store's releases plus this run's staged files), each
    source's rows made canonical by its own rules (sources/<name>/source.py). Unit: value_usd in US
    dollars, original value, unit and currency kept. Partitioning: none.
    Written to this run's candidate warehouse (TRADEWH_HOME/build/<run_id>.duckdb) with
    ref.sources, ref.crosswalk, canonical.duplicates, canonical.quarantine and meta.* tables
    (meta.raw_files: the raw-store files behind the raw.* views, which publish creates over them); readers see it
    only once publish/warehouse swaps it in.
    Stops the load (UnmappedNamesError) on names the crosswalk lacks and (DuplicateConflictError)
    on one key published with different values; nothing is published then.
    Checks (expectations/checks.py) validate the candidate: blocking ones stop publish/warehouse,
    warnings are shown and counted; their results are stored in meta.check_results.
    """
    store = warehouse.store()
    start = time.perf_counter()
    candidate, result, how = pipeline.build_canonical(store, context.run.run_id)
    written = time.perf_counter()
    context.log.info(how)
    preview = (
        result.observations_lazy.head(10)
        .collect()
        .select(
            "reporter_iso3", "partner_iso3", "flow", "period", "value_usd", "is_estimated", "source_file", "source_cell"
        )
    )
    del result  # the checks read the candidate file; free the frames before they run
    raw_checks = store.raw_checks_path(context.run.run_id)
    raw_records = json.loads(raw_checks.read_text()) if raw_checks.exists() else {"results": [], "failures": []}
    with db.connect(candidate) as con:
        summary, validity = db.load_summary(con)  # of the whole candidate, built whole or patched
        outcomes = validate_candidate(con, cache=store.check_cache, scope=patch.read_scope(candidate))
        records = checks.records(outcomes)
        db.write_check_results(
            con, raw_records["results"] + records["results"], raw_records["failures"] + records["failures"]
        )
    seconds = {"load_transform_and_write": written - start, "validation": time.perf_counter() - written}
    s = summary
    context.log.info(
        f"raw {s['raw_cells']} = loaded {s['observations']} + duplicates {s['duplicates']} + quarantined {s['quarantined']}"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": s["observations"],
            "built": how,
            "raw_cells": s["raw_cells"],
            "duplicates_removed": s["duplicates"],
            "duplicates_by_scope": s["duplicates_by_scope"],
            "quarantined": s["quarantined"],
            "quarantined_by_reason": s["quarantined_by_reason"],
            "reconciled": s["raw_cells"] == s["observations"] + s["duplicates"] + s["quarantined"],
            "estimated": s["estimated"],
            "negative": s["negative"],
            "vintages": ", ".join(s["vintages"]),
            "entities_outside_validity": table_preview(validity, rows=50),
            # the candidate file itself is renamed into place (or removed) by publish/warehouse
            "publishes_to": dg.MetadataValue.path(str(store.db_path)),
            "preview": table_preview(preview),
            "warnings": sum(o.failing_rows for o, _ in outcomes if o.status == "warning"),
            "validation_seconds": round(sum(secs for _, secs in outcomes), 2),
            "seconds": dg.MetadataValue.json({k: round(v, 2) for k, v in seconds.items()}),
        },
        check_results=[checks.result(o, secs) for o, secs in outcomes],
    )
