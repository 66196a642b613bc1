"""The warehouse resource: where the raw store, the build candidates and the published file live.

Defaults come from environment variables (warehouse.config: TRADEWH_HOME, TRADEWH_DB,
TRADEWH_IMF_DOTS_DIR) read when the code location loads; tests pass their own instance.
"""

from pathlib import Path

import dagster as dg

from warehouse import config
from warehouse.store import Store


class WarehouseResource(dg.ConfigurableResource):
    """Paths of one warehouse: `home` (raw store + builds), `db_path` (published DuckDB file),
    `imf_dots_dir` (input folder of IMF DOTS workbooks)."""

    home: str
    db_path: str
    imf_dots_dir: str

    @classmethod
    def from_env(cls) -> "WarehouseResource":
        return cls(home=str(config.home()), db_path=str(config.db_path()), imf_dots_dir=str(config.imf_dots_dir()))

    def store(self) -> Store:
        return Store(Path(self.home), Path(self.db_path))
