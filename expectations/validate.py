"""Build each check's frame with SQL (DuckDB: the run's raw cells, or the candidate warehouse), run
its suite (expectations.runner), list the rows behind a failing summary, and time it. No Dagster here.

Frames go as Arrow to a helper process (expectations.worker) that validates them with GX as
Arrow-backed pandas; its GX import overlaps the run's other work, and this process never imports
pandas. Checks over every row of a big table validate a summary
frame (expectations.checks.Check: rows_column, detail_sql): a few hundred rows instead of 2.6 M,
which took validation of the bundled data from ~14 s and 2.4 GB to well under a second for those
checks (benchmarks/validation.py).
"""

import hashlib
import json
import os
import pickle
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import accumulate
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from tradewh.expectations import frames, worker
from tradewh.expectations.checks import CANONICAL, Check, checks_for
from tradewh.expectations.runner import EXAMPLES, MAX_FAILURES_KEPT, CheckOutcome
from tradewh.sources.contract import RACY_NS
from tradewh.warehouse.patch import Scope
from tradewh.warehouse.state import code_version
from tradewh.warehouse.store import footer
from tradewh.warehouse.tables import register, sql_literal

SQL_THREADS = 1  # check frames built ahead, while the GX helper validates the one before


def _frame(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """A check's frame by `sql` (its SQL, or frames.narrowed_sql's), as Arrow (the GX helper makes it Arrow-backed pandas). ENUM columns
    (Arrow dictionaries) become plain text: GX's row index over a dictionary column whose values
    are all NULL (source_sheet of a CSV source) raises "cannot do a non-empty take from an empty
    axes". Exact amounts (DECIMAL) become doubles: GX compares them with float bounds, and the
    failing rows are stored as JSON."""
    table = con.execute(sql).to_arrow_table()
    for i, f in enumerate(table.schema):
        if pa.types.is_dictionary(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(f.type.value_type))
        elif pa.types.is_decimal(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(pa.float64()))
    return table


def _build(
    con: duckdb.DuckDBPyConnection, check: Check, relations: dict[str, pa.Table], kept: frames.Frames | None
) -> tuple[pa.Table | Exception, float]:
    """(the check's frame, or the error that kept it from being built; seconds), on a cursor of its
    own, with `relations` registered on it; with `kept`, built from and kept in the checks' kept
    frames (expectations.frames)."""
    start = time.perf_counter()
    with con.cursor() as cursor:
        for name, table in relations.items():
            register(cursor, name, table)
        try:
            if kept is None:
                frame = _frame(cursor, check.frame_sql())
            else:
                frame = frames.build(cursor, check, kept, lambda cur, sql: _frame(cur, sql))
        except Exception as exc:  # the frame could not be built: the check could not run
            frame = exc
    return frame, time.perf_counter() - start


def _validate(check: Check, frame: pa.Table, keep: int, cache: Path | None) -> CheckOutcome:
    """The GX helper's outcome for `check` on `frame` (worker.validate), or, when `cache` (a folder)
    holds the outcome of this check's last validation and that was of the same frame under the same
    code, that outcome: GX gives the same verdict on the same rows, and a run that changed one file
    leaves most checks' frames as they were (a patched build then need not wait for GX's import)."""
    if cache is None:
        return worker.validate(check.name, check.blocking, frame, keep)
    # The rows as a multiset: the wrapping sum of their hashes under two seeds (the SQL's row order
    # may vary, the outcome does not; Polars' row hash is stable for one Polars version, which is
    # part of code_version). About a fifth of the time of sorting and serialising the frame.
    rows = pl.from_arrow(frame)
    sums = [int(rows.hash_rows(seed=seed).sum()) if rows.height else 0 for seed in (0, 1)]
    digest = hashlib.sha256(
        f"{code_version()}|{check.name}|{check.blocking}|{keep}|{frame.schema}|{rows.height}|{sums}".encode()
    )
    path = frames.cache_path(cache, check, "pickle")
    try:
        seen, outcome = pickle.loads(path.read_bytes())
        if seen == digest.hexdigest():
            return outcome
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError):
        pass  # none yet, or unreadable: validate
    outcome = worker.validate(check.name, check.blocking, frame, keep)
    if outcome.error is None:  # a check that could not run is tried again next time
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps((digest.hexdigest(), outcome)))
        os.replace(tmp, path)
    return outcome


