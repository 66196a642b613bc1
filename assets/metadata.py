"""Helpers that turn warehouse.schema tables and frames into Dagster metadata."""

import dagster as dg
import polars as pl

from warehouse.schema import Table


def column_schema(table: Table) -> dg.TableSchema:
    """A Dagster TableSchema (shown in the UI) from a warehouse.schema Table."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(c.name, c.type, description=c.description, constraints=dg.TableColumnConstraints(nullable=c.nullable))
            for c in table.columns
        ]
    )


def markdown_preview(frame: pl.DataFrame, rows: int = 10) -> dg.MarkdownMetadataValue:
    """The first rows of a frame as a markdown table."""
    head = frame.head(rows)
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in head.iter_rows()]
    return dg.MetadataValue.md("\n".join(lines))
