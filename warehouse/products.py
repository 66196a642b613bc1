"""Products: which HS revision a value is classified in, and at which level of detail, for every
source. The rules here are the warehouse's, applied to every source's canonical rows
(warehouse.canonical.candidates), so a source only says what its file states.

    classification  H0 ... H6 for HS 1992 ... HS 2022, as the file states it (Comtrade's
                    classificationCode), else as the file's release declares it (RELEASES.csv); HS
                    for "as reported" (each reporter and year in the revision it reported in,
                    UN Comtrade's default series). An all-products TOTAL is the same in every
                    revision: it is always HS, so the same total published under two revisions is
                    one observation (a duplicate, or a conflict), never two.
    product_level   TOTAL, HS2 (chapter), HS4 (heading), HS6 (subheading), from cmd_code.

A row with a cmd_code that is neither TOTAL nor 2, 4 or 6 digits, or a product row without a
known classification, is quarantined with its reason (never loaded, never dropped). Values of
different levels overlap (an HS2 chapter contains its HS4 headings): a sum is only meaningful
within one product_level, and every mart and check that sums totals reads cmd_code = 'TOTAL'
(docs/products.md).
"""

import polars as pl

CLASSIFICATIONS = {
    "H0": "HS 1992",
    "H1": "HS 1996",
    "H2": "HS 2002",
    "H3": "HS 2007",
    "H4": "HS 2012",
    "H5": "HS 2017",
    "H6": "HS 2022",
    "HS": "as reported (each reporter and year in the revision it reported in)",
}
AS_REPORTED = "HS"
TOTAL = "TOTAL"
PRODUCT_LEVELS = {"TOTAL": "all products", "HS2": "HS chapter (2 digits)", "HS4": "HS heading (4 digits)",
                  "HS6": "HS subheading (6 digits)"}  # fmt: skip


def with_product_columns(rows: pl.LazyFrame) -> pl.LazyFrame:
    """A source's canonical rows (with `cmd_code`, `reason`, `detail`, and `classification` when the
    source carries products) -> the same rows with `classification` and `product_level` set by the
    rules above, and the rows that break them given a quarantine `reason` and `detail` (a row
    already quarantined keeps its own)."""
    cmd = pl.col("cmd_code").cast(pl.String)
    stated = (
        pl.col("classification").cast(pl.String)
        if "classification" in rows.collect_schema()
        else pl.lit(None, pl.String)
    )
    level = (
        pl.when(cmd == TOTAL)
        .then(pl.lit("TOTAL"))
        .when(cmd.str.contains(r"^(?:[0-9]{2}|[0-9]{4}|[0-9]{6})$"))
        .then(pl.lit("HS") + cmd.str.len_chars().cast(pl.String))
    )
    classification = pl.when(cmd == TOTAL).then(pl.lit(AS_REPORTED)).otherwise(stated)
    return (
        rows.with_columns(product_level=level, classification=classification)
        .with_columns(
            reason=pl.when(pl.col("reason").is_not_null())
            .then(pl.col("reason"))
            .when(pl.col("product_level").is_null())
            .then(pl.lit("invalid_cmd_code"))
            .when(pl.col("classification").is_null() | ~pl.col("classification").is_in(list(CLASSIFICATIONS)))
            .then(pl.lit("unknown_classification")),
        )
        .with_columns(
            detail=pl.when(pl.col("reason") == "invalid_cmd_code")
            .then(pl.format("cmd_code {}: neither TOTAL nor an HS code of 2, 4 or 6 digits", cmd.fill_null("(none)")))
            .when(pl.col("reason") == "unknown_classification")
            .then(
                pl.format(
                    "cmd_code {}: classification {} is not an HS revision this warehouse loads (H0-H6, HS as reported)",
                    cmd,
                    pl.col("classification").fill_null("(none stated)"),
                )
            )
            .otherwise(pl.col("detail"))
        )
    )
