"""The warehouse resource: where the raw store, the build candidates and the published file live, and
each source's input folder.

Defaults come from environment variables (warehouse.config: TRADEWH_HOME, TRADEWH_DB,
TRADEWH_<SOURCE>_DIR) read when the code location loads; tests pass their own instance.
"""

from pathlib import Path

import dagster as dg

from sources.registry import SOURCES
from warehouse import config
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

    def store(self) -> Store:
        return Store(Path(self.home), Path(self.db_path))

    def folders(self) -> dict[str, Path]:
        """{source name: input folder} in registry order."""
        return {s.name: Path(self.input_dirs[s.name]) for s in SOURCES if s.name in self.input_dirs}
