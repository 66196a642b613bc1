"""Ingest: each file source's input folder -> this run's staging area of the raw store, by release."""

import time
import warnings

import dagster as dg
import polars as pl

from tradewh.assets.console import files_parsed
from tradewh.assets.metadata import table_preview
from tradewh.assets.partitions import FILE_RELEASES, releases_of
from tradewh.assets.resources import WarehouseResource
from tradewh.warehouse import pipeline

SOURCE_FILES = dg.AssetKey(["ingest", "source_files"])
# BackfillPolicy.single_run is what lets one run take a range of releases; Dagster marks the
# asset parameter beta, which every import of the code location would print.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)


@dg.asset(
    key=SOURCE_FILES,
    group_name="ingest",
    kinds={"parquet", "polars"},
    partitions_def=FILE_RELEASES,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def source_files(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The input files of every file source, parsed into the raw store, one partition per source release.

    Partitions: `<source>/<release date>` (assets/partitions.py), e.g. `imf_dots/2022-02-20`: the
    files of that source's input folder whose declared release is that date.
    Source: each registered source's input folder (TRADEWH_<SOURCE>_DIR, default data/<source>),
    read by the source's own reader (sources/<name>/). Grain: one raw-store Parquet file per input
    file version, named <file>.<vintage>.<sha256>.parquet, with the source's raw columns.
    A file whose exact version is already in the raw store, parsed by the current parser, is read
    from there, not parsed again; the others are parsed into TRADEWH_HOME/staging/<run_id>/<source>/
    and committed to TRADEWH_HOME/raw/<source>/ only when the run publishes, so a failed run leaves
    the raw store as it was. Fails, staging nothing of that source, if any of its files is bad
    (the error lists every bad file and what was expected).
    """
    start = time.perf_counter()
    reports = pipeline.ingest_sources(
        warehouse.store(),
        context.run.run_id,
        warehouse.folders(),
        releases_of(context.partition_keys),
        on_batch=lambda source, done, total: context.log.debug(files_parsed(source, done, total)),
    )
    files = pl.DataFrame(
        [{"source": r.source, **{k: v for k, v in f.items() if k != "sha256"}} for r in reports for f in r.files]
    )
    for r in reports:
        context.log.info(
            f"{r.source}: {len(r.files)} files ({r.parsed} parsed, {len(r.files) - r.parsed} already in the raw store "
            f"under this parser), {r.cells} raw rows"
        )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(r.cells for r in reports),
            "files": len(files),
            "files_parsed": sum(r.parsed for r in reports),
            "releases": ", ".join(context.partition_keys),
            "skipped_lock_files": ", ".join(s for r in reports for s in r.skipped) or "none",
            "preview": table_preview(files.sort("source", "file"), rows=15),
            "seconds": dg.MetadataValue.json({"parse_and_stage": round(time.perf_counter() - start, 2)}),
        }
    )
