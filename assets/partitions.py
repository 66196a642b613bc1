"""The partition scheme: what one unit of ingestion is, as Dagster partitions (docs/design/partitions.md).

File sources share one dynamic partitions definition, `file_releases`, whose keys are
`<source>/<release date>`: a partition is the set of a source's input files that belong to one
release (vintage), e.g. `imf_dots/2022-02-20` (the 235 bundled DOTS workbooks) or
`imf_imts/2026-05-09`. A new or changed file re-runs only the partition of its release, and the
unpartitioned canonical -> marts -> publish steps after it, in the same run: the main job holds
the partitioned ingest asset and everything downstream (one run can hold one partitions
definition, and unpartitioned assets beside it). Within a partition, a file already in the raw
store under the current parser is read from there, not parsed again.

Sources fetched from an API get partitions of their own (reporter x period) and bulk sources
(year x classification), each on its own asset and run (see the design note).
"""

from datetime import date

import dagster as dg

from tradewh.sources.registry import BY_NAME
from tradewh.warehouse.ingest import PARSER_KEY, FileSetError
from tradewh.warehouse.store import Store

FILE_RELEASES = dg.DynamicPartitionsDefinition(name="file_releases")


def key(source: str, vintage: date) -> str:
    """The partition key of a source's release: `<source>/<YYYY-MM-DD>`."""
    return f"{source}/{vintage.isoformat()}"


def parse_key(partition_key: str) -> tuple[str, date]:
    """`<source>/<YYYY-MM-DD>` -> (source, vintage). Raises ValueError for another shape or an
    unregistered source."""
    source, _, day = partition_key.partition("/")
    if source not in BY_NAME:
        raise ValueError(f"partition {partition_key!r}: unknown source {source!r}")
    return source, date.fromisoformat(day)


def releases_of(partition_keys: list[str]) -> dict[str, set[date]]:
    """{source: the vintages of `partition_keys`}."""
    out: dict[str, set[date]] = {}
    for k in partition_keys:
        source, vintage = parse_key(k)
        out.setdefault(source, set()).add(vintage)
    return out


def folder_partitions(folders: dict, store: Store) -> tuple[list[str], list[str]]:
    """(the partition keys of every release in the input folders, in source order then date; the
    ones with a file version that is not in the raw store under the source's current parser: they
    need ingesting). A file whose release cannot be established has no partition of its own: every
    partition of its source is then marked as needing ingesting, so the run's ingest of that source
    reports the file (a bad file stops its source's ingest). Raises ingest.FileSetError when a
    source has such files and no release at all, ValueError for a malformed RELEASES.csv."""
    keys, changed = [], []
    for name, folder in folders.items():
        source = BY_NAME[name]
        if not folder.is_dir():
            continue
        files, _, errors = source.input_files(folder)
        if errors and not files:
            raise FileSetError(name, folder, sorted(errors, key=lambda e: e.path))
        fingerprint = source.parser_fingerprint()
        for vintage in sorted({f.vintage for f in files}):
            k = key(name, vintage)
            keys.append(k)
            if errors or any(not _in_store(store, source.name, f, fingerprint) for f in files if f.vintage == vintage):
                changed.append(k)
    return keys, changed


def _in_store(store: Store, source: str, f, fingerprint: str) -> bool:
    path = store.committed_raw(source, f.name, f.vintage, f.sha256)
    return path is not None and store.raw_metadata(path).get(PARSER_KEY) == fingerprint


def run_tags(instance: dg.DagsterInstance, folders: dict, store: Store) -> dict[str, str]:
    """Register every release of the input folders as a partition, then the tags of a run over the
    releases that need ingesting (all of them when none does: a rebuild from the raw store): a
    partition range from the first to the last of them, in the order the partitions were added.
    Raises FileNotFoundError when no folder has a file with a release, ValueError for a malformed
    RELEASES.csv."""
    keys, changed = folder_partitions(folders, store)
    if not keys:
        raise FileNotFoundError("no input files with a release in " + ", ".join(str(f) for f in folders.values()))
    instance.add_dynamic_partitions(
        FILE_RELEASES.name, [k for k in keys if not instance.has_dynamic_partition(FILE_RELEASES.name, k)]
    )
    order = instance.get_dynamic_partitions(FILE_RELEASES.name)
    wanted = sorted(changed or keys, key=order.index)
    return {"dagster/asset_partition_range_start": wanted[0], "dagster/asset_partition_range_end": wanted[-1]}
