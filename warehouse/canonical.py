"""Raw cells -> canonical observations, with the load policies for what real files contain.

Policies (each tested on real rows in tests/test_canonical.py):
- exact duplicates (same observation key, same value, same estimate flag), inside one workbook or
  across files: loaded once, the others listed in `duplicates` and counted. "Same value" means equal
  to SAME_VALUE_SIG_DIGITS significant digits: a workbook re-saved by another program changes the
  last bit of some doubles (20.900000000000006 -> 20.90000000000001), which is not a revision;
- the same key with different values: the load stops (DuplicateConflictError lists the keys);
- negative published values: loaded as published, `is_negative` set;
- estimates published as text ("14.43 e"): value kept, `is_estimated` set;
- empty cells: never reach this module (no observation; empty is not zero);
- a cell whose text is not a number (or an Excel error / uncached formula), a value in a row without
  a partner name, or a value too large to be finite in US dollars: quarantined with its reason,
  never dropped;
- a name the crosswalk lacks: the load stops (crosswalk.UnmappedNamesError lists the names);
- a historical entity outside its validity dates: loaded under its own code and reported.

Invariant checked on every run: raw cells = observations + duplicates + quarantined.
"""

from dataclasses import dataclass, field

import polars as pl

from sources import imf_dots
from warehouse.crosswalk import map_names
from warehouse.schema import (
    CANONICAL_DUPLICATES,
    CANONICAL_OBSERVATIONS,
    CANONICAL_QUARANTINE,
    META_ENTITY_VALIDITY,
    META_SOURCE_FILES,
    OBSERVATION_KEY,
)


SAME_VALUE_SIG_DIGITS = 12


class DuplicateConflictError(ValueError):
    """The same observation key carries different values; `conflicts` lists every copy."""

    def __init__(self, conflicts: pl.DataFrame, limit: int = 20):
        self.conflicts = conflicts
        keys = conflicts.select(OBSERVATION_KEY).unique(maintain_order=True)
        lines = []
        for key in keys.head(limit).iter_rows(named=True):
            copies = conflicts.filter(pl.all_horizontal(pl.col(k) == v for k, v in key.items()))
            shown = ", ".join(
                f"{r['source_file']}!{r['source_sheet']}!{r['source_cell']}={r['original_value']}{' e' if r['is_estimated'] else ''}"
                for r in copies.iter_rows(named=True)
            )
            lines.append("  " + " ".join(f"{k}={v}" for k, v in key.items()) + f": {shown}")
        more = f"\n  ... and {keys.height - limit} more keys" if keys.height > limit else ""
        super().__init__(
            f"{keys.height} observation key(s) published with different values; nothing was loaded:\n"
            + "\n".join(lines)
            + more
        )


@dataclass
class CanonicalResult:
    observations: pl.DataFrame
    duplicates: pl.DataFrame
    quarantine: pl.DataFrame
    source_files: pl.DataFrame
    entity_validity: pl.DataFrame
    summary: dict = field(default_factory=dict)


