"""One source of truth for the warehouse's tables: columns, DuckDB types and descriptions.

DDL (with COMMENT ON for every table and column, so the descriptions live in the DuckDB file too)
is generated from TABLES; the Dagster assets take their column schemas from here as well.
"""

from dataclasses import dataclass

from tradewh.sources.registry import SOURCES
from tradewh.warehouse.products import CLASSIFICATIONS, PRODUCT_LEVELS
from tradewh.warehouse.rules import CIF_FOB_FACTOR
from tradewh.warehouse.tables import USD, Column, Table, sql_literal


@dataclass(frozen=True)
class EnumType:
    """A DuckDB ENUM type shared by the columns that hold one small set of values (codes, names, file
    names). Each build creates it with its `fixed` values (a vocabulary) plus the values present in
    the data it loads, so it never refuses a value the load accepted (the checks judge those). Stored
    as a small integer, it makes the big tables about three times faster to write than VARCHAR, and it reads like text:
    `reporter_iso3 = 'RUS'`, LIKE, joins with VARCHAR columns and output all work as for strings."""

    name: str
    description: str
    fixed: tuple[str, ...] = ()


ENUM_TYPES = {
    t.name: t
    for t in (
        EnumType("source_code", "Data sources (values: the sources loaded)."),
        EnumType("entity_code", "Reporter/partner codes: every code of ref.crosswalk."),
        EnumType(
            "entity_type", "Entity types: country, historical, world, group, not_specified (values: ref.crosswalk)."
        ),
        EnumType("file_name", "Input file names (values: the files in this build)."),
        EnumType("sheet_name", "Worksheet names (values: the sheets read)."),
        EnumType("published_name", "Reporter/partner names as published (values: the names read)."),
        EnumType("unit_name", "Units as published, normalised (values: the units read)."),
        EnumType("currency_code", "ISO 4217 currency codes (values: pycountry's list, plus any loaded)."),
        EnumType(
            "flow_code",
            "Flows: X, M, RX, RM (plus any other value loaded, which a blocking check refuses).",
            ("X", "M", "RX", "RM"),
        ),
        EnumType(
            "valuation_code",
            "Valuations: FOB, CIF (plus any other value loaded, which a blocking check refuses).",
            ("FOB", "CIF"),
        ),
        EnumType(
            "freq_code",
            "Frequencies: A, Q, M (plus any other value loaded, which a blocking check refuses).",
            ("A", "Q", "M"),
        ),
        EnumType(
            "period_code",
            "Periods (values: the periods loaded, and every annual, quarterly and monthly period from the first one's "
            "year through next year; a blocking check validates the periods of the rows).",
        ),
        EnumType("product_code", "cmd_code values: TOTAL and HS codes (values: the codes loaded)."),
        EnumType(
            "classification_code",
            "HS revisions: H0-H6 (HS 1992-HS 2022), HS as reported (warehouse/products.py).",
            tuple(CLASSIFICATIONS),
        ),
        EnumType("product_level", "Levels of cmd_code: TOTAL, HS2, HS4, HS6.", tuple(PRODUCT_LEVELS)),
        EnumType(
            "rate_source",
            "How a value was converted to US dollars: the rate's source, method and days (values: those loaded).",
        ),
    )
}


C = Column

LINEAGE = (
    C("source_file", "file_name", "Input file name as received (e.g. DOTS_94.xlsx).", False),
    C("source_sheet", "sheet_name", "Worksheet name of a workbook (e.g. 'Exports, FOB'); NULL for CSV and JSON files."),
    C(
        "source_cell",
        "VARCHAR",
        "Where the value is in its file: the cell as a user sees it in Excel (e.g. BK103), "
        "or the line and column of a CSV file (e.g. 'line 12, column 2021'), or the record of a JSON answer.",
        False,
    ),
)

# raw tables by source, each declared in its source's folder: a view over that source's raw-store
# files listed in meta.raw_files
RAW_VIEWS = {s.name: s.raw_table for s in SOURCES}

OBSERVATION_KEY = (
    "source", "vintage", "reporter_iso3", "partner_iso3", "flow", "freq", "period", "cmd_code", "classification"
)  # fmt: skip