def _run_all(
    con: duckdb.DuckDBPyConnection,
    checks: list[Check],
    relations: dict[str, pa.Table] | None = None,
    cache: Path | None = None,
    kept: frames.Frames | None = None,
) -> list[tuple[CheckOutcome, float]]:
    """Run `checks` in order, with `relations` (Arrow tables) registered under their names. Each
    check's frame is built by SQL on a thread (DuckDB releases the GIL), then validated by the GX
    helper and its summary expanded here; the helper validates one frame at a time, so the next
    check's SQL runs while it works (on the bundled data the canonical checks take ~0.95 s instead
    of ~1.15 s; more threads were slower on two cores).
    Returns (outcome, seconds) per check; seconds = its SQL + GX + expansion, not time spent waiting.
    `cache`: a folder of the checks' last GX outcomes (_validate), or None to validate every frame;
    `kept`: the checks' kept frames of a candidate warehouse (expectations.frames), or None.
    """
    relations = {**(relations or {}), **(kept.relations() if kept else {})}
    for name, table in relations.items():
        register(con, name, table)
    out = []
    with ThreadPoolExecutor(max_workers=SQL_THREADS) as pool:
        for check, (frame, sql_seconds) in zip(checks, pool.map(lambda c: _build(con, c, relations, kept), checks)):
            start = time.perf_counter()
            if isinstance(frame, Exception):
                outcome = CheckOutcome(
                    check.name, check.blocking, False, 0, 0, error=f"{type(frame).__name__}: {frame}"
                )
            else:
                keep = frame.num_rows if check.rows_column else MAX_FAILURES_KEPT
                outcome = _validate(check, frame, keep, cache)
                if check.rows_column:
                    outcome = _expand_summary(con, check, frame, outcome)
            out.append((outcome, sql_seconds + time.perf_counter() - start))
    return out


def _expand_summary(
    con: duckdb.DuckDBPyConnection, check: Check, frame: pa.Table, outcome: CheckOutcome
) -> CheckOutcome:
    """A summary frame's outcome in table rows: checked_rows = sum of rows_column; failing rows,
    examples and failures are the table rows behind the failing frame rows (check.detail_sql).
    A failing frame row with no table row behind it means the two SQL files disagree: an error."""
    summary = pl.from_arrow(frame)
    outcome.checked_rows = int(summary[check.rows_column].sum())
    if outcome.error or outcome.passed:
        return outcome
    ids = [f["group_id"] for f in outcome.failures]
    failing = summary.filter(pl.col("group_id").is_in(ids)).to_arrow()
    register(con, "failing", failing)
    try:
        detail = f"({check.detail_frame_sql()})"
        outcome.failing_rows = con.execute(f"SELECT count(*) FROM {detail}").fetchone()[0]
        rows = con.execute(f"SELECT * FROM {detail} LIMIT {MAX_FAILURES_KEPT}").pl()
        rows = rows.with_columns(pl.col(pl.Decimal).cast(pl.Float64)).to_dicts()  # stored as JSON
    except duckdb.Error as exc:
        outcome.error = f"{check.detail_sql}: {type(exc).__name__}: {exc}"
        return outcome
    finally:
        con.unregister("failing")
    outcome.failures, outcome.examples = rows, rows[:EXAMPLES]
    if ids and not outcome.failing_rows:
        outcome.error = f"{len(ids)} failing summary row(s) but no rows behind them in {check.detail_sql}"
    return outcome


def validate_raw(
    asset: str, files: list[Path], first_raw_id: int, empty: pl.DataFrame, cache: Path | None = None
) -> list[tuple[CheckOutcome, float]]:
    """Run a raw asset's checks (`asset` "raw/<table>") on the run's raw rows of that table: its
    raw-store Parquet `files`, read in place by DuckDB (not loaded into Python first: docs/benchmarks.md)
    as the relation raw_cells, raw_id numbered from `first_raw_id` in file
    order (the numbering of the canonical rows' lineage), raw_file the raw-store file's name. With
    no files, `empty` (raw_id and the checks' columns, no rows) is the relation. A check with a
    `file_sql` reads its per-file summaries (_file_summaries). `cache`: see _run_all. Returns
    (outcome, seconds) per check."""
    checks = checks_for(asset)
    if not checks:
        return []
    with duckdb.connect() as con:
        relations = {}
        if files:
            _create_raw_cells(con, asset, files, first_raw_id)
        else:
            relations["raw_cells"] = empty.with_columns(raw_file=pl.lit(None, pl.String)).to_arrow()
            register(con, "raw_cells", relations["raw_cells"])
        summarising = {}  # seconds per check, counted in its time
        for check in checks:
            if check.file_sql:
                start = time.perf_counter()
                relations[Path(check.file_sql).stem] = _file_summaries(con, asset, check, files, cache)
                summarising[check.name] = time.perf_counter() - start
        return [(o, secs + summarising.get(o.name, 0.0)) for o, secs in _run_all(con, checks, relations, cache)]


