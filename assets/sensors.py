"""New files get in: a sensor on the IMF DOTS input folder requests a build when its workbooks change."""

import hashlib
from pathlib import Path

import dagster as dg
import duckdb

from assets.resources import WarehouseResource
from sources import imf_dots
from warehouse.ingest import workbook_paths


def inbox_fingerprint(folder: Path) -> str:
    """A digest of the folder's workbooks and RELEASES.csv (name, size, modification time): changes
    when a workbook is added, replaced, edited or removed, or when a release row changes.
    Raises FileNotFoundError if the folder does not exist."""
    paths, _ = workbook_paths(folder)
    releases = folder / imf_dots.RELEASES_FILE
    h = hashlib.sha256()
    for path in [*paths, *([releases] if releases.exists() else [])]:
        stat = path.stat()
        h.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return h.hexdigest()


def inbox_sensor(job) -> dg.SensorDefinition:
    """The sensor for `job` (the main build job, from define_asset_job): one run per new state of the
    input folder."""

    @dg.sensor(
        name="imf_dots_inbox",
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Every minute: if a workbook was added or replaced in TRADEWH_IMF_DOTS_DIR "
        "(or RELEASES.csv changed), request a build_warehouse run, which ingests it as a new file "
        "version (a new release when its vintage is new). A removal alone requests nothing: the raw "
        "store keeps every file version ingested (README, 'New files get in').",
    )
    def imf_dots_inbox(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        folder = Path(warehouse.imf_dots_dir)
        if not folder.is_dir():
            return dg.SkipReason(f"input folder {folder} does not exist")
        state = inbox_fingerprint(folder)
        if state == context.cursor:
            return dg.SkipReason(f"no change in {folder}")
        context.update_cursor(state)
        if already_published(folder, Path(warehouse.db_path)):
            return dg.SkipReason(f"every workbook in {folder} is already in the published warehouse")
        return dg.RunRequest(run_key=state, tags={"tradewh/trigger": "inbox"})

    return imf_dots_inbox


def already_published(folder: Path, db_path: Path) -> bool:
    """True if every workbook in `folder`, with the vintage it would get, is already a file version
    of the published warehouse (meta.source_files), so a run would change nothing: e.g. the first
    tick after `make run`. False when in doubt (no warehouse yet, a file that cannot be read)."""
    if not db_path.exists():
        return False
    try:
        releases = imf_dots.read_releases(folder)
        wanted = set()
        for path in workbook_paths(folder)[0]:
            sha = imf_dots.file_sha256(path)
            wanted.add((path.name, sha, imf_dots.resolve_vintage(path, sha, releases)))
        with duckdb.connect(str(db_path), read_only=True) as con:
            published = set(con.execute("SELECT source_file, file_sha256, vintage FROM meta.source_files").fetchall())
    except (ValueError, OSError, duckdb.Error):
        return False  # let the run report the problem
    return wanted <= published
