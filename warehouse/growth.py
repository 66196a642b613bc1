"""Growth of a group's trade with a partner, member by member, on a named basis — the rules.

Rules (docs/growth.md):
- a member's total trade with the partner = the sum of the flows present (X, M); the row says which;
- a group total = the sum over the members that have data; the row says how many of the members;
- sources: with a source named, only its figures; otherwise each year takes the first source in
  precedence order (Source.precedence) that has figures for any member that year, and a growth
  rate compares two years of one source where that source has both years; a growth figure whose
  two years still come from different sources, or from different releases, says so in its note;
- strict rule (default): growth is computed only when the same members and the same flows are
  present in both years; otherwise it is empty and the note says why. Like-for-like rule: growth
  over the members and flows present in both years, and the note names what was left out;
- growth in percent, contributions in percentage points: a member's contribution = its change
  divided by the group's previous-year total (where the group's growth is computed; also for a
  member whose own growth is undefined because its previous value was 0), so they add up;
- a partner that is itself a member is left out of the group (it does not trade with itself);
- the first year's growth uses the year before it when the data have it; a year without figures
  in any source gets its rows, empty, with a note;
- composition 'constant' = the members at the end of the last year asked for, applied to every year;
  'yearly' = each year's own year-end members (then a membership change leaves growth empty);
- basis 'reporter' = the members' own figures; 'mirror' = the partner's figures for the same flows
  (for trade with Russia: what Russia reported), unadjusted;
- a break in an entity (a split, a merger, a new code: ref.entity_breaks) between the two years of
  a growth figure sets `entity_break` and says which in the note; a base under US$ 1 million, and
  values that are not the reporter's own report (canonical `derivation`), are noted too;
- estimated values are used and counted: estimated_share = estimated value / value.

Input: a frame of the members' values (member, year, flow, value_usd, is_estimated, vintage,
source, derivation) from marts.bilateral_annual (warehouse/sql/growth_inputs.sql). No DuckDB or
Dagster here.
"""

from dataclasses import dataclass, field
from datetime import date

import polars as pl

# The CSV contract (issue 4) fixes the first thirteen columns and their order; later columns follow.
COLUMNS = [
    "reporter",
    "partner",
    "year",
    "months",
    "value_usd",
    "growth_pct",
    "contribution_pp",
    "basis",
    "coverage",
    "estimated_share",
    "source",
    "vintage",
    "note",
    "reporter_name",
    "partner_name",
    "prev_value_usd",
    "entity_break",
    "currency",
    "value",
    "prev_value",
]
SMALL_BASE_USD = 1e6  # a growth rate from a base under US$ 1 million is noted: it says little
FLOWS = ("X", "M")
RULES = ("strict", "like-for-like")


@dataclass(frozen=True)
class Membership:
    """Dated membership rows of one group: member_iso3, joined_on, left_on (None = still a member)."""

    group_code: str
    rows: tuple[tuple[str, date, date | None], ...]

    def at_year_end(self, year: int) -> list[str]:
        end = date(year, 12, 31)
        return sorted(m for m, joined, left in self.rows if joined <= end and (left is None or left > end))


def composition(membership: Membership, years: list[int], mode: str, last_year: int) -> dict[int, list[str]]:
    """{year: members} for every year in `years`: constant (members at the end of last_year) or yearly."""
    if mode == "constant":
        members = membership.at_year_end(last_year)
        return {y: members for y in years}
    if mode == "yearly":
        return {y: membership.at_year_end(y) for y in years}
    raise ValueError(f"composition must be constant or yearly, not {mode!r}")


@dataclass(frozen=True)
class EntityBreak:
    """A change of an entity that makes its figures of `year` and `year - 1` cover different things."""

    code: str
    year: int
    note: str


