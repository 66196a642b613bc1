"""Where the warehouse lives, from environment variables with defaults inside the project folder.

    TRADEWH_HOME          state folder (raw store, build candidates, Dagster home); default ./var
    TRADEWH_DB            the published DuckDB file; default $TRADEWH_HOME/tradewh.duckdb
    TRADEWH_IMF_DOTS_DIR  folder of IMF DOTS workbooks to ingest; default ./data/imf_dots (bundled)

./var is git-ignored. Paths are resolved when called, so tests can point them at a temp folder.
"""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def home() -> Path:
    return Path(os.environ.get("TRADEWH_HOME") or PROJECT_ROOT / "var").resolve()


def db_path() -> Path:
    return Path(os.environ.get("TRADEWH_DB") or home() / "tradewh.duckdb").resolve()


def imf_dots_dir() -> Path:
    return Path(os.environ.get("TRADEWH_IMF_DOTS_DIR") or PROJECT_ROOT / "data" / "imf_dots").resolve()
