"""Where the warehouse lives, from environment variables with defaults inside the project folder.

    TRADEWH_HOME            state folder (raw store, build candidates, Dagster home); default ./var
    TRADEWH_DB              the published DuckDB file; default $TRADEWH_HOME/tradewh.duckdb
    TRADEWH_<SOURCE>_DIR    each source's input folder (TRADEWH_IMF_DOTS_DIR, ...); default the
                            bundled ./data/<source>

./var is git-ignored. Paths are resolved when called, so tests can point them at a temp folder.
"""

import os
from pathlib import Path

from sources.contract import Source

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def home() -> Path:
    return Path(os.environ.get("TRADEWH_HOME") or PROJECT_ROOT / "var").resolve()


def db_path() -> Path:
    return Path(os.environ.get("TRADEWH_DB") or home() / "tradewh.duckdb").resolve()


def input_dir(source: Source) -> Path:
    """The source's input folder: its environment variable (source.input_env), else data/<source>."""
    return Path(os.environ.get(source.input_env) or source.default_input).resolve()
