"""The validation suites as code: every check, its stable name, whether it blocks, its threshold
and why. Checks on the raw asset validate the run's view of the raw store (stored releases may
come from older parser versions or other machines); checks on the canonical asset validate the
candidate warehouse before it is published.

Blocking (structural) checks fail the run before publish/warehouse; warnings (statistical) are shown
and counted, never blocking. Thresholds were chosen on the bundled IMF DOTS data (2022-02-20
release); docs/validation.md records how many warnings they produce.

Some structural rules are not checks here because the load itself guarantees them, and a check
that cannot fail is not a check (docs/validation.md):
- observation key unique: warehouse.canonical.deduplicate stops the load on conflicting copies;
- codes present in the crosswalk: warehouse.crosswalk.map_names stops the load on unknown names;
- value_usd finite: warehouse.canonical quarantines non-finite values;
- canonical lineage present: copied from the raw cells, whose lineage `raw_lineage_present` checks.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tradewh.warehouse.rules import CIF_FOB_FACTOR
from tradewh.warehouse.tables import bind

SQL_DIR = Path(__file__).parent / "sql"

# The assets checks belong to, by Dagster asset key ("layer/table"): the raw tables of the sources
# (sources/<name>/) and the canonical observations.
RAW_IMF_DOTS = "raw/imf_dots_cells"
CANONICAL = "canonical/observations"
SOURCE_COMPARISON = "marts/source_comparison"

# Thresholds (US dollars unless said otherwise); see each check's description for the reasoning.
FIRST_YEAR = 1948  # the IMF's trade series start in 1948; DOTS workbooks from 1960
WORLD_TOTAL_MIN_USD = 1e3  # smallest real World total: Latvia's imports 1989, US$ 3,000
WORLD_TOTAL_MAX_USD = 5e13  # twice world trade (~US$ 25 trn); largest real: China exports 2020, US$ 2.6 trn
WORLD_VS_PARTNERS = (0.9, 1.1)  # 99.8 % of World rows are within +-1.2 % of their partner sum
YOY_FACTOR_MAX = 10.0
YOY_FLOOR_USD = 1e9
MIRROR_RATIO = (0.1, 10.0)
MIRROR_FLOOR_USD = 1e9
ESTIMATE_SHARE_MAX = 0.5
# A near-constant factor between two sets of figures: a unit or currency error (issue 11's signature)
CONSTANT_FACTOR_NORMAL = (0.8, 1.25)  # median ratio within this: no factor worth a look
CONSTANT_FACTOR_SPREAD = 1.05  # p90/p10 of the ratios below this: the same factor for every partner
CONSTANT_FACTOR_MIN_PARTNERS = 5


@dataclass(frozen=True)
class Check:
    """One check: `expectations(gxe)` builds its GX expectations from the great_expectations.expectations
    module (passed in, so GX is imported only when validating); `sql` names the frame's SQL file in
    expectations/sql, with `params`; `example_columns` identify a failing frame row.

    Summary frames: a check over every row of a big table (the raw cells, canonical.observations)
    validates a summary instead, one frame row per distinct combination of the values it checks,
    with `rows_column` saying how many table rows share it. A frame row fails exactly when its table
    rows fail, so the verdict is the same as row by row, at a fraction of the cost (2.6 M rows become
    a few hundred). `detail_sql` then lists the table rows behind the failing frame rows (given to it
    as the relation `failing`): they are the failing rows counted, shown and stored.

    Scoped frames: `scope_columns` (entity columns, e.g. reporter_iso3) says that each frame row
    belongs to the (source, entity) pairs of the frame's `source` with those columns, and is
    computed from the canonical observations of those pairs alone (for mirror rows: of both
    sides). A patched candidate then computes again only the rows with an affected pair and keeps
    the others from the last run's frame (expectations.frames). Not for summary frames.

    Per-file summaries: a raw-table check with `file_sql` summarises each raw-store file version
    on its own (`file_sql` reads raw_cells and groups by raw_file, the file's name), and its `sql`
    aggregates those rows (the relation named after `file_sql`, e.g. raw_lineage_files). A file's
    summary is computed once and kept (expectations.validate._file_summaries).
    """

    name: str
    asset: str  # Dagster asset key as "layer/table"
    blocking: bool
    description: str
    expectations: Callable
    example_columns: tuple[str, ...]
    sql: str
    params: dict = field(default_factory=dict)
    rows_column: str | None = None
    detail_sql: str | None = None
    raw_columns: tuple[str, ...] = ()  # for a raw-table check: the raw columns its SQL reads
    file_sql: str | None = None  # for a raw-table check: its per-file summary (see above)
    scope_columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.scope_columns and self.rows_column:
            raise ValueError(f"check {self.name}: a summary frame cannot be scoped (scope_columns)")

    def frame_sql(self) -> str:
        """The frame's SQL with its params as literals (warehouse.tables.bind)."""
        return bind((SQL_DIR / self.sql).read_text(), self.params)

    def detail_frame_sql(self) -> str:
        return bind((SQL_DIR / self.detail_sql).read_text(), self.params)

    def file_frame_sql(self) -> str:
        return bind((SQL_DIR / self.file_sql).read_text(), self.params)


CHECKS: tuple[Check, ...] = (
    Check(
        "raw_lineage_present",
        RAW_IMF_DOTS,
        True,
        "Every raw cell names its file, file version and place: a workbook cell its sheet and Excel cell, whose "
        "reference agrees with the Excel row and column; an archived answer's observation its series and "
        "observation: lineage from every canonical row back to the file depends on it.",
        lambda gxe: [
            *(gxe.ExpectColumnValuesToNotBeNull(column=c) for c in ("source_file", "lineage_kind")),
            *(
                gxe.ExpectColumnValuesToBeInSet(column=c, value_set=[True])
                for c in ("sha256_present", "cell_present", "position_present", "cell_consistent")
            ),
        ],
        (
            "group_id",
            "source_file",
            "sha256_present",
            "sheet",
            "lineage_kind",
            "cell_present",
            "position_present",
            "cell_consistent",
            "rows",
        ),
        sql="raw_lineage.sql",
        rows_column="rows",
        detail_sql="raw_lineage_rows.sql",
        file_sql="raw_lineage_files.sql",
        raw_columns=(
            "source_file",
            "file_sha256",
            "sheet",
            "cell",
            "excel_row",
            "excel_col",
            "series_no",
            "obs_no",
            "series_code",
            "time_period",
        ),
    ),
    Check(
        "flow_valuation_freq_period_valid",
        CANONICAL,
        True,
        "flow is X/M/RX/RM, valuation FOB/CIF, freq A/Q/M, and period matches freq and year (YYYY, YYYYQn, "
        f"YYYYMM) with the year between {FIRST_YEAR} and this year.",
        lambda gxe: [
            gxe.ExpectColumnValuesToBeInSet(column="flow", value_set=["X", "M", "RX", "RM"]),
            gxe.ExpectColumnValuesToBeInSet(column="valuation", value_set=["FOB", "CIF"]),
            gxe.ExpectColumnValuesToBeInSet(column="freq", value_set=["A", "Q", "M"]),
            gxe.ExpectColumnValuesToBeInSet(column="period_ok", value_set=[True]),
        ],
        ("group_id", "source", "vintage", "flow", "valuation", "freq", "period", "rows"),
        sql="period_valid.sql",
        params={"first_year": FIRST_YEAR},
        rows_column="rows",
        detail_sql="period_valid_rows.sql",
    ),
    Check(
        "world_totals_plausible",
        CANONICAL,
        True,
        f"A country's total trade with the World per flow and period is between US$ {WORLD_TOTAL_MIN_USD:,.0f} and "
        f"US$ {WORLD_TOTAL_MAX_USD:,.0f}: values left in millions or thousands, or multiplied twice, fall outside. "
        "Bundled data: smallest US$ 3,000 (Latvia's imports 1989), largest US$ 2.6 trn (China's exports 2020).",
        lambda gxe: [
            gxe.ExpectColumnValuesToBeBetween(
                column="value_usd", min_value=WORLD_TOTAL_MIN_USD, max_value=WORLD_TOTAL_MAX_USD
            )
        ],
        ("raw_id", "source_file", "source_sheet", "source_cell", "reporter_iso3", "flow", "period", "value_usd"),
        sql="world_totals.sql",
        scope_columns=("reporter_iso3",),  # one observation of the reporter's
    ),
    Check(
        "release_constant_factor",
        CANONICAL,
        True,
        "Every release of a reporter against the previous release of the same source, partner by partner, per flow, "
        f"period and product: a reporter-period whose partners all moved by nearly the same factor (median ratio outside "
        f"{CONSTANT_FACTOR_NORMAL[0]}-{CONSTANT_FACTOR_NORMAL[1]}, p90/p10 below {CONSTANT_FACTOR_SPREAD}, at least "
        f"{CONSTANT_FACTOR_MIN_PARTNERS} partners) stops the publish: values x1000, /1000 or in another currency, not a "
        "revision (real revisions move partners by different amounts). Estimates count: a release is compared with its "
        "own predecessor. The failing rows name the new release's file, its factor and the previous file.",
        lambda gxe: [gxe.ExpectColumnValuesToBeInSet(column="constant_factor", value_set=[False])],
        (
            "source",
            "reporter_iso3",
            "flow",
            "period",
            "vintage",
            "previous_vintage",
            "source_file",
            "previous_file",
            "partners",
            "median_ratio",
            "spread",
        ),
        sql="release_factor.sql",
        params={
            "low": CONSTANT_FACTOR_NORMAL[0],
            "high": CONSTANT_FACTOR_NORMAL[1],
            "max_spread": CONSTANT_FACTOR_SPREAD,
            "min_partners": CONSTANT_FACTOR_MIN_PARTNERS,
        },
    ),
    Check(
        "world_vs_partner_sum",
        CANONICAL,
        False,
        f"A reporter's World row vs the sum of its non-aggregate partners (countries, former countries, areas not "
        f"specified): warn outside {WORLD_VS_PARTNERS[0]}-{WORLD_VS_PARTNERS[1]}. On the bundled data 99.8 % of "
        "World rows are within 0.995-1.17 of their partner sum. A World row of a partial answer (release scope "
        "'observation') whose release holds none of those partners is not compared: nothing was asked for them.",
        lambda gxe: [
            gxe.ExpectColumnValuesToBeBetween(
                column="ratio", min_value=WORLD_VS_PARTNERS[0], max_value=WORLD_VS_PARTNERS[1]
            )
        ],
        ("source", "vintage", "reporter_iso3", "flow", "period", "world_usd", "partner_sum_usd", "ratio"),
        sql="world_vs_partners.sql",
        scope_columns=("reporter_iso3",),  # the reporter's World row and its partner rows
    ),
    Check(
        "yoy_jump_extreme",
        CANONICAL,
        False,
        f"A country-country flow that changes by a factor of more than {YOY_FACTOR_MAX:g} from one year to the next, "
        f"where the larger of the two is at least US$ {YOY_FLOOR_USD:,.0f} (small flows jump often and matter little).",
        lambda gxe: [gxe.ExpectColumnValuesToBeBetween(column="factor", max_value=YOY_FACTOR_MAX)],
        ("source", "vintage", "reporter_iso3", "partner_iso3", "flow", "year", "prev_usd", "value_usd", "factor"),
        sql="yoy_jumps.sql",
        params={"floor_usd": YOY_FLOOR_USD},
        scope_columns=("reporter_iso3",),  # two of the reporter's observations
    ),
    Check(
        "mirror_ratio_extreme",
        CANONICAL,
        False,
        f"A's exports to B vs B's imports from A / {CIF_FOB_FACTOR} (CIF to FOB): warn outside {MIRROR_RATIO[0]}-{MIRROR_RATIO[1]}, "
        f"where the larger is at least US$ {MIRROR_FLOOR_USD:,.0f}. Mirrors differ for known reasons (timing, re-exports "
        "through hubs, origin vs consignment); a factor of 10 at that size is worth a look.",
        lambda gxe: [
            gxe.ExpectColumnValuesToBeBetween(column="ratio", min_value=MIRROR_RATIO[0], max_value=MIRROR_RATIO[1])
        ],
        ("source", "vintage", "reporter_iso3", "partner_iso3", "period", "exports_usd", "mirror_imports_usd", "ratio"),
        sql="mirror_ratios.sql",
        params={"floor_usd": MIRROR_FLOOR_USD, "cif_fob": CIF_FOB_FACTOR},
        scope_columns=("reporter_iso3", "partner_iso3"),  # A's exports to B and B's imports from A
    ),
    Check(
        "negative_values",
        CANONICAL,
        False,
        "Negative published values (loaded as published and flagged is_negative).",
        lambda gxe: [gxe.ExpectColumnValuesToBeBetween(column="min_value_usd", min_value=0)],
        ("group_id", "source", "vintage", "reporter_iso3", "flow", "min_value_usd", "negative_rows"),
        sql="negative_values.sql",
        rows_column="rows",
        detail_sql="negative_values_rows.sql",
    ),
    Check(
        "historical_after_end",
        CANONICAL,
        False,
        "Observations of a former country (reporter or partner) dated after it ceased to exist (e.g. USSR "
        "as a partner after 1991). Loaded under their own code, never folded into a successor.",
        lambda gxe: [gxe.ExpectColumnValuesToBeBetween(column="max_years_after_end", max_value=0)],
        ("group_id", "source", "vintage", "reporter_iso3", "partner_iso3", "flow", "max_years_after_end", "late_rows"),
        sql="historical_after_end.sql",
        rows_column="rows",
        detail_sql="historical_after_end_rows.sql",
    ),
    Check(
        "estimate_share_high",
        CANONICAL,
        False,
        f"Country reporters more than {ESTIMATE_SHARE_MAX:.0%} of whose observations the source published as "
        "estimates (IMF ' e'): their figures are mostly built from partner data. Median on the bundled data: 3 %.",
        lambda gxe: [gxe.ExpectColumnValuesToBeBetween(column="estimated_share", max_value=ESTIMATE_SHARE_MAX)],
        ("source", "vintage", "reporter_iso3", "observations", "estimated_share"),
        sql="estimate_share.sql",
        scope_columns=("reporter_iso3",),  # the reporter's observations
    ),
)


CHECKS = CHECKS + (
    Check(
        "constant_factor",
        SOURCE_COMPARISON,
        False,
        "A reporter's figures for a flow and year that differ from another source's, or from its partners' mirror "
        f"figures, by a nearly constant factor across its partners: median ratio outside {CONSTANT_FACTOR_NORMAL[0]}-"
        f"{CONSTANT_FACTOR_NORMAL[1]} with p90/p10 below {CONSTANT_FACTOR_SPREAD}, over at least "
        f"{CONSTANT_FACTOR_MIN_PARTNERS} partners. That is the signature of a unit or currency error (values x 1000, "
        "or in another currency); normal asymmetry varies partner by partner. Estimates and derived values are left "
        "out: the IMF builds many estimates from the partner's figures with its fixed CIF/FOB factor, a constant "
        "ratio by construction.",
        lambda gxe: [gxe.ExpectColumnValuesToBeInSet(column="constant_factor", value_set=[False])],
        ("comparison", "source_a", "source_b", "reporter_iso3", "flow", "year", "partners", "median_ratio", "spread"),
        sql="constant_factor.sql",
        params={
            "low": CONSTANT_FACTOR_NORMAL[0],
            "high": CONSTANT_FACTOR_NORMAL[1],
            "max_spread": CONSTANT_FACTOR_SPREAD,
            "min_partners": CONSTANT_FACTOR_MIN_PARTNERS,
        },
    ),
)


def checks_for(asset: str) -> tuple[Check, ...]:
    """The checks of an asset ("layer/table"), in declaration order."""
    return tuple(c for c in CHECKS if c.asset == asset)


def raw_columns(asset: str) -> list[str]:
    """The raw-table columns a raw asset's checks read (their SQL's relation raw_cells), besides raw_id."""
    return list(dict.fromkeys(c for check in checks_for(asset) for c in check.raw_columns))


def markdown() -> str:
    """Every check as markdown (docs/checks.md is this output; a test keeps it current)."""
    out = [
        "# Checks",
        "",
        "Generated from `expectations/checks.py` by `python -m tradewh.expectations.checks > docs/checks.md`.",
        "How they run, what a warning means and what they find on the bundled data: [validation.md](validation.md).",
        "",
        "| check | asset | kind | what it tests | frame (expectations/sql/) |",
        "|---|---|---|---|---|",
    ]
    for c in CHECKS:
        params = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in c.params.items())
        frame = (
            f"`{c.sql}`" + (f" ({params})" if params else "") + (f", rows: `{c.detail_sql}`" if c.detail_sql else "")
        )
        kind = "blocking" if c.blocking else "warning"
        out.append(f"| `{c.name}` | {c.asset} | {kind} | {c.description} | {frame} |")
    out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(), end="")
