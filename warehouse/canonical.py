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

from tradewh.sources.contract import RELEASE_SCOPES, Source
from tradewh.sources.registry import SOURCES
from tradewh.warehouse.crosswalk import map_codes
from tradewh.warehouse.products import with_product_columns
from tradewh.warehouse.schema import (
    CANONICAL_DUPLICATES,
    CANONICAL_OBSERVATIONS,
    CANONICAL_QUARANTINE,
    META_ENTITY_VALIDITY,
    META_SOURCE_FILES,
    OBSERVATION_KEY,
)
from tradewh.warehouse.tables import polars_schema

# one dtype per canonical column, whatever source made it (Categorical text from the raw frames stays so)
OBSERVATION_DTYPES = {c: t for c, t in polars_schema(CANONICAL_OBSERVATIONS).items() if t not in (pl.String,)}


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


def candidates(source: Source, raw: pl.DataFrame, crosswalk: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A source's raw rows (with raw_id) -> (candidate observations in canonical columns, quarantine).

    The source's crosswalk maps its names or codes (crosswalk.map_codes, which raises
    UnmappedNamesError), then the source's own `to_canonical` gives every row its canonical
    columns, or a quarantine reason.
    """
    mapped = with_product_columns(source.to_canonical(map_codes(raw, crosswalk, source)))
    quarantine = (
        mapped.filter(pl.col("reason").is_not_null())
        .select(CANONICAL_QUARANTINE.column_names)
        .cast({"source_sheet": pl.String, "source_cell": pl.String, "detail": pl.String})
    )
    loadable = (
        mapped.filter(pl.col("reason").is_null())
        # which release replaced a value is known only once every release is loaded (release_chain.sql)
        .with_columns(superseded_by=pl.lit(None, pl.Date), previous_vintage=pl.lit(None, pl.Date))
        .select(CANONICAL_OBSERVATIONS.column_names)
        .cast(OBSERVATION_DTYPES)
    )
    candidates_frame, quarantine = pl.collect_all([loadable, quarantine])  # the code lookups run once for both
    return candidates_frame, quarantine


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
    validity = (
        crosswalk.select("code", "entity_type", "valid_from", "valid_to")
        .unique(subset="code")
        .filter(pl.col("valid_from").is_not_null() | pl.col("valid_to").is_not_null())
        .lazy()
    )
    observations = observations.lazy()
    parts = []
    for role in ("reporter", "partner"):
        parts.append(
            observations.select("source", "vintage", "year", code=pl.col(f"{role}_iso3"))
            .join(validity, on="code")
            .filter((pl.col("year") > pl.col("valid_to").dt.year()) | (pl.col("year") < pl.col("valid_from").dt.year()))
            .group_by("source", "vintage", "code", "entity_type", "valid_from", "valid_to")
            .agg(
                first_year=pl.col("year").min(),
                last_year=pl.col("year").max(),
                observations=pl.len().cast(pl.Int64),
            )
            .with_columns(role=pl.lit(role))
        )
    return (
        pl.concat(parts).select(META_ENTITY_VALIDITY.column_names).sort("source", "vintage", "code", "role").collect()
    )


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Frames of several sources as one, each cast to the largest frame's dtypes (a text column may
    be Categorical in one source's rows and String in another's): the big frame is not copied."""
    target = max(frames, key=lambda f: f.height).schema
    return pl.concat([f if f.schema == target else f.cast(dict(target)) for f in frames])


def totals_by_source(source_files: pl.DataFrame) -> dict[str, dict]:
    """META_SOURCE_FILES rows -> {source: unit (ref.sources), files, file_versions, vintages, raw_rows,
    observations, duplicates, quarantined, and raw/loaded/duplicate/quarantined_value_total in the
    source's unit, each the exact sum (math.fsum, so in any order) of its files' sums}.
    The load summary of a canonicalise call and of a written warehouse (db.warehouse_summary) alike."""
    from math import fsum

    from tradewh.sources.registry import BY_NAME

    out = {}
    for (name,), part in source_files.group_by("source", maintain_order=True):
        source = BY_NAME.get(name)
        out[name] = {
            "unit": source.info.unit if source else None,
            "files": part["source_file"].n_unique(),
            "file_versions": part.height,
            "vintages": sorted({str(v) for v in part["vintage"]}),
            **{k: int(part[k].sum()) for k in ("observations", "duplicates", "quarantined")},
            "raw_rows": int(part["raw_cells"].sum()),
            **{
                f"{k}_value_total": fsum(part[f"{k}_value"].fill_null(0.0))
                for k in ("raw", "loaded", "duplicate", "quarantined")
            },
        }
    return out