def _create_raw_cells(con: duckdb.DuckDBPyConnection, asset: str, files: list[Path], first_raw_id: int) -> None:
    """The view raw_cells over `files` (see validate_raw), and the table raw_file_offsets it reads, in
    `con`'s in-memory database (not registered relations: the checks' SQL runs on cursors of this
    connection, which see the database but not its registrations)."""
    from tradewh.expectations.checks import raw_columns

    rows = [footer(f).num_rows for f in files]
    offsets = pl.DataFrame(
        {
            "file_index": range(len(files)),
            "first_raw_id": list(accumulate(rows, initial=first_raw_id))[:-1],
            "raw_file": [f.name for f in files],
        },
        schema={"file_index": pl.Int64, "first_raw_id": pl.Int64, "raw_file": pl.String},
    )
    register(con, "_offsets", offsets)
    con.execute("CREATE TABLE raw_file_offsets AS SELECT * FROM _offsets")
    con.unregister("_offsets")
    paths = ", ".join(sql_literal(f) for f in files)
    cols = ", ".join(f"p.{c}" for c in raw_columns(asset))
    con.execute(
        f"CREATE VIEW raw_cells AS SELECT f.first_raw_id + p.file_row_number AS raw_id, f.raw_file, {cols} "
        f"FROM read_parquet([{paths}], file_row_number = true) p JOIN raw_file_offsets f ON f.file_index = p.file_index"
    )


_KEPT_CODE, _KEPT_FILES, _KEPT_AT = b"tradewh.code_version", b"tradewh.files", b"tradewh.summarised_at_ns"


def _file_summaries(
    con: duckdb.DuckDBPyConnection, asset: str, check: Check, files: list[Path], cache: Path | None
) -> pa.Table:
    """The rows of `check.file_sql` (per raw file version: raw_file among its columns) for the run's
    raw `files`. A raw-store file's name holds its input file's SHA-256, and the store never edits
    a file in place (a damaged one is written anew), so a file's rows are kept in `cache` with its
    size and modification time and computed once: a run reads only the files it has not summarised
    before as they are now (all of them in a new home, the changed one after a corrected file; a
    file modified shortly before its summary was kept is summarised again: sources.contract.RACY_NS)."""
    path = frames.cache_path(cache, check, "files.arrow") if cache is not None else None
    now = time.time_ns()  # before the files are looked at
    stats = {f.name: [(st := f.stat()).st_size, st.st_mtime_ns] for f in files}
    kept, seen, written = None, {}, 0
    table = frames.read_arrow(path) if path is not None else None
    meta = (table.schema.metadata or {}) if table is not None else {}
    if meta.get(_KEPT_CODE) == code_version().encode():
        try:
            seen, written = json.loads(meta[_KEPT_FILES]), int(meta[_KEPT_AT])
            kept = pl.from_arrow(table)
        except (KeyError, ValueError):
            seen, written = {}, 0  # unreadable labels: every file is summarised
    # a file modified within RACY_NS before its summary was kept may have changed since, unseen
    done = [name for name, stat in stats.items() if seen.get(name) == stat and stat[1] < written - RACY_NS]
    parts = [] if kept is None else [kept.filter(pl.col("raw_file").is_in(done))]
    new = [f for f in files if f.name not in set(done)]
    if new:
        with duckdb.connect() as fresh:  # raw_cells over the new files alone
            _create_raw_cells(fresh, asset, new, 0)
            parts.append(fresh.execute(check.file_frame_sql()).pl())
    elif not files:  # the columns, no rows: over `con`'s empty raw_cells
        parts.append(con.execute(check.file_frame_sql()).pl())
    summaries = pl.concat(parts).to_arrow()
    if path is not None and (new or kept is None):
        labels = {
            _KEPT_CODE: code_version().encode(),
            _KEPT_FILES: json.dumps(stats).encode(),
            _KEPT_AT: str(now).encode(),
        }
        frames.write_arrow(path, summaries, labels)
    return summaries


def validate_candidate(
    con: duckdb.DuckDBPyConnection, asset: str = CANONICAL, cache: Path | None = None, scope: Scope | None = None
) -> list[tuple[CheckOutcome, float]]:
    """Run an asset's checks (default the canonical asset's; the marts' once they are built) on the
    candidate warehouse `con` is on (only read). Returns (outcome, seconds) per check; each example
    row gains the English name of every entity code it holds (reporter_iso3 -> reporter_name, from
    ref.entities), for people reading it. `cache`: see _run_all; the scoped checks' frames are kept
    there too, labelled with the candidate's run, and a patched candidate (`scope`: what its patch
    changed, warehouse.patch.read_scope) builds its frames from them (expectations.frames)."""
    kept = None
    if cache is not None:
        (run_id,) = con.execute("SELECT run_id FROM meta.load_runs").fetchone()
        kept = frames.Frames(cache, run_id, scope)
    outcomes = _run_all(con, checks_for(asset), cache=cache, kept=kept)
    if any(o.examples for o, _ in outcomes):
        names = dict(con.execute("SELECT code::VARCHAR, label FROM ref.entities").fetchall())
        for outcome, _ in outcomes:
            outcome.examples = [_named(row, names) for row in outcome.examples]
    return outcomes


def _named(row: dict, names: dict[str, str]) -> dict:
    """`row` with `<x>_name` after each `<x>_iso3` code it holds (the entity's label; absent codes stay unnamed)."""
    out = {}
    for key, value in row.items():
        out[key] = value
        if key.endswith("_iso3") and f"{key[:-5]}_name" not in row:
            out[f"{key[:-5]}_name"] = names.get(str(value)) if value is not None else None
    return out
