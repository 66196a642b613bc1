"""Where the warehouse reads and writes: environment variables, else folders of the working
directory (never the installed package's location).

    TRADEWH_HOME            state folder (raw store, build candidates, Dagster home); default ./var
    TRADEWH_DB              the published DuckDB file; default $TRADEWH_HOME/tradewh.duckdb
    TRADEWH_<SOURCE>_DIR    each source's input folder (TRADEWH_IMF_DOTS_DIR, ...); default
                            ./data/<source> (in a clone of the repository: the bundled data)

A source whose folder is neither set nor present is not ingested (its releases already in the raw
store still load). ./var is git-ignored. Paths are resolved when called, against the working
directory of that moment, so tests can point them at a temp folder.
"""

import os
from pathlib import Path

from tradewh.sources.contract import Source, SourceBase

DEFAULT_HOME = Path("var")  # relative: under the working directory


def home() -> Path:
    """The state folder: $TRADEWH_HOME, else ./var."""
    return Path(os.environ.get("TRADEWH_HOME") or DEFAULT_HOME).resolve()


def db_path() -> Path:
    """The published warehouse file: $TRADEWH_DB, else $TRADEWH_HOME/tradewh.duckdb."""
    return Path(os.environ.get("TRADEWH_DB") or home() / "tradewh.duckdb").resolve()


def input_dir(source: SourceBase) -> Path:
    """The source's input folder: its environment variable (source.input_env), else ./data/<source>."""
    return Path(os.environ.get(source.input_env) or source.default_input).resolve()


def input_dirs(sources: tuple[Source, ...]) -> tuple[dict[Source, Path], list[Source]]:
    """({source: input folder} for the sources that have one, [the sources that have none]): a source
    has one when its folder exists. Raises FileNotFoundError when a folder named by an environment
    variable does not exist (a typo must not silently build without that source)."""
    found, absent = {}, []
    for source in sources:
        folder = input_dir(source)
        if folder.is_dir():
            found[source] = folder
        elif os.environ.get(source.input_env):
            raise FileNotFoundError(
                f"{source.input_env}={os.environ[source.input_env]}: the folder {folder} does not exist"
            )
        else:
            absent.append(source)
    return found, absent


def how_to_add(sources: list[Source]) -> str:
    """One line per source saying where its input folder would be and how to point at another."""
    return "\n".join(f"  {s.name}: no folder {input_dir(s)}; set {s.input_env} to its input folder" for s in sources)