def canonicalise(raws: dict[str, pl.DataFrame], crosswalk: pl.DataFrame) -> CanonicalResult:
    """Every source's raw rows ({source name: its raw table's columns with raw_id}, raw_ids unique
    across sources) -> CanonicalResult, sources in registry order.

    Raises UnmappedNamesError, DuplicateConflictError, or AssertionError if the counts do not add up
    (a bug, never expected).
    """
    sources = [s for s in SOURCES if s.name in raws]
    parts = [candidates(s, raws[s.name], crosswalk) for s in sources]
    all_candidates = _concat([c for c, _ in parts])
    quarantine = _concat([q for _, q in parts])
    duplicates = deduplicate(all_candidates)
    loaded = ~pl.col("raw_id").is_in(duplicates["raw_id"].implode())
    stats = all_candidates.select(
        observations=loaded.sum(),
        estimated=(loaded & pl.col("is_estimated")).sum(),
        negative=(loaded & pl.col("is_negative")).sum(),
        vintages=pl.col("vintage").filter(loaded).unique().sort().implode(),
    ).row(0, named=True)
    raw_rows = sum(r.height for r in raws.values())
    counts = {
        "raw_cells": raw_rows,
        "observations": int(stats["observations"]),
        "duplicates": duplicates.height,
        "quarantined": quarantine.height,
    }
    if counts["raw_cells"] != counts["observations"] + counts["duplicates"] + counts["quarantined"]:
        raise AssertionError(f"reconciliation failed: {counts}")
    # Where each raw row went, from the two small lists (a row in neither is an observation).
    outcome = pl.concat(
        [
            duplicates.select("raw_id", status=pl.lit("duplicates")),
            quarantine.select("raw_id", status=pl.lit("quarantined")),
        ]
    )
    files = []
    for s in sources:
        rows = (
            raws[s.name]
            .select(
                "raw_id",
                "source_file",
                "file_sha256",
                "vintage",
                # the reporter's name as published, else its code (an API answer names no one)
                reporter_name=pl.coalesce(
                    pl.col(s.reporter_label or s.code_columns[0]).cast(pl.String),
                    pl.col(s.code_columns[0]).cast(pl.String),
                ),
                value=pl.col(s.value_column),
            )
            .join(outcome, on="raw_id", how="left")
            .with_columns(pl.col("status").fill_null("observations"))
        )
        per_file = (
            rows.group_by("source_file", "file_sha256", "vintage")
            .agg(
                # a file of one reporter names it; a file of several says how many
                reporter_name=pl.when(pl.col("reporter_name").n_unique() == 1)
                .then(pl.col("reporter_name").first())
                .otherwise(pl.format("{} reporters", pl.col("reporter_name").n_unique())),
                raw_cells=pl.len().cast(pl.Int64),
                **{
                    k: (pl.col("status") == k).sum().cast(pl.Int64)
                    for k in ("observations", "duplicates", "quarantined")
                },
                raw_value=pl.col("value").sum().cast(pl.Float64),
                **{
                    f"{k}_value": pl.col("value").filter(pl.col("status") == status).sum().cast(pl.Float64)
                    for k, status in (
                        ("loaded", "observations"),
                        ("duplicate", "duplicates"),
                        ("quarantined", "quarantined"),
                    )
                },
            )
            .with_columns(
                source=pl.lit(s.name),
                source_file=pl.col("source_file").cast(pl.String),
                file_sha256=pl.col("file_sha256").cast(pl.String),
            )
            .sort("source_file", "file_sha256")
        )
        scopes = [s.release_scope_of(f) for f in per_file["source_file"]]
        if bad := sorted({x for x in scopes if x not in RELEASE_SCOPES}):
            raise ValueError(f"source {s.name}: release scope {bad} is not one of {RELEASE_SCOPES}")
        files.append(
            per_file.with_columns(release_scope=pl.Series(scopes, dtype=pl.String)).select(
                META_SOURCE_FILES.column_names
            )
        )
    source_files = pl.concat(files)
    by_source = totals_by_source(source_files)
    validity = entity_validity_report(loaded_observations(all_candidates, duplicates), crosswalk)
    summary = {
        **counts,
        "files": source_files.height,
        "vintages": [str(v) for v in stats["vintages"]],
        "duplicates_by_scope": dict(duplicates.group_by("scope").len().iter_rows()),
        "quarantined_by_reason": dict(quarantine.group_by("reason").len().iter_rows()),
        "estimated": int(stats["estimated"]),
        "negative": int(stats["negative"]),
        "entities_outside_validity": validity.height,
        "by_source": by_source,
    }
    return CanonicalResult(all_candidates, duplicates, quarantine, source_files, validity, summary)