CANONICAL_OBSERVATIONS = Table(
    "canonical",
    "observations",
    "Bilateral merchandise trade observations from every source and release, one long table. Grain: "
    "source x vintage x reporter x partner x flow x freq x period x cmd_code x classification (unique). A "
    "product's value is part of its HS chapter's: sum within one product_level only (docs/products.md). Unit: US dollars "
    "(value_usd); the original value and unit are kept. Every release ingested is kept: filter on vintage "
    "or use canonical.observations_latest / canonical.observations_asof(date), which keep the values no newer release replaced (superseded_by).",
    (
        C("source", "source_code", "Data source (ref.sources): imf_dots, imf_imts, comtrade, ...", False),
        C("vintage", "DATE", "Release of the source the value comes from (docs/releases.md).", False),
        C(
            "reporter_iso3",
            "entity_code",
            "Reporter: ISO 3166-1 alpha-3, ISO 3166-3 for former countries, W00 World, X.. and Q.. user-assigned codes for the rest (ref.entities).",
            False,
        ),
        C(
            "reporter_type",
            "entity_type",
            "Reporter entity type: country, historical, world, group, not_specified.",
            False,
        ),
        C("partner_iso3", "entity_code", "Partner code, same code list as reporter_iso3.", False),
        C(
            "partner_type",
            "entity_type",
            "Partner entity type: country, historical, world, group, not_specified.",
            False,
        ),
        C(
            "flow",
            "flow_code",
            "X export, M import (RX re-export, RM re-import reserved for sources that have them).",
            False,
        ),
        C("valuation", "valuation_code", "FOB (exports) or CIF (imports), as the reporter valued them.", False),
        C("freq", "freq_code", "A annual, Q quarterly, M monthly.", False),
        C("period", "period_code", "YYYY for annual, YYYYQn quarterly, YYYYMM monthly.", False),
        C("year", "SMALLINT", "Calendar year of the period.", False),
        C("month", "TINYINT", "Month 1-12 for monthly periods, NULL otherwise."),
        C("cmd_code", "product_code", "Product: TOTAL for all products; HS codes as text (leading zeros kept).", False),
        C(
            "classification",
            "classification_code",
            "HS revision of cmd_code: H0-H6 (HS 1992-HS 2022) as the file states it, HS as reported; always HS for TOTAL.",
            False,
        ),
        C(
            "product_level",
            "product_level",
            "Level of cmd_code: TOTAL, HS2 (chapter), HS4 (heading), HS6 (subheading).",
            False,
        ),
        C(
            "value_usd",
            USD,
            "Value in US dollars (not millions), in whole cents, exact (sums are exact too); original_value is as published.",
            False,
        ),
        C("original_value", "DOUBLE", "Value as published, in original_unit.", False),
        C("original_unit", "unit_name", "Unit as published, e.g. 'USD millions'.", False),
        C("original_currency", "currency_code", "Currency as published (ISO 4217), e.g. USD.", False),
        C("usd_per_unit", "DOUBLE", "Exchange rate used to convert to US dollars (1 for USD sources)."),
        C(
            "usd_rate_source",
            "rate_source",
            "Where the exchange rate comes from, its method and the days it averages "
            "(docs/sources.md, 'Currency'); NULL when no conversion was needed.",
        ),
        C("is_estimated", "BOOLEAN", "Published as an estimate by the source (IMF ' e' marker).", False),
        C("is_negative", "BOOLEAN", "Published value is negative (loaded as published, flagged).", False),
        C(
            "derivation",
            "VARCHAR",
            "NULL when the value is the reporter's own report as the source publishes it; else "
            "what the value is instead, e.g. 'imf_figures_for_reporter' (the IMF's figures for a reporter that stopped "
            "publishing partner detail, as for Russia from 2022; docs/sources.md).",
        ),
        C(
            "superseded_by",
            "DATE",
            "The release (vintage) of the same source that replaced this value: the next "
            "release that covers it (its reporter, flow and period for a release of scope 'reporter', this very "
            "observation for scope 'observation': meta.source_files.release_scope, docs/releases.md). NULL while no "
            "newer release covers it: canonical.observations_latest is the rows where it is NULL.",
        ),
        C(
            "previous_vintage",
            "DATE",
            "The release before this one that covered the same observation (same rule); "
            "NULL for a value first published in this release: canonical.observations_first is the rows where it is NULL.",
        ),
        C(
            "raw_id",
            "BIGINT",
            "Lineage: raw_id of the row this one was loaded from in its source's raw table "
            "(raw.<source>_..., see meta.raw_files); unique across sources.",
            False,
        ),
        *LINEAGE,
    ),
)

CANONICAL_DUPLICATES = Table(
    "canonical",
    "duplicates",
    "Raw cells not loaded because they repeat an observation exactly (same key, same value, same estimate "
    "flag): inside one workbook (e.g. the Australia row printed twice in every DOTS sheet) or across files "
    "(e.g. two downloads of Nicaragua). Grain: one raw cell.",
    (
        C("raw_id", "BIGINT", "The raw cell not loaded.", False),
        C("kept_raw_id", "BIGINT", "The raw cell loaded instead (canonical.observations.raw_id).", False),
        C("scope", "VARCHAR", "same_file or other_file: where the kept copy is.", False),
        *LINEAGE,
        C("kept_source_file", "file_name", "File of the kept copy.", False),
        C("kept_source_cell", "VARCHAR", "Cell of the kept copy.", False),
    ),
)

CANONICAL_QUARANTINE = Table(
    "canonical",
    "quarantine",
    "Raw cells that could not become observations, each with its reason. Grain: one raw cell.",
    (
        C("raw_id", "BIGINT", "The raw cell.", False),
        *LINEAGE,
        C(
            "reason",
            "VARCHAR",
            "unparseable_value (text that is not a number, Excel error cell, uncached formula), "
            "missing_partner, non_finite_value, or a Comtrade record that is not a bilateral total of goods: "
            "breakdown_not_total (partner2, transport mode or customs procedure), product_not_total (named by "
            "cmdDesc alone), invalid_flow, invalid_period; invalid_cmd_code, unknown_classification (a product the "
            "warehouse cannot place, warehouse/products.py); export_part_missing (SingStat domestic exports without their re-exports), "
            "no_exchange_rate (a month the ECB rates do not cover).",
            False,
        ),
        C("detail", "VARCHAR", "What was found, e.g. the text that did not parse.", False),
    ),
)

REF_CROSSWALK = Table(
    "ref",
    "crosswalk",
    "Source names -> canonical codes with entity type and validity dates (seed: warehouse/seeds/).",
    (
        C("source", "source_code", "Source whose names these are.", False),
        C("source_name", "VARCHAR", "Name exactly as published.", False),
        C("code", "entity_code", "Canonical code (reporter_iso3 / partner_iso3).", False),
        C("entity_type", "entity_type", "country, historical, world, group, not_specified.", False),
        C("valid_from", "DATE", "First day the entity existed, if known; NULL = open."),
        C("valid_to", "DATE", "Last day the entity existed (historical entities); NULL = still exists."),
        C("label", "VARCHAR", "Readable English name."),
        C(
            "method",
            "VARCHAR",
            "How the row was made: country_converter, pycountry, reference_list (Comtrade's own "
            "code lists; reference_list_iso3: keyed by ISO3, for records without a numeric code) or override.",
            False,
        ),
        C("note", "VARCHAR", "Breaks in series and why an override exists."),
    ),
)

