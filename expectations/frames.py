"""Check frames kept between runs, so that a patched candidate computes only the frame rows its
change can move (warehouse.patch: a run that changed a few files patches the published warehouse).

A check with `scope_columns` (expectations.checks.Check) has a frame whose rows each belong to
(source, entity) pairs: the frame's `source` with each of those entity columns (reporter_iso3,
partner_iso3). Such a row is computed from the observations of its pairs alone, so it can only
change if one of them is among the patch's affected (source, reporter) pairs (warehouse.patch.Scope).
Each time such a frame is built on a candidate warehouse its rows are kept in the checks' cache
folder, labelled with the candidate's run (meta.load_runs) and the code version. On a patched
candidate whose published base is that run, the frame is then

    the kept rows none of whose pairs is affected
    + the check's SQL over the affected pairs' observations alone (canonical.observations narrowed
      to the rows whose source with one of the scope columns is an affected pair, and the result
      to the rows with an affected pair),

the same rows as the SQL over the whole candidate (tests/test_patch.py compares both). The rows are
in no particular order (nor are the SQL's): a check's outcome does not depend on it. Any other
case (no kept frame, of another run or code, unreadable) runs the SQL over the whole candidate.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from tradewh.expectations.checks import Check
from tradewh.warehouse.db import SCOPE_PAIR
from tradewh.warehouse.patch import Scope
from tradewh.warehouse.state import code_version

INPUT = "canonical.observations"  # what a scoped check's SQL reads, narrowed on a patched candidate
_INPUT = re.compile(r"\bcanonical\.observations\b(?!_)")  # not canonical.observations_latest
_RUN, _CODE = b"tradewh.run_id", b"tradewh.code_version"


@dataclass(frozen=True)
class Frames:
    """The kept frames of the checks (in `folder`) for a candidate built by run `run_id`; `scope` is
    a patched candidate's warehouse.patch.Scope, None for a whole build."""

    folder: Path
    run_id: str
    scope: Scope | None

    def path(self, check: Check) -> Path:
        return cache_path(self.folder, check, "frame.arrow")

    def relations(self) -> dict[str, pa.Table]:
        """The relation the narrowed SQL reads (patch_pairs: source, code), for a patched candidate."""
        if self.scope is None:
            return {}
        return {"patch_pairs": self.scope.pairs.select("source", code="reporter_iso3").to_arrow()}

    def kept(self, check: Check) -> pl.DataFrame | None:
        """The check's frame kept for this candidate's published base under this code, or None."""
        if self.scope is None or not check.scope_columns:
            return None
        table = read_arrow(self.path(check))
        if table is None:
            return None
        meta = table.schema.metadata or {}
        if meta.get(_RUN) != self.scope.base_run.encode() or meta.get(_CODE) != code_version().encode():
            return None
        return pl.from_arrow(table)

    def keep(self, check: Check, frame: pa.Table) -> None:
        """Keep `frame` as the check's frame on this candidate (written whole, then renamed in place)."""
        if check.scope_columns:
            write_arrow(self.path(check), frame, {_RUN: self.run_id.encode(), _CODE: code_version().encode()})


def cache_path(folder: Path, check: Check, suffix: str) -> Path:
    """The file of `folder` (the checks' cache) that keeps `suffix` (e.g. frame.arrow) for `check`."""
    return folder / f"{check.asset.replace('/', '.')}.{check.name}.{suffix}"


def read_arrow(path: Path) -> pa.Table | None:
    """An Arrow IPC file written by write_arrow (its labels in the schema's metadata), None if it is
    missing or unreadable."""
    try:
        with pa.OSFile(str(path), "rb") as source:
            return pa.ipc.open_file(source).read_all()
    except (OSError, pa.ArrowException):
        return None


def write_arrow(path: Path, table: pa.Table, labels: dict[bytes, bytes]) -> None:
    """Write `table` with `labels` added to its schema's metadata as an Arrow IPC file: whole, then
    renamed into place, so a reader finds the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    labelled = table.replace_schema_metadata({**(table.schema.metadata or {}), **labels})
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, labelled.schema) as writer:
        writer.write_table(labelled)
    os.replace(tmp, path)


def narrowed_sql(check: Check) -> str:
    """The check's SQL over the observations with an affected pair in its scope columns (source with
    reporter_iso3, or partner_iso3: both sides of a mirror), keeping the rows with an affected pair
    (patch_pairs must be a relation of the connection). Raises ValueError if the SQL does not read
    INPUT (a scoped check must)."""
    sql = check.frame_sql()
    if not _INPUT.search(sql):
        raise ValueError(f"{check.name}: its SQL ({check.sql}) does not read {INPUT}, so it cannot be scoped")
    pairs = " OR ".join(SCOPE_PAIR.format(col=c) for c in check.scope_columns)
    sql = _INPUT.sub(f"(SELECT * FROM {INPUT} WHERE {pairs})", sql)
    rows = " OR ".join(
        f"(f.source::VARCHAR, f.{c}::VARCHAR) IN (SELECT source, code FROM patch_pairs)" for c in check.scope_columns
    )
    return f"SELECT * FROM (\n{sql}\n) f WHERE {rows}"


def unaffected(frame: pl.DataFrame, check: Check, scope: Scope) -> pl.DataFrame:
    """The rows of `frame` none of whose (source, entity) pairs is affected."""
    pairs = scope.pairs.rename({"reporter_iso3": "_code"})
    for column in check.scope_columns:
        frame = frame.join(
            pairs, left_on=["source", column], right_on=["source", "_code"], how="anti", nulls_equal=True
        )
    return frame


def assemble(kept: pl.DataFrame, scoped: pa.Table, check: Check, scope: Scope) -> pa.Table:
    """The patched candidate's frame: `kept` rows without an affected pair (raw_ids renumbered as the
    patch renumbered them), then the `scoped` rows (narrowed_sql's), in the scoped frame's Arrow
    schema (the SQL's). Raises ValueError if the two frames' columns differ."""
    new = pl.from_arrow(scoped)
    if kept.schema != new.schema:
        raise ValueError(f"{check.name}: the kept frame's columns {kept.schema} are not the SQL's {new.schema}")
    return pl.concat([_shifted(unaffected(kept, check, scope), scope), new]).to_arrow().cast(scoped.schema)


def _shifted(kept: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    """`kept` (rows of files the patch did not change) with its raw_id, if it has one, renumbered
    as the patch renumbered those files' rows (scope.shifts)."""
    if "raw_id" not in kept.columns or not scope.shifts.height:
        return kept
    moved = (
        kept.with_row_index("_row")
        .sort("raw_id")
        .join_asof(scope.shifts.sort("lo"), left_on="raw_id", right_on="lo", strategy="backward")
        .sort("_row")
    )
    delta = pl.when(pl.col("raw_id") <= pl.col("hi")).then(pl.col("delta")).otherwise(0)
    return moved.with_columns(raw_id=pl.col("raw_id") + delta.fill_null(0)).select(kept.columns)


def build(cursor: duckdb.DuckDBPyConnection, check: Check, frames: "Frames | None", run_sql) -> pa.Table:
    """The check's frame on the candidate of `cursor`: assembled from its kept frame on a patched
    candidate (see the module docstring), else `run_sql(cursor, sql)` over the whole candidate; kept
    for the next run when `frames` is given."""
    kept = frames.kept(check) if frames is not None else None
    if kept is not None:
        frame = assemble(kept, run_sql(cursor, narrowed_sql(check)), check, frames.scope)
    else:
        frame = run_sql(cursor, check.frame_sql())
    if frames is not None:
        frames.keep(check, frame)
    return frame
