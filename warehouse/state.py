"""Is the published warehouse current? A build is needed only when an input file version is not in
the published warehouse yet, or when the code that turns files into tables changed.

"Current" means all of:
- every file in the input folders, with the release it gets (name, SHA-256, vintage), is already one
  of the published warehouse's file versions (meta.source_files): a file removed from a folder
  changes nothing, since the raw store keeps every file version ingested;
- the raw store holds exactly the files the published warehouse was built from (meta.raw_files): a
  file version deleted from the raw store (docs/operations.md, "take out a file") is news;
- the published warehouse was built by the same code: `code_version()`, kept in meta.load_runs.

`tradewh build` and the inbox sensor ask `current()` first, so a run that finds nothing new starts
neither Dagster's run machinery nor the validation helper. No Dagster here.
"""

import hashlib
import importlib.util
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from tradewh.sources.contract import FileLayoutError, Source, library_versions
from tradewh.sources.registry import SOURCES
from tradewh.warehouse.store import Store

# The packages whose files decide what a build writes, and the libraries that read, convert, store,
# validate and sum. (tradewh.assets only wires these together in Dagster.)
CODE_PACKAGES = ("tradewh.sources", "tradewh.warehouse", "tradewh.expectations")
CODE_SUFFIXES = (".py", ".sql", ".csv", ".json")
LIBRARIES = ("polars", "duckdb", "python-calamine", "great_expectations", "currencyconverter", "pycountry")


def code_version() -> str:
    """sha256 of every code and reference-data file of CODE_PACKAGES (path within the package and
    bytes) and of the versions of LIBRARIES: two builds with the same code_version and the same input
    files write the same tables, whether the package is installed or run from a clone."""
    h = hashlib.sha256()
    for package in CODE_PACKAGES:
        folder = Path(importlib.util.find_spec(package).origin).parent
        for path in sorted(folder.rglob("*")):
            if path.suffix in CODE_SUFFIXES and "__pycache__" not in path.parts and path.is_file():
                name = f"{package}/{path.relative_to(folder).as_posix()}"
                h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(library_versions(LIBRARIES).encode())
    return h.hexdigest()


@dataclass(frozen=True)
class Published:
    """The published warehouse a build would reproduce: its run, when it was built, and how many
    input file versions the folders hold (all of them already in it)."""

    run_id: str
    built_at: datetime
    files: int


def current(sources: dict[Source, Path], store: Store) -> Published | None:
    """The published warehouse of `store`, if it is current for the input folders (`sources`:
    {source: its input folder}) and the raw store (see the module docstring); else None. None also when in doubt: no
    warehouse yet, one written before code versions were kept, a file whose release cannot be
    established or that cannot be read, a warehouse locked or unreadable (the build then runs and
    reports the problem)."""
    from tradewh.warehouse.ingest import input_files

    if not store.db_path.exists():
        return None
    try:
        wanted = set()
        for source, folder in sources.items():
            if Path(folder).is_dir():
                files, _ = input_files(source, folder)
                wanted |= {(source.name, f.name, f.sha256, f.vintage) for f in files}
        raw_store = {(s.name, str(p)) for s in SOURCES for p in store.raw_files(s.name)}
        with duckdb.connect(str(store.db_path), read_only=True) as con:
            columns = {
                c
                for (c,) in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'meta' AND table_name = 'load_runs'"
                ).fetchall()
            }
            if "code_version" not in columns:
                return None
            run_id, built_at, code = con.execute("SELECT run_id, built_at, code_version FROM meta.load_runs").fetchone()
            published = set(
                con.execute(
                    "SELECT source::VARCHAR, source_file::VARCHAR, file_sha256::VARCHAR, vintage FROM meta.source_files"
                ).fetchall()
            )
            built_from = set(con.execute("SELECT source::VARCHAR, path FROM meta.raw_files").fetchall())
    except (FileLayoutError, ValueError, OSError, TypeError, duckdb.Error):
        return None
    if not wanted or code != code_version() or not wanted <= published or raw_store != built_from:
        return None
    return Published(run_id, built_at, len(wanted))