REF_SOURCES = Table(
    "ref",
    "sources",
    "The sources this warehouse loads, as their folders declare them (sources/<name>/source.py). Grain: source.",
    (
        C("source", "source_code", "Source code used in every table.", False),
        C("title", "VARCHAR", "What the source is.", False),
        C("publisher", "VARCHAR", "Who publishes it.", False),
        C("unit", "VARCHAR", "Unit of the published values.", False),
        C("coverage", "VARCHAR", "Years and reporters of the bundled files.", False),
        C("releases", "VARCHAR", "How a file's release (vintage) is declared.", False),
        C(
            "release_scope",
            "VARCHAR",
            "What a newer release of the source replaces, unless its kind of file says otherwise "
            "(meta.source_files.release_scope, which the views follow): 'reporter' (every partner of a reporter, flow and "
            "period it publishes) or 'observation' (only the observations it contains).",
            False,
        ),
        C("licence", "VARCHAR", "Terms of use.", False),
        C("url", "VARCHAR", "Where it comes from.", False),
    ),
)

REF_ENTITIES = Table(
    "ref",
    "entities",
    "Every entity a source's crosswalk maps to, once: its code, type, English name and validity (the crosswalks "
    "agree on these, checked at load). Grain: entity code.",
    (
        C("code", "entity_code", "Entity code (reporter_iso3 / partner_iso3).", False),
        C("entity_type", "entity_type", "country, historical, world, group, not_specified.", False),
        C("label", "VARCHAR", "English name."),
        C("valid_from", "DATE", "First day the entity existed, if known; NULL = open."),
        C("valid_to", "DATE", "Last day the entity existed (historical entities); NULL = still exists."),
    ),
)

REF_ENTITY_ALIASES = Table(
    "ref",
    "entity_aliases",
    "Old codes and names people type for an entity, e.g. KSV or TMP, and the code this warehouse uses "
    "(seed: warehouse/seeds/entity_aliases.csv; names are also matched by country_converter). Grain: alias.",
    (
        C("alias", "VARCHAR", "Code or name as typed (matched case-insensitively, Unicode-normalised).", False),
        C("code", "VARCHAR", "Entity code it stands for.", False),
        C("note", "VARCHAR", "Why.", False),
    ),
)

REF_ENTITY_BREAKS = Table(
    "ref",
    "entity_breaks",
    "Breaks in the entities: splits, mergers and new codes that make an entity's figures of a year and the year "
    "before cover different territory (seed: warehouse/seeds/entity_breaks.csv). A growth figure of `year` over "
    "`year - 1` involving `code` is flagged (tradewh growth: entity_break). Grain: code x year.",
    (
        C("code", "VARCHAR", "Entity code affected.", False),
        C("year", "SMALLINT", "First year whose growth over the year before compares different territory.", False),
        C("kind", "VARCHAR", "split, merger or new_code.", False),
        C("related", "VARCHAR", "The other entities involved (codes, space-separated).", False),
        C("note", "VARCHAR", "What happened, with the date.", False),
    ),
)

META_ENTITY_VALIDITY = Table(
    "meta",
    "entity_validity_report",
    "Entities that appear in observations outside their validity dates (e.g. USSR as a partner after 1991). "
    "They are loaded under their own code, never folded into a successor. Grain: source x vintage x role x code.",
    (
        C("source", "source_code", "Source.", False),
        C("vintage", "DATE", "Release.", False),
        C("role", "VARCHAR", "reporter or partner.", False),
        C("code", "entity_code", "Entity code.", False),
        C("entity_type", "entity_type", "Entity type.", False),
        C("valid_from", "DATE", "Validity start (crosswalk)."),
        C("valid_to", "DATE", "Validity end (crosswalk)."),
        C("first_year", "SMALLINT", "First year observed outside validity.", False),
        C("last_year", "SMALLINT", "Last year observed outside validity.", False),
        C("observations", "BIGINT", "Observations outside validity.", False),
    ),
)

META_SOURCE_FILES = Table(
    "meta",
    "source_files",
    "Every input file version in the raw store, with its release and reconciliation counts. Grain: file version.",
    (
        C("source", "source_code", "Source.", False),
        C("source_file", "file_name", "File name as received.", False),
        # text, not an ENUM: a patched build adds the SHA-256 of a changed file (warehouse/patch.py)
        C("file_sha256", "VARCHAR", "SHA-256 of the file (64 hex digits).", False),
        C("vintage", "DATE", "Release.", False),
        C(
            "release_scope",
            "VARCHAR",
            "What this file's release replaces: 'reporter' (every partner of each reporter, "
            "flow and period the file publishes) or 'observation' (only the observations it contains); the source's "
            "scope (ref.sources) unless its kind of file answers less (docs/releases.md).",
            False,
        ),
        C(
            "reporter_name",
            "published_name",
            "Reporter as published in the file; for a file of several reporters, how many (e.g. '140 reporters').",
            False,
        ),
        C("raw_cells", "BIGINT", "Non-empty data cells read.", False),
        C("observations", "BIGINT", "Cells loaded as observations.", False),
        C("duplicates", "BIGINT", "Cells not loaded as exact duplicates.", False),
        C("quarantined", "BIGINT", "Cells quarantined.", False),
        C(
            "raw_value",
            "DOUBLE",
            "Sum of the values read, in the source's unit as published (ref.sources.unit).",
            False,
        ),
        C("loaded_value", "DOUBLE", "Sum of the values loaded as observations, same unit.", False),
        C("duplicate_value", "DOUBLE", "Sum of the values not loaded as exact duplicates, same unit.", False),
        C("quarantined_value", "DOUBLE", "Sum of the values quarantined (those that are numbers), same unit.", False),
    ),
)

