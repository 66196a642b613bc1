"""Growth of a group's trade with a partner, member by member, on a named basis — the rules.

Rules (README, "Growth"):
- a member's total trade with the partner = the sum of the flows present (X, M); the row says which;
- a group total = the sum over the members that have data; the row says how many of the members;
- growth is computed only when the same members and the same flows are present in both years;
  otherwise it is empty and the note says why;
- growth in percent, contributions in percentage points: a member's contribution = its change
  divided by the group's previous-year total (where the group's growth is computed; also for a
  member whose own growth is undefined because its previous value was 0), so they add up;
- a partner that is itself a member is left out of the group (it does not trade with itself);
- the first year's growth uses the year before it when the data have it;
- composition 'constant' = the members at the end of the last year asked for, applied to every year;
  'yearly' = each year's own year-end members (then a membership change leaves growth empty);
- basis 'reporter' = the members' own figures; 'mirror' = the partner's figures for the same flows
  (for trade with Russia: what Russia reported), unadjusted;
- estimated values are used and counted: estimated_share = estimated value / value.

Input: a frame of the members' values (member, year, flow, value_usd, is_estimated, vintage, source)
from marts.bilateral_annual (warehouse/sql/growth_inputs.sql). No DuckDB or Dagster here.
"""

from dataclasses import dataclass
from datetime import date

import polars as pl

COLUMNS = [
    "reporter", "partner", "year", "months", "value_usd", "growth_pct", "contribution_pp", "basis",
    "coverage", "estimated_share", "source", "vintage", "note",
]


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
class Cell:
    """One member's (or the group's) trade with the partner in one year."""

    value: float | None
    flows: str  # "X+M", "X", "M" or "" (none)
    estimated: float
    vintages: tuple[str, ...]
    sources: tuple[str, ...]

    @property
    def has_data(self) -> bool:
        return self.value is not None


def _cell(rows: pl.DataFrame) -> Cell:
    rows = rows.filter(pl.col("value_usd").is_not_null())
    if rows.height == 0:
        return Cell(None, "", 0.0, (), ())
    flows = "+".join(f for f in ("X", "M") if f in set(rows["flow"].to_list()))
    return Cell(
        float(rows["value_usd"].sum()),
        flows,
        float(rows.filter(pl.col("is_estimated"))["value_usd"].sum()),
        tuple(sorted({str(v) for v in rows["vintage"].to_list()})),
        tuple(sorted(set(rows["source"].to_list()))),
    )


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
    source: str = "imf_dots",
) -> pl.DataFrame:
    """Rows (COLUMNS) for each member of the composition and each year first_year..last_year, then one
    group row per year. Growth of first_year uses first_year - 1 when `values` has it.

    `values`: member, year, flow, value_usd, is_estimated, vintage, source (the chosen basis). A
    partner that is itself a member is left out of the group (a country does not trade with itself)
    and the group rows say so. Raises ValueError for an impossible range or an unknown composition.
    """
    if first_year > last_year:
        raise ValueError(f"--from {first_year} is after --to {last_year}")
    years = list(range(first_year - 1, last_year + 1))
    composed = composition(membership, years, mode, last_year)
    members_by_year = {y: [m for m in ms if m != partner] for y, ms in composed.items()}
    # the note goes on the group rows of the years whose composition has the partner in it
    excluded = f"partner {partner} is a member: the group here is the other members"
    everyone = sorted({m for ms in members_by_year.values() for m in ms})
    cells = {(m, y): _cell(values.filter((pl.col("member") == m) & (pl.col("year") == y))) for y in years for m in everyone}
    group_cells = {}
    for y in years:
        with_data = [m for m in members_by_year[y] if cells[(m, y)].has_data]
        group_cells[y] = Cell(
            sum(cells[(m, y)].value for m in with_data) if with_data else None,
            f"{len(with_data)}/{len(members_by_year[y])} members",
            sum(cells[(m, y)].estimated for m in with_data),
            tuple(sorted({v for m in with_data for v in cells[(m, y)].vintages})),
            tuple(sorted({s for m in with_data for s in cells[(m, y)].sources})),
        )
    out = []
    for y in years[1:]:
        group_ok, group_note = _group_comparable(y, members_by_year, cells, group_cells)
        group_prev = group_cells[y - 1]
        for m in members_by_year[y]:
            cur, prev = cells[(m, y)], cells[(m, y - 1)]
            growth, comparable, note = _member_growth(m, y, cur, prev)
            contribution = None
            if comparable and group_ok:
                contribution = (cur.value - prev.value) / group_prev.value * 100.0
            elif comparable:
                note = _join(note, "no contribution: " + group_note)
            out.append(_row(m, partner, y, cur, growth, contribution, basis, cur.flows or "none", note, source))
        g = group_cells[y]
        growth = _pct(g.value, group_prev.value) if group_ok else None
        out.append(
            _row(
                membership.group_code, partner, y, g, growth, None, basis, g.flows,
                _join(None if group_ok else group_note, excluded if partner in composed[y] else None), source,
            )
        )
    return pl.DataFrame(out, schema={c: _DTYPES.get(c, pl.String) for c in COLUMNS}, orient="row")


