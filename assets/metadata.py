"""Helpers that turn warehouse.schema tables and frames into Dagster metadata."""

import json
from datetime import date, datetime
from decimal import Decimal

import dagster as dg
import polars as pl

from tradewh.warehouse.display import number_text
from tradewh.warehouse.schema import Table

# Who answers for the warehouse's assets in the web UI (Dagster owners: a team or an e-mail address).
OWNER = "team:tradewh"


def column_schema(table: Table) -> dg.TableSchema:
    """A Dagster TableSchema (shown in the UI) from a warehouse.schema Table."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                c.name, c.type, description=c.description, constraints=dg.TableColumnConstraints(nullable=c.nullable)
            )
            for c in table.columns
        ]
    )


def readable(value):
    """A value as the UI's table shows it: floats and exact amounts as the CLI writes them
    (warehouse.display.number_text), dates as ISO text, nested values as JSON text; integers, text
    and flags as they are."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (float, Decimal)):
        return number_text(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return json.dumps(value, default=str)


def table_rows(rows: list[dict], types: dict[str, str] | None = None) -> dg.TableMetadataValue:
    """Rows (dicts with the same keys) as the UI's table, values `readable`; `types` names each
    column's type (default: what the first row holds)."""
    columns = list(rows[0]) if rows else []
    types = types or {c: type(rows[0][c]).__name__ if rows[0][c] is not None else "null" for c in columns}
    return dg.MetadataValue.table(
        records=[dg.TableRecord({c: readable(r.get(c)) for c in columns}) for r in rows],
        schema=dg.TableSchema(columns=[dg.TableColumn(c, types.get(c, "")) for c in columns]),
    )


def table_preview(frame: pl.DataFrame, rows: int = 10) -> dg.TableMetadataValue:
    """The first `rows` rows of a frame as the UI's table, with the frame's column types."""
    head = frame.head(rows)
    return table_rows(head.to_dicts(), {c: str(t) for c, t in head.schema.items()})