META_RAW_FILES = Table(
    "meta",
    "raw_files",
    "The raw-store files this build read, in raw_id order: the raw views (raw.imf_dots_cells, ...) read them in place. "
    "Grain: one raw-store file (one input file version).",
    (
        C("source", "source_code", "Source.", False),
        C("file_index", "INTEGER", "Position of the file in the build's list, from 0.", False),
        C("path", "VARCHAR", "Absolute path of the Parquet file in the raw store (TRADEWH_HOME/raw/<source>/).", False),
        C("first_raw_id", "BIGINT", "raw_id of the file's first row; its rows follow in file order.", False),
        C("rows", "BIGINT", "Rows (raw cells) in the file.", False),
    ),
)

META_LOAD_RUNS = Table(
    "meta",
    "load_runs",
    "The build that produced this warehouse file, whole from the raw store or by patching the one before (warehouse/patch.py).",
    (
        C("run_id", "VARCHAR", "Dagster run id (or 'adhoc').", False),
        C("built_at", "TIMESTAMP", "When the candidate warehouse was built (UTC).", False),
        C("raw_cells", "BIGINT", "Raw cells in the raw store.", False),
        C("observations", "BIGINT", "Rows in canonical.observations.", False),
        C("duplicates", "BIGINT", "Rows in canonical.duplicates.", False),
        C("quarantined", "BIGINT", "Rows in canonical.quarantine.", False),
        C("summary_json", "VARCHAR", "Full run summary (counts by reason, reconciliation, vintages) as JSON.", False),
        C(
            "code_version",
            "VARCHAR",
            "sha256 of the code and reference data that built it (warehouse.state.code_version): "
            "a build with the same input files and code_version is skipped as a no-op.",
            False,
        ),
    ),
)

META_CHECK_RESULTS = Table(
    "meta",
    "check_results",
    "The validation checks (expectations/checks.py, Great Expectations) run on this warehouse before it was "
    "published: blocking checks passed, warnings counted. Grain: one check.",
    (
        C("check_name", "VARCHAR", "Stable check name.", False),
        C("asset", "VARCHAR", "Asset the check validates: raw or canonical.", False),
        C("blocking", "BOOLEAN", "True for structural checks that stop the run before publish.", False),
        C(
            "status",
            "VARCHAR",
            "passed, warning (non-blocking check found rows), failed (blocking), error (could not run).",
            False,
        ),
        C("checked_rows", "BIGINT", "Rows in the frame the check validated.", False),
        C("failing_rows", "BIGINT", "Rows that failed (for warnings: rows warned about).", False),
        C("seconds", "DOUBLE", "Time to build the frame and run the suite.", False),
        C("examples_json", "VARCHAR", "Up to 5 failing rows (keys and values) as JSON.", False),
        C("error", "VARCHAR", "Why the check could not run (GX exception), NULL when it ran."),
        C("description", "VARCHAR", "What the check tests, its threshold and why.", False),
    ),
)

META_CHECK_FAILURES = Table(
    "meta",
    "check_failures",
    "The rows each check failed or warned about (up to 10,000 per check; meta.check_results counts them all), "
    "with the columns that identify them. Grain: check x failing row.",
    (
        C("check_name", "VARCHAR", "Check name (meta.check_results).", False),
        C("row_json", "VARCHAR", "The failing row's identifying columns and values, as JSON.", False),
    ),
)

META_MART_ROWS = Table(
    "meta",
    "mart_rows",
    "The rows of each mart as this warehouse was built: a table's rows, a view's rows as it returns them when "
    "queried (counted by the build, or carried from the warehouse a patched build started from, plus the rows "
    "the patch added, less those it removed). Grain: one mart.",
    (
        C("mart", "VARCHAR", "The mart (schema.name, e.g. marts.pair_annual).", False),
        C("kind", "VARCHAR", "table, or view (computed when queried).", False),
        C("rows", "BIGINT", "Rows.", False),
    ),
)

REF_GROUP_MEMBERSHIP = Table(
    "ref",
    "group_membership",
    "Country groups with dated membership (seed: warehouse/seeds/group_membership.csv). A member belongs to a "
    "group in year Y if it joined on or before 31 December of Y and had not left by then. Grain: group x member.",
    (
        C(
            "group_code",
            "VARCHAR",
            "Group code, e.g. ASEAN, BRICS, BRICS_PARTNERS (the partner countries, not members), EU.",
            False,
        ),
        C("group_name", "VARCHAR", "Readable name.", False),
        C("member_iso3", "VARCHAR", "Member (ISO3).", False),
        C("joined_on", "DATE", "Date the member joined.", False),
        C("left_on", "DATE", "Date the member left; NULL = still a member."),
        C("note", "VARCHAR", "Source or caveat."),
    ),
)