def _codes(codes: set[str]) -> str:
    return " ".join(sorted(codes)) or "-"


def _join(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None


_DTYPES = {"year": pl.Int32, "value_usd": pl.Float64, "growth_pct": pl.Float64, "contribution_pp": pl.Float64,
           "estimated_share": pl.Float64}


def _member_growth(m: str, y: int, cur: Cell, prev: Cell) -> tuple[float | None, bool, str | None]:
    """(growth_pct, comparable, note). comparable = data in both years with the same flows: then the
    member's change counts in the group's growth, so it has a contribution even where its own growth
    is undefined (previous value 0)."""
    if not cur.has_data:
        return None, False, f"no data for {m} in {y}"
    if not prev.has_data:
        return None, False, f"no data for {m} in {y - 1}"
    if prev.flows != cur.flows:
        return None, False, f"flows differ: {cur.flows} in {y}, {prev.flows} in {y - 1}"
    if prev.value <= 0:
        return None, True, f"value in {y - 1} is not positive: growth undefined"
    return _pct(cur.value, prev.value), True, None


def _group_comparable(y, members_by_year, cells, group_cells) -> tuple[bool, str | None]:
    now, before = members_by_year[y], members_by_year[y - 1]
    if now != before:
        joined, left = _codes(set(now) - set(before)), _codes(set(before) - set(now))
        return False, f"membership changed between {y - 1} and {y} (joined {joined}, left {left})"
    with_now = {m for m in now if cells[(m, y)].has_data}
    with_before = {m for m in before if cells[(m, y - 1)].has_data}
    if not with_now or not with_before:
        return False, f"no member data in {y if not with_now else y - 1}"
    if with_now != with_before:
        return False, (
            f"members with data differ: {y - 1} lacks {_codes(with_now - with_before)}, "
            f"{y} lacks {_codes(with_before - with_now)}"
        )
    changed = sorted(m for m in with_now if cells[(m, y)].flows != cells[(m, y - 1)].flows)
    if changed:
        detail = ", ".join(f"{m} {cells[(m, y - 1)].flows}->{cells[(m, y)].flows}" for m in changed)
        return False, f"flows differ between {y - 1} and {y}: {detail}"
    if group_cells[y - 1].value <= 0:
        return False, f"group value in {y - 1} is not positive"
    return True, None


def _row(reporter, partner, year, cell: Cell, growth, contribution, basis, coverage, note, source) -> tuple:
    share = cell.estimated / cell.value if cell.has_data and cell.value else None
    value = round(cell.value, 2) if cell.has_data else None  # to the cent: float sums carry noise below it
    return (
        reporter, partner, year, "1-12", value, growth, contribution, basis, coverage, share,
        ";".join(cell.sources) or source, ";".join(cell.vintages) or None, note,
    )
