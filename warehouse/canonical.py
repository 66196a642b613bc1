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
from functools import reduce

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
    """What the canonical step produced. The observations are `candidates` without the rows listed
    in `duplicates`; they are kept that way, not copied (a 2.6 M-row copy costs ~0.5 GB at peak):
    the build writes them with an anti-join, and `observations` materialises them on request."""

    candidates: pl.DataFrame
    duplicates: pl.DataFrame
    quarantine: pl.DataFrame
    source_files: pl.DataFrame
    entity_validity: pl.DataFrame
    summary: dict = field(default_factory=dict)

    @property
    def observations_lazy(self) -> pl.LazyFrame:
        """The loaded observations (CANONICAL_OBSERVATIONS columns), lazily."""
        return loaded_observations(self.candidates, self.duplicates)

    @property
    def observations(self) -> pl.DataFrame:
        """The loaded observations, unique on OBSERVATION_KEY (a materialised copy)."""
        return self.observations_lazy.collect()


def loaded_observations(candidates: pl.DataFrame, duplicates: pl.DataFrame) -> pl.LazyFrame:
    """The candidates without the exact duplicates: the observations, lazily (no copy until collected)."""
    return candidates.lazy().join(duplicates.lazy().select("raw_id"), on="raw_id", how="anti")


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
    )
    candidates, quarantine = pl.collect_all([candidates, quarantine])  # the name joins run once for both
    return candidates, quarantine


def deduplicate(candidates: pl.DataFrame) -> pl.DataFrame:
    """Candidates -> the exact duplicates not loaded (CANONICAL_DUPLICATES columns); the observations
    are the candidates without them, unique on OBSERVATION_KEY.

    The copy with the lowest raw_id is kept. Raises DuplicateConflictError if any key has copies
    that differ in value (beyond SAME_VALUE_SIG_DIGITS significant digits) or estimate flag.
    """
    key = list(OBSERVATION_KEY)
    # Only the rows whose key hash repeats (about 1 % of them) go through the exact per-key comparison
    # (a hash collision only adds rows to that comparison, it never merges two keys). Column hashes
    # combined by hand: hashing the struct of the key materialises it (+0.5 GB on the bundled data).
    key_hash = reduce(lambda h, k: (h * 1_000_003) ^ pl.col(k).hash(), key[1:], pl.col(key[0]).hash())
    repeated = candidates.select(key_hash.is_duplicated()).to_series()
    grouped = candidates.filter(repeated).with_columns(
        n_versions=pl.struct(pl.col("original_value").round_sig_figs(SAME_VALUE_SIG_DIGITS), "is_estimated")
        .n_unique()
        .over(key),
        kept_raw_id=pl.col("raw_id").min().over(key),
    )
    conflicts = grouped.filter(pl.col("n_versions") > 1).sort(*key, "raw_id")
    if conflicts.height:
        raise DuplicateConflictError(conflicts)
    dups = grouped.filter(pl.col("raw_id") != pl.col("kept_raw_id"))
    kept = grouped.filter(pl.col("raw_id") == pl.col("kept_raw_id")).select(
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
    return duplicates


def entity_validity_report(observations: pl.LazyFrame | pl.DataFrame, crosswalk: pl.DataFrame) -> pl.DataFrame:
    """Observations whose reporter or partner lies outside the entity's validity years, grouped
    per source x vintage x role x code (META_ENTITY_VALIDITY columns)."""
    validity = crosswalk.select(
        "code", "entity_type", "valid_from", "valid_to"
    ).unique(subset="code").filter(pl.col("valid_from").is_not_null() | pl.col("valid_to").is_not_null()).lazy()
    observations = observations.lazy()
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
    return pl.concat(parts).select(META_ENTITY_VALIDITY.column_names).sort("source", "vintage", "code", "role").collect()


def canonicalise(raw: pl.DataFrame, crosswalk: pl.DataFrame) -> CanonicalResult:
    """Raw DOTS cells (RAW_IMF_DOTS_CELLS columns, raw_id unique) -> CanonicalResult.

    Raises UnmappedNamesError, DuplicateConflictError, or AssertionError if the counts do not add up
    (a bug, never expected).
    """
    candidates, quarantine = imf_dots_candidates(raw, crosswalk)
    duplicates = deduplicate(candidates)
    loaded = ~pl.col("raw_id").is_in(duplicates["raw_id"].implode())
    stats = candidates.select(
        observations=loaded.sum(),
        estimated=(loaded & pl.col("is_estimated")).sum(),
        negative=(loaded & pl.col("is_negative")).sum(),
        loaded_value=pl.col("original_value").filter(loaded).sum(),
        vintages=pl.col("vintage").filter(loaded).unique().sort().implode(),
    ).row(0, named=True)
    counts = {
        "raw_cells": raw.height,
        "observations": int(stats["observations"]),
        "duplicates": duplicates.height,
        "quarantined": quarantine.height,
    }
    if counts["raw_cells"] != counts["observations"] + counts["duplicates"] + counts["quarantined"]:
        raise AssertionError(f"reconciliation failed: {counts}")
    # Where each raw cell went, from the two small lists (a cell in neither is an observation).
    outcome = pl.concat(
        [
            duplicates.select("raw_id", status=pl.lit("duplicates")),
            quarantine.select("raw_id", status=pl.lit("quarantined")),
        ]
    )
    cells = raw.select("raw_id", "source_file", "file_sha256", "vintage", "reporter_name", "value").join(
        outcome, on="raw_id", how="left"
    ).with_columns(pl.col("status").fill_null("observations"))
    source_files = (
        cells.group_by("source_file", "file_sha256", "vintage", "reporter_name")
        .agg(
            raw_cells=pl.len().cast(pl.Int64),
            **{k: (pl.col("status") == k).sum().cast(pl.Int64) for k in ("observations", "duplicates", "quarantined")},
        )
        .with_columns(source=pl.lit(imf_dots.SOURCE))
        .select(META_SOURCE_FILES.column_names)
        .sort("source_file", "file_sha256")
    )
    value_by_status = dict(cells.group_by("status").agg(pl.col("value").sum()).iter_rows())
    validity = entity_validity_report(loaded_observations(candidates, duplicates), crosswalk)
    raw_value = raw["value"].sum()
    summary = {
        **counts,
        "files": source_files.height,
        "vintages": [str(v) for v in stats["vintages"]],
        "duplicates_by_scope": dict(duplicates.group_by("scope").len().iter_rows()),
        "quarantined_by_reason": dict(quarantine.group_by("reason").len().iter_rows()),
        "estimated": int(stats["estimated"]),
        "negative": int(stats["negative"]),
        "raw_value_total_musd": raw_value,
        "loaded_value_total_musd": stats["loaded_value"],
        "duplicate_value_total_musd": value_by_status.get("duplicates", 0.0),
        "quarantined_value_total_musd": value_by_status.get("quarantined", 0.0),
        "entities_outside_validity": validity.height,
    }
    return CanonicalResult(candidates, duplicates, quarantine, source_files, validity, summary)