TABLES = (
    REF_SOURCES,
    REF_CROSSWALK,
    REF_ENTITIES,
    REF_ENTITY_ALIASES,
    REF_ENTITY_BREAKS,
    REF_GROUP_MEMBERSHIP,
    CANONICAL_OBSERVATIONS,
    CANONICAL_DUPLICATES,
    CANONICAL_QUARANTINE,
    META_SOURCE_FILES,
    META_RAW_FILES,
    META_ENTITY_VALIDITY,
    META_LOAD_RUNS,
    META_CHECK_RESULTS,
    META_CHECK_FAILURES,
    META_MART_ROWS,
)


MART_KEY_NOTE = (
    "Countries and former countries only (reporter_type and partner_type 'country' or 'historical'; trade still "
    "booked to a former country, e.g. USSR after 1991, stays under its code), newest release per reporter."
)

MARTS_BILATERAL_ANNUAL = Table(
    "marts",
    "bilateral_annual",
    "Bilateral annual trade with its mirror. Grain: source x reporter x partner x flow (X/M) x year. "
    + MART_KEY_NOTE
    + " The mirror is the same flow as the partner reported it (partner's imports for the reporter's exports and "
    "vice versa); rows exist where either side reported. Unit: US dollars. SQL: warehouse/sql/marts/bilateral_annual.sql.",
    (
        C("source", "source_code", "Data source.", False),
        C("reporter_iso3", "entity_code", "Reporter (ISO3).", False),
        C("partner_iso3", "entity_code", "Partner (ISO3).", False),
        C("flow", "flow_code", "X (reporter's exports) or M (reporter's imports).", False),
        C("year", "SMALLINT", "Year.", False),
        C("valuation", "valuation_code", "FOB for X, CIF for M (the reporter's valuation).", False),
        C("vintage", "DATE", "Release of the reporter's value."),
        C("value_usd", USD, "The reporter's value; NULL if only the partner reported."),
        C("is_estimated", "BOOLEAN", "The reporter's value is a published estimate."),
        C("mirror_vintage", "DATE", "Release of the mirror value."),
        C("mirror_value_usd", USD, "The partner's value for the same flow (its M for X, its X for M), as published."),
        C("mirror_is_estimated", "BOOLEAN", "The mirror value is a published estimate."),
        C(
            "mirror_adjusted_usd",
            "DOUBLE",
            f"Mirror brought to the reporter's valuation with the IMF's CIF/FOB factor {CIF_FOB_FACTOR}: "
            f"mirror imports / {CIF_FOB_FACTOR} for X, mirror exports x {CIF_FOB_FACTOR} for M.",
        ),
        C("asymmetry_ratio", "DOUBLE", "value_usd / mirror_adjusted_usd (1 = the two sides agree)."),
        C(
            "derivation",
            "VARCHAR",
            "What the reporter's value is when it is not the reporter's own report "
            "(canonical.observations.derivation), else NULL.",
        ),
        C("mirror_derivation", "VARCHAR", "The same for the mirror value."),
    ),
)

MARTS_PAIR_ANNUAL = Table(
    "marts",
    "pair_annual",
    "Trade of a reporter with a partner per year: exports, imports, total trade (X + M) and balance (X - M), on "
    "both sides. Grain: source x reporter x partner x year. " + MART_KEY_NOTE + " Unit: US dollars. "
    "A view over marts.bilateral_annual, computed when queried: filters on reporter, partner or year reach "
    "inside it (a few ms for a pair), a scan of all 1.3 M rows takes about 0.3 s; 0.7 s less per build. "
    "SQL: warehouse/sql/marts/pair_annual.sql.",
    (
        C("source", "source_code", "Data source.", False),
        C("reporter_iso3", "entity_code", "Reporter (ISO3).", False),
        C("partner_iso3", "entity_code", "Partner (ISO3).", False),
        C("year", "SMALLINT", "Year.", False),
        C("exports_usd", USD, "Reporter's exports to the partner (FOB)."),
        C("imports_usd", USD, "Reporter's imports from the partner (CIF)."),
        C("total_trade_usd", USD, "exports + imports; NULL unless both are present."),
        C("balance_usd", USD, "exports - imports; NULL unless both are present."),
        C("flows_present", "VARCHAR", "Which of the reporter's flows are present: X+M, X, M or empty.", False),
        C("mirror_exports_usd", USD, "Partner's imports from the reporter (the mirror of exports, CIF, unadjusted)."),
        C("mirror_imports_usd", USD, "Partner's exports to the reporter (the mirror of imports, FOB, unadjusted)."),
        C("mirror_total_trade_usd", USD, "Sum of both mirror flows; NULL unless both are present."),
        C("any_estimated", "BOOLEAN", "Any of the reporter's values is an estimate.", False),
        C("mirror_any_estimated", "BOOLEAN", "Any of the mirror values is an estimate.", False),
    ),
    kind="view",
)

