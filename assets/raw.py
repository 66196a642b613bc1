"""Raw layer: IMF DOTS workbooks in the input folder -> the raw store (Parquet, one file per workbook)."""

import json
import time

import dagster as dg
import polars as pl

from assets import checks
from assets.metadata import column_schema, markdown_preview
from assets.resources import WarehouseResource
from expectations.checks import RAW
from expectations.validate import RAW_COLUMNS, validate_raw
from warehouse import ingest
from warehouse.schema import RAW_IMF_DOTS_CELLS

RAW_IMF_DOTS = dg.AssetKey(["raw", "imf_dots_cells"])


@dg.asset(
    key=RAW_IMF_DOTS,
    group_name="raw",
    kinds={"parquet", "polars"},
    metadata={"dagster/column_schema": column_schema(RAW_IMF_DOTS_CELLS)},
    check_specs=checks.specs(RAW, RAW_IMF_DOTS),
)
def imf_dots_cells(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Every non-empty data cell of every IMF DOTS workbook in the input folder, as published.

    Grain: one cell (workbook file x sheet x Excel row x Excel column), long format, both sheets
    (Exports, FOB -> flow X; Imports, CIF -> flow M). Source: IMF Direction of Trade Statistics Excel
    exports (TRADEWH_IMF_DOTS_DIR, default data/imf_dots: 235 bundled workbooks, 1960-2020).
    Unit: US$ millions, as published; estimates ("14.43 e") parsed and flagged.
    Storage: staged in TRADEWH_HOME/staging/<run_id>/imf_dots/, committed when the run publishes to
    the raw store TRADEWH_HOME/raw/imf_dots/<file>.<vintage>.<sha256>.parquet, which keeps every
    release. The published warehouse's raw.imf_dots_cells is a view that reads those files in place.
    Partitioning: none: each run takes the whole input folder; a workbook whose exact file version
    is already in the raw store, parsed by the current parser, is read from there, not parsed again.
    Fails, writing nothing, if any workbook is not in the DOTS layout (the error lists every bad file).
    Checks (expectations/checks.py) validate the run's whole view of the raw store, stored releases
    included; a failing blocking check stops the run before canonical/observations.
    """
    store = warehouse.store()
    start = time.perf_counter()
    report = ingest.ingest_imf_dots(warehouse.imf_dots_dir, store, context.run.run_id)
    parsed = time.perf_counter()
    files = pl.DataFrame(report.files)
    context.log.info(
        f"ingested {len(report.files)} workbooks ({report.parsed} parsed, {len(report.files) - report.parsed} "
        f"already in the raw store under this parser), {report.cells} non-empty cells"
    )
    outcomes = validate_raw(ingest.load_raw(store, context.run.run_id, columns=RAW_COLUMNS))
    store.raw_checks_path(context.run.run_id).write_text(json.dumps(checks.records(outcomes)))
    seconds = {"parse_and_stage": parsed - start, "validation": time.perf_counter() - parsed}
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": report.cells,
            "files": len(report.files),
            "files_parsed": report.parsed,
            "vintages": ", ".join(sorted(files["vintage"].unique().to_list())),
            "value_total_musd": float(files["value_total_musd"].sum()),
            "input_folder": dg.MetadataValue.path(str(report.folder)),
            "skipped_lock_files": ", ".join(report.skipped) or "none",
            "preview": markdown_preview(files.drop("sha256").sort("file"), rows=15),  # per workbook file
            "seconds": dg.MetadataValue.json({k: round(v, 2) for k, v in seconds.items()}),
        },
        check_results=[checks.result(o, secs) for o, secs in outcomes],
    )
