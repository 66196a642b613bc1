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
    return markdown_rows(frame.head(rows).to_dicts())


def markdown_rows(rows: list[dict]) -> dg.MarkdownMetadataValue:
    """Rows (dicts with the same keys) as a markdown table."""
    if not rows:
        return dg.MetadataValue.md("(none)")
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join("" if r.get(c) is None else str(r.get(c)) for c in columns) + " |" for r in rows]
    return dg.MetadataValue.md("\n".join(lines))
