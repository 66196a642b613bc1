"""Build each check's frame (Polars for raw cells, SQL on the candidate warehouse for canonical
checks), run its suite (expectations.runner), and time it. No Dagster here.

Frames go to GX as Arrow-backed pandas: on the full canonical table (2.6 M rows) that takes the
validation's peak memory from ~3.4 GB (object columns) to ~1 GB, and the conversion from ~2 s to 0.5 s.
"""

import time
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl

from expectations.checks import CANONICAL, RAW, Check, checks_for
from expectations.runner import CheckOutcome, validate


def _run(check: Check, frame_factory) -> tuple[CheckOutcome, float]:
    start = time.perf_counter()
    try:
        frame = frame_factory()
    except Exception as exc:  # the frame could not be built: the check could not run
        return CheckOutcome(check.name, check.blocking, False, 0, 0, error=f"{type(exc).__name__}: {exc}"), time.perf_counter() - start
    import great_expectations.expectations as gxe

    outcome = validate(check.name, check.blocking, frame, list(check.expectations(gxe)), list(check.example_columns))
    return outcome, time.perf_counter() - start


RAW_COLUMNS = ["source_file", "file_sha256", "sheet", "cell", "excel_row", "excel_col"]


def validate_raw(raw: pl.DataFrame) -> list[tuple[CheckOutcome, float]]:
    """Run the raw-asset checks on the run's raw cells (raw_id + at least RAW_COLUMNS).
    Returns (outcome, seconds) per check."""
    frame = raw.select(
        "raw_id", "source_file", "file_sha256", "sheet", "cell", "excel_row", "excel_col",
        cell_consistent=(pl.col("cell") == pl.col("excel_col") + pl.col("excel_row").cast(pl.String)).fill_null(False),
    )
    pdf = frame.to_pandas(use_pyarrow_extension_array=True)
    return [_run(check, lambda: pdf) for check in checks_for(RAW)]


def _frame(con: duckdb.DuckDBPyConnection, check: Check) -> pd.DataFrame:
    """The check's SQL frame as pandas backed by Arrow (a quarter of the memory of object columns)."""
    return con.execute(check.frame_sql(), check.params or None).to_arrow_table().to_pandas(types_mapper=pd.ArrowDtype)


def validate_candidate(path: Path) -> list[tuple[CheckOutcome, float]]:
    """Run the canonical-asset checks on a candidate warehouse file (opened read-only).
    Returns (outcome, seconds) per check."""
    out = []
    with duckdb.connect(str(path), read_only=True) as con:
        for check in checks_for(CANONICAL):
            out.append(_run(check, lambda check=check: _frame(con, check)))
    return out