def imf_dots_candidates(raw: pl.DataFrame, crosswalk: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Raw DOTS cells (with raw_id) -> (candidate observations in canonical columns, quarantine).

    Values are converted from US$ millions to US dollars (x 1e6). Raises UnmappedNamesError.
    """
    mapped = map_names(raw, crosswalk, source=imf_dots.SOURCE)
    lineage = dict(source_sheet=pl.col("sheet"), source_cell=pl.col("cell"))
    reason = (
        pl.when(pl.col("parse_error").is_not_null())
        .then(pl.lit("unparseable_value"))
        .when(pl.col("partner_name").is_null())
        .then(pl.lit("missing_partner"))
        .when(~(pl.col("value") * imf_dots.UNIT_MULTIPLIER).is_finite())
        .then(pl.lit("non_finite_value"))
    )
    flagged = mapped.with_columns(reason=reason)
    quarantine = (
        flagged.filter(pl.col("reason").is_not_null())
        .with_columns(
            detail=pl.when(pl.col("reason") == "unparseable_value")
            .then(pl.col("parse_error"))
            .when(pl.col("reason") == "missing_partner")
            .then(pl.format("value {} in row {} has no partner name in column B", pl.col("cell_text"), pl.col("excel_row")))
            .otherwise(pl.format("value {} (US$ millions) is not finite in US dollars", pl.col("cell_text"))),
            **lineage,
        )
        .select(CANONICAL_QUARANTINE.column_names)
        .collect()
    )
    candidates = (
        flagged.filter(pl.col("reason").is_null())
        .with_columns(
            source=pl.lit(imf_dots.SOURCE),
            freq=pl.lit("A"),
            period=pl.col("year").cast(pl.String),
            month=pl.lit(None, dtype=pl.Int8),
            cmd_code=pl.lit("TOTAL"),
            # to the cent: millions x 1e6 in binary floats leaves noise below it (1045.330002 -> 1045330001.9999999)
            value_usd=(pl.col("value") * imf_dots.UNIT_MULTIPLIER).round(2),
            original_value=pl.col("value"),
            original_unit=pl.col("unit"),
            original_currency=pl.lit("USD"),
            usd_per_unit=pl.lit(1.0),
            usd_rate_source=pl.lit(None, dtype=pl.String),
            is_negative=pl.col("value") < 0,
            **lineage,
        )
        .select(CANONICAL_OBSERVATIONS.column_names)
        .collect()
    )
    return candidates, quarantine


def deduplicate(candidates: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Candidates -> (observations unique on OBSERVATION_KEY, exact duplicates not loaded).

    The copy with the lowest raw_id is kept. Raises DuplicateConflictError if any key has copies
    that differ in value (beyond SAME_VALUE_SIG_DIGITS significant digits) or estimate flag.
    """
    key = list(OBSERVATION_KEY)
    grouped = candidates.with_columns(
        n_versions=pl.struct(pl.col("original_value").round_sig_figs(SAME_VALUE_SIG_DIGITS), "is_estimated")
        .n_unique()
        .over(key),
        kept_raw_id=pl.col("raw_id").min().over(key),
    )
    conflicts = grouped.filter(pl.col("n_versions") > 1).sort(*key, "raw_id")
    if conflicts.height:
        raise DuplicateConflictError(conflicts)
    observations = grouped.filter(pl.col("raw_id") == pl.col("kept_raw_id")).select(CANONICAL_OBSERVATIONS.column_names)
    dups = grouped.filter(pl.col("raw_id") != pl.col("kept_raw_id"))
    kept = observations.select(
        kept_raw_id="raw_id", kept_source_file="source_file", kept_source_cell="source_cell"
    )
    duplicates = (
        dups.select("raw_id", "kept_raw_id", "source_file", "source_sheet", "source_cell")
        .join(kept, on="kept_raw_id", how="left")
        .with_columns(
            scope=pl.when(pl.col("source_file") == pl.col("kept_source_file"))
            .then(pl.lit("same_file"))
            .otherwise(pl.lit("other_file"))
        )
        .select(CANONICAL_DUPLICATES.column_names)
    )
    return observations, duplicates


def entity_validity_report(observations: pl.DataFrame, crosswalk: pl.DataFrame) -> pl.DataFrame:
    """Observations whose reporter or partner lies outside the entity's validity years, grouped
    per source x vintage x role x code (META_ENTITY_VALIDITY columns)."""
    validity = crosswalk.select(
        "code", "entity_type", "valid_from", "valid_to"
    ).unique(subset="code").filter(pl.col("valid_from").is_not_null() | pl.col("valid_to").is_not_null())
    parts = []
    for role in ("reporter", "partner"):
        parts.append(
            observations.select("source", "vintage", "year", code=pl.col(f"{role}_iso3"))
            .join(validity, on="code")
            .filter(
                (pl.col("year") > pl.col("valid_to").dt.year()) | (pl.col("year") < pl.col("valid_from").dt.year())
            )
            .group_by("source", "vintage", "code", "entity_type", "valid_from", "valid_to")
            .agg(
                first_year=pl.col("year").min(),
                last_year=pl.col("year").max(),
                observations=pl.len().cast(pl.Int64),
            )
            .with_columns(role=pl.lit(role))
        )
    return pl.concat(parts).select(META_ENTITY_VALIDITY.column_names).sort("source", "vintage", "code", "role")


def canonicalise(raw: pl.DataFrame, crosswalk: pl.DataFrame) -> CanonicalResult:
    """Raw DOTS cells (RAW_IMF_DOTS_CELLS columns, raw_id unique) -> CanonicalResult.

    Raises UnmappedNamesError, DuplicateConflictError, or AssertionError if the counts do not add up
    (a bug, never expected).
    """
    candidates, quarantine = imf_dots_candidates(raw, crosswalk)
    observations, duplicates = deduplicate(candidates)
    counts = {
        "raw_cells": raw.height,
        "observations": observations.height,
        "duplicates": duplicates.height,
        "quarantined": quarantine.height,
    }
    if counts["raw_cells"] != counts["observations"] + counts["duplicates"] + counts["quarantined"]:
        raise AssertionError(f"reconciliation failed: {counts}")
    per_file = raw.group_by("source_file", "file_sha256", "vintage", "reporter_name").agg(
        raw_cells=pl.len().cast(pl.Int64), raw_ids=pl.col("raw_id")
    )

    def count_in(frame: pl.DataFrame, name: str) -> pl.DataFrame:
        return frame.join(raw.select("raw_id", "file_sha256"), on="raw_id").group_by("file_sha256").agg(
            pl.len().cast(pl.Int64).alias(name)
        )

    source_files = (
        per_file.drop("raw_ids")
        .join(count_in(observations, "observations"), on="file_sha256", how="left")
        .join(count_in(duplicates, "duplicates"), on="file_sha256", how="left")
        .join(count_in(quarantine, "quarantined"), on="file_sha256", how="left")
        .with_columns(pl.col("observations", "duplicates", "quarantined").fill_null(0), source=pl.lit(imf_dots.SOURCE))
        .select(META_SOURCE_FILES.column_names)
        .sort("source_file", "file_sha256")
    )
    validity = entity_validity_report(observations, crosswalk)
    raw_value = raw["value"].sum()
    summary = {
        **counts,
        "files": source_files.height,
        "vintages": sorted(str(v) for v in observations["vintage"].unique().to_list()),
        "duplicates_by_scope": dict(duplicates.group_by("scope").len().iter_rows()),
        "quarantined_by_reason": dict(quarantine.group_by("reason").len().iter_rows()),
        "estimated": int(observations["is_estimated"].sum()),
        "negative": int(observations["is_negative"].sum()),
        "raw_value_total_musd": raw_value,
        "loaded_value_total_musd": observations["original_value"].sum(),
        "duplicate_value_total_musd": _value_of(raw, duplicates),
        "quarantined_value_total_musd": _value_of(raw, quarantine),
        "entities_outside_validity": validity.height,
    }
    return CanonicalResult(observations, duplicates, quarantine, source_files, validity, summary)


def _value_of(raw: pl.DataFrame, subset: pl.DataFrame) -> float:
    """Sum of the raw values (US$ millions) of the raw cells listed in `subset` (by raw_id)."""
    return raw.filter(pl.col("raw_id").is_in(subset["raw_id"].implode()))["value"].sum()