MARTS_BILATERAL_GROWTH = Table(
    "marts",
    "bilateral_growth",
    "Year-on-year growth per reporter, partner and flow on a named basis: 'reporter' (own figures) or 'mirror' "
    "(the partner's figures for the same flow, unadjusted). Grain: source x reporter x partner x flow x year x "
    "basis. growth_pct in percent, only when both years have a value and the previous one is positive. "
    "A view over marts.bilateral_annual, computed when queried (about 0.25-0.45 s for a question about some "
    "reporters and partners, about 0.5 s for all 4.4 M rows): one source of truth, and 1.2 s less per build. "
    "Codes written as 'IDN'::entity_code let the filter reach inside the view (a few ms; an unknown code then "
    "raises a conversion error). "
    "SQL: warehouse/sql/marts/bilateral_growth.sql.",
    (
        C("source", "source_code", "Data source.", False),
        C("reporter_iso3", "entity_code", "Reporter (ISO3).", False),
        C("partner_iso3", "entity_code", "Partner (ISO3).", False),
        C("flow", "flow_code", "X or M, from the reporter's side.", False),
        C("year", "SMALLINT", "Year.", False),
        C("basis", "VARCHAR", "reporter or mirror.", False),
        C("value_usd", USD, "Value on this basis in the year."),
        C("prev_value_usd", USD, "Value on this basis in the year before."),
        C("vintage", "DATE", "Release of value_usd."),
        C("growth_pct", "DOUBLE", "(value_usd / prev_value_usd - 1) x 100; NULL when undefined (see note)."),
        C("note", "VARCHAR", "Why growth_pct is NULL."),
        C("uses_estimate", "BOOLEAN", "Either year's value is a published estimate.", False),
    ),
    kind="view",
    # one row per bilateral_annual row and basis (its key is unique, so the LEFT JOIN adds none)
    row_count_sql="SELECT 2 * count(*) FROM marts.bilateral_annual",
)

MARTS_GROUP_PARTNER_ANNUAL = Table(
    "marts",
    "group_partner_annual",
    "A group's trade with each partner per flow and year: the sum over its members at that year's end (yearly "
    "composition) that reported, on the reporter basis. Grain: source x group x partner x flow x year. "
    "Unit: US dollars. For growth with constant composition and coverage rules use `tradewh growth`. "
    "SQL: warehouse/sql/marts/group_partner_annual.sql.",
    (
        C("source", "source_code", "Data source.", False),
        C("group_code", "VARCHAR", "Group (ref.group_membership).", False),
        C("partner_iso3", "entity_code", "Partner (ISO3).", False),
        C("flow", "flow_code", "X or M, from the members' side.", False),
        C("year", "SMALLINT", "Year.", False),
        C("members", "BIGINT", "Members at the end of the year (not counting the partner if it is a member).", False),
        C("members_with_data", "BIGINT", "Members that reported this flow with this partner.", False),
        C("value_usd", USD, "Sum over the members with data.", False),
        C("estimated_usd", USD, "Part of value_usd published as estimates (0 if none).", False),
    ),
)

MARTS_SOURCE_COMPARISON = Table(
    "marts",
    "source_comparison",
    "Where two sources cover the same reporter, partner, flow and year, their figures side by side with the ratio. "
    "comparison 'same_side': source A's and source B's figure for the reporter's flow (A before B by name), e.g. "
    "DOTS against IMTS for Russia 2016-2020; 'mirror': source A's figure against the partner's own figure for the same "
    f"trade in source B, brought to the reporter's valuation with the CIF/FOB factor {CIF_FOB_FACTOR} (e.g. Comtrade 2021 exports "
    "to Russia against IMTS Russia's imports). Within one source the mirror is marts.bilateral_annual.asymmetry_ratio. "
    "Grain: comparison x source_a x source_b x reporter x partner x flow x year. "
    + MART_KEY_NOTE
    + " Unit: US dollars. "
    "SQL: warehouse/sql/marts/source_comparison.sql.",
    (
        C("comparison", "VARCHAR", "same_side or mirror.", False),
        C("reporter_iso3", "entity_code", "Reporter (ISO3).", False),
        C("partner_iso3", "entity_code", "Partner (ISO3).", False),
        C("flow", "flow_code", "X or M, from the reporter's side.", False),
        C("year", "SMALLINT", "Year.", False),
        C("source_a", "source_code", "Source of value_a_usd: the reporter's own figure.", False),
        C("vintage_a", "DATE", "Release of value_a_usd."),
        C("value_a_usd", USD, "The reporter's figure in source A.", False),
        C("estimated_a", "BOOLEAN", "value_a_usd is a published estimate.", False),
        C("derivation_a", "VARCHAR", "What value_a_usd is when not the reporter's own report (canonical derivation)."),
        C("source_b", "source_code", "Source of value_b_usd.", False),
        C("vintage_b", "DATE", "Release of value_b_usd."),
        C(
            "value_b_usd",
            USD,
            "same_side: the reporter's figure in source B; mirror: the partner's figure for the "
            "same trade in source B, as published.",
            False,
        ),
        C("estimated_b", "BOOLEAN", "value_b_usd is a published estimate.", False),
        C("derivation_b", "VARCHAR", "What value_b_usd is when not its reporter's own report."),
        C(
            "value_b_adjusted_usd",
            "DOUBLE",
            f"value_b_usd at the reporter's valuation: for a mirror, imports / {CIF_FOB_FACTOR} "
            f"against exports, exports x {CIF_FOB_FACTOR} against imports; for same_side, value_b_usd.",
            False,
        ),
        C("ratio", "DOUBLE", "value_a_usd / value_b_adjusted_usd (1 = the two agree)."),
    ),
)