@dataclass(frozen=True)
class Context:
    """What the rules need besides the values: source precedence (source -> rank, lower first),
    entity breaks by code, entity names by code, and the rule (strict or like-for-like)."""

    precedence: dict[str, int] = field(default_factory=dict)
    breaks: dict[str, tuple[EntityBreak, ...]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    rule: str = "strict"
    sources: tuple[str, ...] = ()  # the sources considered (for the note of a year none of them covers)
    currency: str = "USD"  # the currency of the input's `value` (growth is computed on it)
    cell_notes: dict[tuple[str, int], str] = field(default_factory=dict)  # (member, year) -> why a value is missing


@dataclass(frozen=True)
class Cell:
    """One member's trade with the partner in one year, from one source: value per flow present."""

    flows: dict[str, float]
    estimated: dict[str, float]
    vintages: tuple[str, ...] = ()
    source: str | None = None
    derived: tuple[str, ...] = ()
    usd: dict[str, float] = field(default_factory=dict)  # the flows in US dollars (`flows` are in the asked currency)

    @property
    def has_data(self) -> bool:
        return bool(self.flows)

    @property
    def value(self) -> float | None:
        return sum(self.flows.values()) if self.flows else None

    @property
    def coverage(self) -> str:
        return "+".join(f for f in FLOWS if f in self.flows)

    @property
    def value_usd(self) -> float | None:
        return sum(self.usd.values()) if self.usd else None

    def only(self, flows: set[str]) -> "Cell":
        return Cell(
            {f: v for f, v in self.flows.items() if f in flows},
            {f: v for f, v in self.estimated.items() if f in flows},
            self.vintages,
            self.source,
            self.derived,
            {f: v for f, v in self.usd.items() if f in flows},
        )


EMPTY = Cell({}, {})


def _cells(values: pl.DataFrame) -> dict[tuple[str, int, str], Cell]:
    """{(member, year, source): Cell} from the input rows with a value."""
    out: dict[tuple[str, int, str], Cell] = {}
    rows = values.filter(pl.col("value_usd").is_not_null()) if values.height else values
    groups = rows.partition_by("member", "year", "source", as_dict=True) if rows.height else {}
    for (m, y, s), g in groups.items():
        value = "value" if "value" in g.columns else "value_usd"  # in the asked currency (annual inputs: US dollars)
        flows = dict(zip(g["flow"].to_list(), g[value].to_list()))
        est = {f: v for f, v, e in zip(g["flow"], g[value], g["is_estimated"]) if e}
        derived = tuple(sorted({d for d in g["derivation"].to_list() if d})) if "derivation" in g.columns else ()
        usd = dict(zip(g["flow"].to_list(), g["value_usd"].to_list()))
        out[(m, int(y), s)] = Cell(
            flows, est, tuple(sorted({str(v) for v in g["vintage"].to_list() if v is not None})), s, derived, usd
        )
    return out


def choose_sources(
    cells: dict, members_by_year: dict[int, list[str]], precedence: dict[str, int]
) -> dict[int, str | None]:
    """{year: the source whose figures the year takes}: the first in precedence order with figures
    for any of that year's members (None when no source has any)."""
    out = {}
    for y, members in members_by_year.items():
        have = {s for (m, yy, s), c in cells.items() if yy == y and m in members and c.has_data}
        out[y] = min(have, key=lambda s: (precedence.get(s, 1_000), s)) if have else None
    return out


def _pct(cur: float, prev: float) -> float:
    return (cur / prev - 1.0) * 100.0


def group_growth(
    values: pl.DataFrame,
    membership: Membership,
    partner: str,
    first_year: int,
    last_year: int,
    basis: str,
    mode: str = "constant",
    context: Context | None = None,
) -> pl.DataFrame:
    """Rows (COLUMNS) for each member of the composition and each year first_year..last_year, then one
    group row per year. Growth of first_year uses first_year - 1 when `values` has it.

    `values`: member, year, flow, value_usd, is_estimated, vintage, source (and derivation) on the
    chosen basis, for every source considered. A partner that is itself a member is left out of the
    group (a country does not trade with itself) and the group rows say so. Raises ValueError for an
    impossible range, an unknown composition or rule.
    """
    context = context or Context()
    if first_year > last_year:
        raise ValueError(f"--from {first_year} is after --to {last_year}")
    if context.rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, not {context.rule!r}")
    years = list(range(first_year - 1, last_year + 1))
    composed = composition(membership, years, mode, last_year)
    members_by_year = {y: [m for m in ms if m != partner] for y, ms in composed.items()}
    cells = _cells(values)
    chosen = choose_sources(cells, members_by_year, context.precedence)
    names = context.names
    out = []
    for y in years[1:]:
        level = chosen[y]
        # the base of the growth: the same source as year y where it has the year before, else that year's own
        base = (
            level
            if level and any(cells.get((m, y - 1, level), EMPTY).has_data for m in members_by_year[y - 1])
            else chosen[y - 1]
        )
        now = (
            {m: cells.get((m, y, level), EMPTY) for m in members_by_year[y]}
            if level
            else {m: EMPTY for m in members_by_year[y]}
        )
        everyone = set(members_by_year[y]) | set(members_by_year[y - 1])
        before = {m: cells.get((m, y - 1, base), EMPTY) if base else EMPTY for m in everyone}
        group = _group(y, now, before, members_by_year, context.rule)
        source_note = _source_note(y, level, base, now, before)
        for m in members_by_year[y]:
            cur, prev = now[m], before.get(m, EMPTY)
            growth, counted, note = _member_growth(m, y, cur, prev, context.rule)
            contribution = None
            if counted and group.ok:
                common = counted
                contribution = (cur.only(common).value - prev.only(common).value) / group.prev_value * 100.0
            elif counted:
                note = _join(note, "no contribution: " + group.note)
            breaks = _breaks(y, [m, partner], context.breaks)
            shown_prev = prev.only(counted).value if counted else prev.value
            out.append(
                _row(
                    m,
                    partner,
                    y,
                    cur,
                    growth,
                    contribution,
                    basis,
                    cur.coverage or "none",
                    _join(
                        note,
                        *_cell_notes(context, [m], y),
                        _small_base(growth is not None, shown_prev, y, context.currency),
                        source_note if cur.has_data else None,
                        _derived_note(cur, prev),
                        *(b.note for b in breaks),
                    ),
                    level,
                    names,
                    (prev.only(counted) if counted else prev) if prev.has_data else None,
                    bool(breaks),
                    context.currency,
                )
            )
        breaks = _breaks(y, [partner, *sorted(set(members_by_year[y]) | set(members_by_year[y - 1]))], context.breaks)
        excluded = (
            f"partner {partner} is a member: the group here is the other members" if partner in composed[y] else None
        )
        missing = f"no figures for {y} in {', '.join(context.sources) or 'the sources'}" if level is None else None
        out.append(
            _row(
                membership.group_code,
                partner,
                y,
                group.cell,
                group.growth,
                None,
                basis,
                group.coverage,
                _join(
                    missing,
                    group.note if not group.ok else None,
                    group.left_out,
                    excluded,
                    *_cell_notes(context, members_by_year[y], y),
                    _small_base(group.growth is not None, group.prev_value, y, context.currency),
                    source_note if group.cell.has_data else None,
                    _derived_note(group.cell, group.prev_cell),
                    *(b.note for b in breaks),
                ),
                level,
                {**names, membership.group_code: names.get(membership.group_code, membership.group_code)},
                group.prev_cell if group.growth is not None else None,
                bool(breaks),
                context.currency,
            )
        )
    return pl.DataFrame(out, schema={c: _DTYPES.get(c, pl.String) for c in COLUMNS}, orient="row")


@dataclass
class _Group:
    cell: Cell
    coverage: str
    ok: bool
    growth: float | None
    prev_value: float | None
    prev_cell: Cell
    note: str | None
    left_out: str | None


def _sum_cells(cells: list[Cell]) -> Cell:
    flows: dict[str, float] = {}
    est: dict[str, float] = {}
    usd: dict[str, float] = {}
    for c in cells:
        for total, part in ((flows, c.flows), (est, c.estimated), (usd, c.usd)):
            for f, v in part.items():
                total[f] = total.get(f, 0.0) + v
    return Cell(
        flows,
        est,
        tuple(sorted({v for c in cells for v in c.vintages})),
        next((c.source for c in cells if c.source), None),
        tuple(sorted({d for c in cells for d in c.derived})),
        usd,
    )


def _group(y: int, now: dict[str, Cell], before: dict[str, Cell], members_by_year, rule: str) -> _Group:
    """The group's value in y, and its growth over y - 1 under the rule."""
    with_now = [m for m in members_by_year[y] if now[m].has_data]
    cell = _sum_cells([now[m] for m in with_now]) if with_now else EMPTY
    coverage = f"{len(with_now)}/{len(members_by_year[y])} members"
    if members_by_year[y] != members_by_year[y - 1]:
        joined = _codes(set(members_by_year[y]) - set(members_by_year[y - 1]))
        left = _codes(set(members_by_year[y - 1]) - set(members_by_year[y]))
        return _Group(
            cell,
            coverage,
            False,
            None,
            None,
            EMPTY,
            f"membership changed between {y - 1} and {y} (joined {joined}, left {left})",
            None,
        )
    with_before = {m for m in members_by_year[y - 1] if before.get(m, EMPTY).has_data}
    if not with_now or not with_before:
        return _Group(
            cell, coverage, False, None, None, EMPTY, f"no member data in {y if not with_now else y - 1}", None
        )
    left_out = None
    if rule == "like-for-like":
        common = [m for m in with_now if m in with_before]
        dropped = [
            f"{m} (no data in {y - 1 if m not in with_before else y})" for m in sorted(set(with_now) ^ with_before)
        ]
        flows = {m: set(now[m].flows) & set(before[m].flows) for m in common}
        dropped += [
            f"{m} {'+'.join(f for f in FLOWS if f in (set(now[m].flows) | set(before[m].flows)) - flows[m])}"
            for m in common
            if set(now[m].flows) != set(before[m].flows)
        ]
        common = [m for m in common if flows[m]]
        if not common:
            return _Group(
                cell, coverage, False, None, None, EMPTY, f"no member with data in both {y - 1} and {y}", None
            )
        cur = _sum_cells([now[m].only(flows[m]) for m in common])
        prev = _sum_cells([before[m].only(flows[m]) for m in common])
        if dropped:
            left_out = (
                f"like-for-like over {len(common)} members and the flows present in both years; left out: "
                + ", ".join(dropped)
            )
    else:
        if set(with_now) != with_before:
            return _Group(
                cell,
                coverage,
                False,
                None,
                None,
                EMPTY,
                (
                    f"members with data differ: {y - 1} lacks {_codes(set(with_now) - with_before)}, "
                    f"{y} lacks {_codes(with_before - set(with_now))}"
                ),
                None,
            )
        changed = sorted(m for m in with_now if now[m].coverage != before[m].coverage)
        if changed:
            detail = ", ".join(f"{m} {before[m].coverage}->{now[m].coverage}" for m in changed)
            return _Group(
                cell, coverage, False, None, None, EMPTY, f"flows differ between {y - 1} and {y}: {detail}", None
            )
        cur, prev = cell, _sum_cells([before[m] for m in with_now])
    if prev.value <= 0:
        return _Group(cell, coverage, False, None, None, prev, f"group value in {y - 1} is not positive", left_out)
    return _Group(cell, coverage, True, _pct(cur.value, prev.value), prev.value, prev, None, left_out)


def _member_growth(m: str, y: int, cur: Cell, prev: Cell, rule: str) -> tuple[float | None, set[str], str | None]:
    """(growth_pct, the flows its change counts over in the group's growth (empty: none), note).
    A member whose growth is undefined because its previous value was 0 still counts, so it has a
    contribution."""
    if not cur.has_data:
        return None, set(), f"no data for {m} in {y}"
    if not prev.has_data:
        return None, set(), f"no data for {m} in {y - 1}"
    note = None
    flows = set(cur.flows)
    if set(prev.flows) != flows:
        if rule != "like-for-like" or not set(prev.flows) & flows:
            return None, set(), f"flows differ: {cur.coverage} in {y}, {prev.coverage} in {y - 1}"
        flows = set(prev.flows) & flows
        note = f"like-for-like over {'+'.join(f for f in FLOWS if f in flows)}, the flows present in both years"
    base = prev.only(flows).value
    if base <= 0:
        return None, flows, _join(note, f"value in {y - 1} is not positive: growth undefined")
    return _pct(cur.only(flows).value, base), flows, note


def _source_note(
    y: int, level: str | None, base: str | None, now: dict[str, Cell], before: dict[str, Cell]
) -> str | None:
    """Says where a growth figure's two years come from when they are not one source and release."""
    if not level or not base:
        return None
    if level != base:
        return f"sources differ: {y - 1} from {base}, {y} from {level}"
    v_now = {v for c in now.values() for v in c.vintages}
    v_before = {v for c in before.values() for v in c.vintages}
    if v_now and v_before and v_now != v_before:
        return f"releases differ: {y - 1} from {', '.join(sorted(v_before))}, {y} from {', '.join(sorted(v_now))}"
    return None


def _derived_note(cur: Cell, prev: Cell) -> str | None:
    derived = sorted(set(cur.derived) | set(prev.derived))
    return ("derived values, not the reporter's own report: " + ", ".join(derived)) if derived else None


def _small_base(has_growth: bool, base: float | None, y: int, currency: str = "USD") -> str | None:
    """A note for a growth rate from a base under 1 million of the currency asked (US$ 1 million)."""
    if has_growth and base is not None and 0 < base < SMALL_BASE_USD:
        unit = "US$" if currency == "USD" else currency
        return f"base under {unit} 1 million ({unit} {base / 1e6:.1f} m in {y - 1}): growth says little"
    return None


def _cell_notes(context: Context, members: list[str], y: int) -> list[str]:
    """Why members' values are missing in y or y - 1 (e.g. a year-to-date period with a month missing)."""
    return [context.cell_notes[(m, yy)] for yy in (y - 1, y) for m in members if (m, yy) in context.cell_notes]


def _breaks(y: int, codes: list[str], breaks: dict[str, tuple[EntityBreak, ...]]) -> list[EntityBreak]:
    return [b for c in dict.fromkeys(codes) for b in breaks.get(c, ()) if b.year == y]


def _codes(codes: set[str]) -> str:
    return " ".join(sorted(codes)) or "-"


def _join(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None


_DTYPES = {
    "year": pl.Int32,
    "value_usd": pl.Float64,
    "growth_pct": pl.Float64,
    "contribution_pp": pl.Float64,
    "estimated_share": pl.Float64,
    "prev_value_usd": pl.Float64,
    "entity_break": pl.Boolean,
    "value": pl.Float64,
    "prev_value": pl.Float64,
}


def _cents(v: float | None) -> float | None:
    return round(v, 2) if v is not None else None  # to the cent: float sums carry noise below it


def _row(
    reporter,
    partner,
    year,
    cell: Cell,
    growth,
    contribution,
    basis,
    coverage,
    note,
    source,
    names,
    prev: Cell | None,
    entity_break,
    currency,
) -> tuple:
    value = cell.value
    share = sum(cell.estimated.values()) / value if value else None
    return (
        reporter,
        partner,
        year,
        "1-12",
        _cents(cell.value_usd),
        growth,
        contribution,
        basis,
        coverage,
        share,
        cell.source or source,
        ";".join(cell.vintages) or None,
        note,
        names.get(reporter),
        names.get(partner),
        _cents(prev.value_usd) if prev else None,
        entity_break,
        currency,
        _cents(value),
        _cents(prev.value) if prev else None,
    )


def single_currency(values: pl.DataFrame) -> str:
    """The one currency of `values` (its `currency` column) for growth in the sources' own currency.
    Raises ValueError when the figures come in more than one (a sum over members or sources in
    different currencies means nothing) or in none."""
    currencies = sorted(set(values["currency"].drop_nulls().to_list())) if "currency" in values.columns else []
    if len(currencies) != 1:
        raise ValueError(
            f"--currency original refused: the figures come in {', '.join(currencies) or 'no currency'}; a sum over "
            "members or sources in different currencies means nothing (ask in US dollars, the default)"
        )
    return currencies[0]


def monthly_growth(
    values: pl.DataFrame,
    membership: Membership,
    partner: str,
    first_year: int,
    last_year: int,
    basis: str,
    mode: str = "constant",
    context: Context | None = None,
    ytd_month: int | None = None,
) -> pl.DataFrame:
    """Growth of monthly figures, by the same rules as group_growth: without `ytd_month`, one row
    per member and month of first_year..last_year, against the same month a year earlier (months
    "9"); with `ytd_month` K, one row per member and year covering months 1..K, against months 1..K
    of the year before (months "1-9"). A year-to-date value needs every month 1..K of its flow: a
    flow with a month missing has no value that year (never a partial sum), and the note says which
    months are missing, so an incomplete period is never compared with a complete one.

    `values`: member, year, month, flow, value (in context.currency), value_usd, is_estimated,
    vintage, source, derivation. Raises ValueError for a month outside 1-12, and what group_growth
    raises.
    """
    context = context or Context()
    if ytd_month is None:
        frames = []
        for month in range(1, 13):
            part = values.filter(pl.col("month") == month) if values.height else values
            rows = group_growth(part, membership, partner, first_year, last_year, basis, mode, context)
            frames.append(rows.with_columns(months=pl.lit(str(month))))
        return pl.concat(frames).sort("year", pl.col("months").cast(pl.Int32), maintain_order=True)
    if not 1 <= ytd_month <= 12:
        raise ValueError(f"--ytd-month must be a month 1-12, not {ytd_month}")
    months = f"1-{ytd_month}"
    span = values.filter(pl.col("month") <= ytd_month) if values.height else values
    per_flow = (
        span.group_by("member", "year", "flow", "source").agg(
            pl.col("month").n_unique().alias("n"),
            pl.col("month").sort().alias("have"),
            pl.col("value").sum(),
            pl.col("value_usd").sum(),
            pl.col("is_estimated").any(),
            pl.col("vintage").max(),
            pl.col("derivation").drop_nulls().first(),
        )
        if span.height
        else span
    )
    notes = dict(context.cell_notes)
    if per_flow.height:
        for r in per_flow.filter(pl.col("n") < ytd_month).iter_rows(named=True):
            missing = sorted(set(range(1, ytd_month + 1)) - set(r["have"]))
            notes[(r["member"], r["year"])] = _join(
                notes.get((r["member"], r["year"])),
                f"{r['member']} {r['flow']} {r['year']}: months {', '.join(map(str, missing))} missing, no {months} value",
            )
        per_flow = per_flow.filter(pl.col("n") == ytd_month).drop("n", "have")
    ytd_context = Context(
        context.precedence, context.breaks, context.names, context.rule, context.sources, context.currency, notes
    )
    return group_growth(per_flow, membership, partner, first_year, last_year, basis, mode, ytd_context).with_columns(
        months=pl.lit(months)
    )
