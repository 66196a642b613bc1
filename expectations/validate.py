"""Build each check's frame with SQL (DuckDB: the run's raw cells, or the candidate warehouse), run
its suite (expectations.runner), list the rows behind a failing summary, and time it. No Dagster here.

Frames go as Arrow to a helper process (expectations.worker) that validates them with GX as
Arrow-backed pandas; its GX import overlaps the run's other work, and this process never imports
pandas. Checks over every row of a big table validate a summary
frame (expectations.checks.Check: rows_column, detail_sql): a few hundred rows instead of 2.6 M,
which took validation of the bundled data from ~14 s and 2.4 GB to well under a second for those
checks (benchmarks/validation.py).
"""

import time
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from expectations.checks import CANONICAL, RAW, Check, checks_for
from expectations import worker
from expectations.runner import EXAMPLES, MAX_FAILURES_KEPT, CheckOutcome

RAW_COLUMNS = ["source_file", "file_sha256", "sheet", "cell", "excel_row", "excel_col"]


def _frame(con: duckdb.DuckDBPyConnection, check: Check) -> pa.Table:
    """The check's SQL frame, as Arrow (the GX helper makes it Arrow-backed pandas)."""
    return con.execute(check.frame_sql(), check.params or None).to_arrow_table()


def _run(con: duckdb.DuckDBPyConnection, check: Check) -> tuple[CheckOutcome, float]:
    start = time.perf_counter()
    try:
        frame = _frame(con, check)
    except Exception as exc:  # the frame could not be built: the check could not run
        return CheckOutcome(check.name, check.blocking, False, 0, 0, error=f"{type(exc).__name__}: {exc}"), time.perf_counter() - start
    keep = frame.num_rows if check.rows_column else MAX_FAILURES_KEPT
    outcome = worker.validate(check.name, check.blocking, frame, keep)
    if check.rows_column:
        outcome = _expand_summary(con, check, frame, outcome)
    return outcome, time.perf_counter() - start


def _expand_summary(con: duckdb.DuckDBPyConnection, check: Check, frame: pa.Table, outcome: CheckOutcome) -> CheckOutcome:
    """A summary frame's outcome in table rows: checked_rows = sum of rows_column; failing rows,
    examples and failures are the table rows behind the failing frame rows (check.detail_sql).
    A failing frame row with no table row behind it means the two SQL files disagree: an error."""
    summary = pl.from_arrow(frame)
    outcome.checked_rows = int(summary[check.rows_column].sum())
    if outcome.error or outcome.passed:
        return outcome
    ids = [f["group_id"] for f in outcome.failures]
    failing = summary.filter(pl.col("group_id").is_in(ids)).to_arrow()
    con.register("failing", failing)
    try:
        detail = f"({check.detail_frame_sql()})"
        outcome.failing_rows = con.execute(f"SELECT count(*) FROM {detail}").fetchone()[0]
        rows = con.execute(f"SELECT * FROM {detail} LIMIT {MAX_FAILURES_KEPT}").pl().to_dicts()
    except duckdb.Error as exc:
        outcome.error = f"{check.detail_sql}: {type(exc).__name__}: {exc}"
        return outcome
    finally:
        con.unregister("failing")
    outcome.failures, outcome.examples = rows, rows[:EXAMPLES]
    if ids and not outcome.failing_rows:
        outcome.error = f"{len(ids)} failing summary row(s) but no rows behind them in {check.detail_sql}"
    return outcome


def validate_raw(raw: pl.DataFrame) -> list[tuple[CheckOutcome, float]]:
    """Run the raw-asset checks on the run's raw cells (raw_id + at least RAW_COLUMNS), given to their
    SQL as the relation raw_cells. Returns (outcome, seconds) per check."""
    with duckdb.connect() as con:
        con.register("raw_cells", raw.select("raw_id", *RAW_COLUMNS).to_arrow())
        return [_run(con, check) for check in checks_for(RAW)]


def validate_candidate(path: Path) -> list[tuple[CheckOutcome, float]]:
    """Run the canonical-asset checks on a candidate warehouse file (opened read-only).
    Returns (outcome, seconds) per check."""
    with duckdb.connect(str(path), read_only=True) as con:
        return [_run(con, check) for check in checks_for(CANONICAL)]
