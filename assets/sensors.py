"""New files get in: a sensor on every source's input folder requests a build of the releases whose files changed."""

import hashlib
from pathlib import Path

import dagster as dg

from tradewh.assets.partitions import FILE_RELEASES, folder_partitions
from tradewh.assets.resources import WarehouseResource
from tradewh.sources.contract import RELEASES_FILE
from tradewh.sources.registry import BY_NAME
from tradewh.warehouse import state


def inbox_fingerprint(folders: dict[str, Path]) -> str:
    """A digest of the folders' input files and RELEASES.csv files (name, size, modification time):
    changes when a file is added, replaced, edited or removed, or when a release row changes."""
    h = hashlib.sha256()
    for name, folder in folders.items():
        if not folder.is_dir():
            continue
        paths, _ = BY_NAME[name].input_paths(folder)
        releases = folder / RELEASES_FILE
        for path in [*paths, *([releases] if releases.exists() else [])]:
            stat = path.stat()
            h.update(f"{name}\0{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return h.hexdigest()


def inbox_sensor(job) -> dg.SensorDefinition:
    """The sensor for `job` (the main build job, from define_asset_job): one run per new state of the
    input folders, over the releases whose files changed."""

    @dg.sensor(
        name="inbox",
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Every minute: if a file was added or replaced in a source's input folder "
        "(TRADEWH_<SOURCE>_DIR), or its RELEASES.csv changed, register its release as a partition "
        "(<source>/<release date>) and request a build_warehouse run over the releases that changed, "
        "which ingests them (a new release when its date is new). A removal alone requests nothing: the "
        "raw store keeps every file version ingested (docs/operations.md).",
    )
    def inbox(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        folders = {n: f for n, f in warehouse.folders().items() if f.is_dir()}
        if not folders:
            return dg.SkipReason(
                "no input folder to watch: " + "; ".join(f"{f} does not exist" for f in warehouse.folders().values())
            )
        fingerprint = inbox_fingerprint(folders)
        if fingerprint == context.cursor:
            return dg.SkipReason("no change in " + ", ".join(map(str, folders.values())))
        context.update_cursor(fingerprint)
        if state.current({BY_NAME[n]: f for n, f in folders.items()}, warehouse.store()):
            return dg.SkipReason("every input file is already in the published warehouse, built by the same code")
        try:
            keys, changed = folder_partitions(folders, warehouse.store())
        except (ValueError, OSError) as exc:  # a file whose release cannot be established, a bad RELEASES.csv
            return dg.SkipReason(f"not ingested: {exc}")
        if not keys:
            return dg.SkipReason("no input files in " + ", ".join(map(str, folders.values())))
        new = [k for k in keys if not context.instance.has_dynamic_partition(FILE_RELEASES.name, k)]
        order = [*context.instance.get_dynamic_partitions(FILE_RELEASES.name), *new]
        wanted = sorted(changed or keys, key=order.index)
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=fingerprint,
                    tags={
                        "tradewh/trigger": "inbox",
                        "dagster/asset_partition_range_start": wanted[0],
                        "dagster/asset_partition_range_end": wanted[-1],
                    },
                )
            ],
            dynamic_partitions_requests=[FILE_RELEASES.build_add_request(new)] if new else [],
        )

    return inbox