MARTS_RELEASE_DIFF = Table(
    "marts",
    "release_diff",
    "What each release of a source changed against the release it replaced (the value's previous_vintage) "
    "(docs/releases.md): 'changed' (value or estimate flag; both values and the change in %), 'added' (not in the "
    "release before), 'removed' (in the release before, not in this one: for a reporter-scope source, a partner the "
    "new release no longer lists). Unchanged observations have no row. All entity types, frequencies and products. "
    "Grain: source x reporter x partner x flow x freq x period x cmd_code x classification x vintage. Unit: US "
    "dollars. SQL: warehouse/sql/marts/release_diff.sql.",
    (
        C("source", "source_code", "Source.", False),
        C("reporter_iso3", "entity_code", "Reporter.", False),
        C("partner_iso3", "entity_code", "Partner.", False),
        C("flow", "flow_code", "X or M.", False),
        C("freq", "freq_code", "A, Q or M.", False),
        C("period", "period_code", "Period.", False),
        C("year", "SMALLINT", "Year of the period.", False),
        C("cmd_code", "product_code", "Product.", False),
        C("classification", "classification_code", "HS revision of cmd_code (HS for TOTAL).", False),
        C("vintage", "DATE", "The release.", False),
        C("previous_vintage", "DATE", "The release it replaced (canonical.observations.previous_vintage).", False),
        C("change", "VARCHAR", "changed, added or removed.", False),
        C("value_usd", USD, "Value in this release; NULL if removed."),
        C("previous_value_usd", USD, "Value in the release before; NULL if added."),
        C(
            "change_pct",
            "DOUBLE",
            "(value_usd / previous_value_usd - 1) x 100; NULL unless both are there (and the previous non-zero).",
        ),
        C("is_estimated", "BOOLEAN", "Published as an estimate in this release."),
        C("previous_is_estimated", "BOOLEAN", "Published as an estimate in the release before."),
        C("source_file", "file_name", "File of this release the value comes from."),
        C("previous_source_file", "file_name", "File of the release before."),
    ),
)

MART_TABLES = (
    MARTS_BILATERAL_ANNUAL,
    MARTS_PAIR_ANNUAL,
    MARTS_BILATERAL_GROWTH,
    MARTS_GROUP_PARTNER_ANNUAL,
    MARTS_SOURCE_COMPARISON,
    MARTS_RELEASE_DIFF,
)


@dataclass(frozen=True)
class View:
    """A view or table macro defined in warehouse/sql/*.sql; its description is stored as a COMMENT."""

    qualified: str
    kind: str  # "VIEW" or "MACRO TABLE" (as in COMMENT ON <kind>)
    usage: str
    description: str

    def comment_sql(self) -> str:
        return f"COMMENT ON {self.kind} {self.qualified} IS {sql_literal(self.description)};"


VIEWS = (
    View(
        "canonical.observations_latest",
        "VIEW",
        "SELECT * FROM canonical.observations_latest",
        "canonical.observations restricted to the newest release of each value: the values no newer release of their source replaced (superseded_by "
        "NULL): a release whose file has release scope 'reporter' (meta.source_files) replaces every partner of each "
        "reporter, flow and period it publishes, so values the newer release dropped are not filled in from older "
        "ones; one of scope 'observation' replaces only the observations it contains. Grain: source x reporter x "
        "partner x flow x freq x period x cmd_code x classification (unique); same columns as canonical.observations.",
    ),
    View(
        "canonical.observations_first",
        "VIEW",
        "SELECT * FROM canonical.observations_first",
        "canonical.observations restricted to the values no earlier release covered (previous_vintage NULL; the "
        "scope rule of observations_latest): the figures as first published. Same grain and columns as canonical.observations_latest.",
    ),
    View(
        "canonical.release_pairs",
        "MACRO TABLE",
        "SELECT * FROM canonical.release_pairs()",
        "Table macro: every observation of a release beside the same observation in the release it replaced (its "
        "previous_vintage; the scope rule of observations_latest), NULL on the side that lacks it, for the reporters "
        "with more than one release of a source: source, reporter, partner, flow, freq, period, year, cmd_code, classification, vintage, "
        "previous_vintage, "
        "value_usd, previous_value_usd, is_estimated, previous_is_estimated, source_file, previous_source_file. "
        "marts.release_diff keeps the pairs that differ; the check release_constant_factor reads their ratios.",
    ),
    View(
        "canonical.observations_asof",
        "MACRO TABLE",
        "SELECT * FROM canonical.observations_asof(DATE '2022-03-01')",
        "Table macro: the values of the releases (vintages) published on or before the date given that no release "
        "published by then replaced (the scope rule of observations_latest), i.e. what the warehouse would have "
        "answered with the releases published by then. Same grain and "
        "columns as canonical.observations_latest; empty before the first release.",
    ),
    View(
        "canonical.products",
        "MACRO TABLE",
        "SELECT * FROM canonical.products('HS6') WHERE reporter_iso3 = 'THA'",
        "Table macro: canonical.observations_latest at one product level, 'HS2', 'HS4' or 'HS6' (any other level "
        "is an error): a chapter's value contains its headings' and subheadings', so sums stay within one level "
        "(docs/products.md). Same columns as canonical.observations_latest.",
    ),
)


