"""The warehouse resource: where the raw store, the build candidates and the published file live, and
each source's input folder.

Defaults come from environment variables (warehouse.config: TRADEWH_HOME, TRADEWH_DB,
TRADEWH_<SOURCE>_DIR) read when the code location loads; tests pass their own instance.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from sources.registry import SOURCES
from warehouse import config
from warehouse.lock import build_lock
from warehouse.store import Store


class WarehouseResource(dg.ConfigurableResource):
    """Paths of one warehouse: `home` (raw store + builds), `db_path` (published DuckDB file),
    `input_dirs` (source name -> input folder; a source without one is not ingested, its releases
    already in the raw store still are read)."""

    home: str
    db_path: str
    input_dirs: dict[str, str]

    @classmethod
    def from_env(cls) -> "WarehouseResource":
        return cls(
            home=str(config.home()),
            db_path=str(config.db_path()),
            input_dirs={s.name: str(config.input_dir(s)) for s in SOURCES},
        )

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["WarehouseResource"]:
        """In a run, hold the home's build lock from the run's first step to its last
        (warehouse.lock: one writer at a time; a run that finds it held logs who holds it and waits).
        A sensor tick only reads: no lock."""
        run = context.run
        if run is None:
            yield self
            return
        on_wait = context.log.warning if context.log else None
        with build_lock(Path(self.home), f"run {run.run_id} of {run.job_name}", on_wait=on_wait):
            yield self

    def store(self) -> Store:
        return Store(Path(self.home), Path(self.db_path))

    def folders(self) -> dict[str, Path]:
        """{source name: input folder} in registry order."""
        return {s.name: Path(self.input_dirs[s.name]) for s in SOURCES if s.name in self.input_dirs}