# The product store (warehouse.bulk): bulk HS6 files loaded by DuckDB straight into Parquet
# partitions, one file per source x classification x year x vintage, read in place by these views;
# or, on DuckLake, tables of the same columns (docs/scale.md).
PRODUCT_OBSERVATIONS = Table(
    "canonical",
    "product_observations",
    "Bulk product-level bilateral flows (BACI-shaped HS6 files, warehouse.bulk): every release of every year file "
    "loaded, read in place from the product store's Parquet partitions. Grain: source x vintage x classification x "
    "reporter x partner x flow x period x cmd_code (unique: a file with a key twice is refused). All rows are HS6 in "
    "one classification per file: sum within one classification (docs/products.md). Unit: US dollars (value_usd).",
    (
        C("source", "VARCHAR", "Bulk source (ref.sources): baci.", False),
        C("vintage", "DATE", "Release of the file, as its RELEASES.csv row declares it (docs/releases.md).", False),
        C("classification", "VARCHAR", "HS revision the file states: H0-H6 (HS 1992-HS 2022).", False),
        C("year", "SMALLINT", "Year of the file (and of its rows).", False),
        C("reporter_iso3", "VARCHAR", "Exporter, as an entity code (ref.entities).", False),
        C("reporter_type", "VARCHAR", "Exporter entity type: country, historical, ...", False),
        C("partner_iso3", "VARCHAR", "Importer, as an entity code.", False),
        C("partner_type", "VARCHAR", "Importer entity type.", False),
        C(
            "flow",
            "VARCHAR",
            "X: the reporter's exports to the partner (BACI's one value per pair and product).",
            False,
        ),
        C("valuation", "VARCHAR", "FOB: BACI reconciles both sides' declarations to FOB values.", False),
        C("freq", "VARCHAR", "A (annual).", False),
        C("period", "VARCHAR", "YYYY.", False),
        C("cmd_code", "VARCHAR", "HS6 subheading, six digits with leading zeros.", False),
        C("product_level", "VARCHAR", "HS6.", False),
        C("value_usd", USD, "Value in US dollars: the published thousands x 1000, exact.", False),
        C("original_value", "DECIMAL(18,3)", "Value as published, thousands of US dollars.", False),
        C("quantity_t", "DECIMAL(18,3)", "Quantity as published, metric tonnes; NULL where the file gives none."),
        C(
            "derivation",
            "VARCHAR",
            "baci_reconciled: CEPII's reconciliation of exporter and importer reports, not either side's own figure.",
            False,
        ),
        C("source_file", "VARCHAR", "Input file name (lineage).", False),
        C(
            "exporter_code",
            "INTEGER",
            "Exporter code as published (lineage: with importer_code and product_as_published, the row's key in its file).",
            False,
        ),
        C("importer_code", "INTEGER", "Importer code as published.", False),
        C("product_as_published", "VARCHAR", "Product code as published.", False),
    ),
    kind="view",
)
PRODUCT_QUARANTINE = Table(
    "meta",
    "product_quarantine",
    "Bulk product rows that could not load, each with its reason (year_mismatch, invalid_cmd_code, missing_value, "
    "negative_value): never dropped, kept in the same Parquet partitions as the loaded rows. Same columns as "
    "canonical.product_observations (codes may be NULL) plus reason.",
    (
        *(Column(c.name, c.type, c.description) for c in PRODUCT_OBSERVATIONS.columns),
        C("reason", "VARCHAR", "Why the row was not loaded.", False),
    ),  # fmt: skip
    kind="view",
)
META_PRODUCT_FILES = Table(
    "meta",
    "product_files",
    "One row per bulk file version loaded (the manifest written beside its partition): its release, revision and "
    "year, and reconciliation counts: rows_read = rows_loaded + rows_quarantined, and value_read = value_loaded + "
    "value_quarantined (thousands of US dollars as published).",
    (
        C("source", "VARCHAR", "Bulk source.", False),
        C("source_file", "VARCHAR", "Input file name.", False),
        C("file_sha256", "VARCHAR", "SHA-256 of the input file.", False),
        C("vintage", "DATE", "Release (RELEASES.csv).", False),
        C("release_kind", "VARCHAR", "How the release was declared: declared, retrieved_by.", False),
        C("classification", "VARCHAR", "HS revision, H0-H6.", False),
        C("year", "SMALLINT", "Year of the file.", False),
        C("rows_read", "BIGINT", "Data lines read from the file.", False),
        C("rows_loaded", "BIGINT", "Rows in canonical.product_observations.", False),
        C("rows_quarantined", "BIGINT", "Rows in meta.product_quarantine.", False),
        C("value_read", "DECIMAL(38,3)", "Sum of the file's values, thousands of US dollars.", False),
        C("value_loaded", "DECIMAL(38,3)", "Sum of the loaded rows' values.", False),
        C("value_quarantined", "DECIMAL(38,3)", "Sum of the quarantined rows' values."),
        C("loaded_at", "TIMESTAMP", "When the partition was written (UTC).", False),
        C("path", "VARCHAR", "The partition file (local product store), or the DuckLake table.", False),
    ),
    kind="view",
)
PRODUCT_TABLES = (PRODUCT_OBSERVATIONS, PRODUCT_QUARANTINE, META_PRODUCT_FILES)


def markdown() -> str:
    """Every table and column as markdown (docs/tables.md is this output; a test keeps it current)."""
    out = [
        "# Warehouse tables",
        "",
        "Generated from `warehouse/schema.py` by `python -m tradewh.warehouse.schema > docs/tables.md`.",
        "The same descriptions are stored in the DuckDB file: `SELECT * FROM duckdb_columns() WHERE comment IS NOT NULL`.",
        "",
    ]
    for t in (*RAW_VIEWS.values(), *TABLES, *MART_TABLES, *PRODUCT_TABLES):
        out += [
            f"## `{t.qualified}`" + (" (view)" if t.kind == "view" else ""),
            "",
            t.description,
            "",
            "| column | type | description |",
            "|---|---|---|",
        ]
        out += [f"| `{c.name}` | {c.type}{'' if c.nullable else ' NOT NULL'} | {c.description} |" for c in t.columns]
        out.append("")
    out += ["## Views and macros", "", "Defined in `warehouse/sql/canonical_views.sql`.", ""]
    for v in VIEWS:
        out += [f"### `{v.qualified}` ({v.kind.lower()})", "", v.description, "", f"    {v.usage}", ""]
    out += ["## ENUM types", "", " ".join(EnumType.__doc__.split()), "", "| type | values |", "|---|---|"]
    out += [f"| `{t.name}` | {t.description} |" for t in ENUM_TYPES.values()]
    out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(), end="")
