"""Generate the UN Comtrade code crosswalk seed from Comtrade's own reference lists.

    python -m tradewh.sources.comtrade.crosswalk_build [REFERENCE_DIR]   # default: data/comtrade/reference

Source: UN Comtrade+'s reporter and partner reference lists (reference_reporters.csv,
reference_partners.csv: id = Comtrade's numeric code, country, iso_3, iso_2, note, entry_year,
exit_year, group), read as text (Namibia's ISO2 "NA" stays "NA"; some pseudo-codes carry trailing
spaces, stripped before use). Every numeric code of both lists gets one row, `source_name` = the
code as text ("842"):

1. an override row from `crosswalk_overrides.csv` (beside this file) if there is one: World,
   Taiwan, areas nes and special partners, groups, historical codes, aliases (the note says why);
2. else the list's ISO3, accepted only if it is a current ISO 3166-1 alpha-3 code (pycountry).

Attributes of a code (entity_type, valid_from, valid_to, label) are one entity's, whichever
crosswalk names it: for a code the IMF DOTS crosswalk defines they are copied from it (an override
that states others is refused), else taken from the override, else country with pycountry's name.

For records that carry no numeric code (a layout with reporterISO/partnerISO only, such as the
EU-27 product extract), every ISO3 whose current codes (no exit_year) are one entity gets a row
of its own (FRA: 250 and 251 are both France), `source_name` = the ISO3 (spaces stripped; W00 for
World, as the records write it), mapped as that code is: `method` reference_list_iso3. An ISO3 carried by no current code, or by
several, gets none: a record with it is refused as unmapped, naming it. (Comtrade reused some ISO3
for former codes: BEL was Belgium-Luxembourg's until 1998, so an ISO-only record is read as the
current code's.)

Several numeric codes may map to one code only when they are declared the same entity: by override
rows (all of them but at most one), or by the reference lists themselves (the same ISO3 over year
ranges that do not overlap: one entity over time). Fails (exit 1, listing them) on codes with no row,
on such clashes, and on attributes that differ from another definition. Writes `crosswalk.csv`
(beside this file), sorted by numeric code; a test checks the committed file equals this output.
"""

import csv
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from tradewh.sources.comtrade.source import SOURCE
from tradewh.sources.imf_dots.source import SOURCE as IMF_DOTS
from tradewh.warehouse.crosswalk import ENTITY_ATTRIBUTES, ENTITY_TYPES, country_attributes, seed_frame, write_seed

HERE = Path(__file__).parent
OVERRIDES = HERE / "crosswalk_overrides.csv"
DEFAULT_REFERENCE = SOURCE.default_input / "reference"
REFERENCE_FILES = ("reference_reporters.csv", "reference_partners.csv")


@dataclass(frozen=True)
class RefCode:
    """One numeric code of Comtrade's reference lists (the reporters' row where both lists have it)."""

    code: str  # the numeric code as text, e.g. "842"
    name: str
    iso3: str  # stripped of the lists' trailing spaces
    iso2: str
    entry_year: int | None
    exit_year: int | None
    group: bool
    lists: tuple[str, ...]  # reporters and/or partners


def _year(text: str) -> int | None:
    return int(float(text)) if text and text.strip() else None


def read_reference(folder: Path = DEFAULT_REFERENCE) -> dict[str, RefCode]:
    """Comtrade's reference lists in `folder` -> {numeric code as text: RefCode}, every code of both
    lists. Read with the csv module, all text: "NA" is Namibia's ISO2, not a missing value.

    Raises FileNotFoundError for a missing list, ValueError naming the file and line for a row
    without a numeric id, or for a code whose ISO3 differs between the two lists.
    """
    codes: dict[str, RefCode] = {}
    problems = []
    for name in REFERENCE_FILES:
        path = Path(folder) / name
        role = name.removeprefix("reference_").removesuffix(".csv")
        with open(path, newline="", encoding="utf-8-sig") as fh:
            for line, row in enumerate(csv.DictReader(fh), start=2):
                try:
                    code = str(int(row["id"]))
                    ref = RefCode(
                        code,
                        row["country"].strip(),
                        row["iso_3"].strip(),
                        row["iso_2"],
                        _year(row["entry_year"]),
                        _year(row["exit_year"]),
                        row["group"].strip().lower() == "true",
                        (role,),
                    )
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    raise ValueError(
                        f"{path} line {line}: expected id, country, iso_3, iso_2, entry_year, exit_year, group ({exc})"
                    ) from exc
                if code in codes:
                    if codes[code].iso3 != ref.iso3:
                        problems.append(
                            f"{code}: ISO3 {codes[code].iso3!r} in {codes[code].lists[0]}, {ref.iso3!r} in {role}"
                        )
                    codes[code] = replace(codes[code], lists=codes[code].lists + (role,))
                else:
                    codes[code] = ref
    if problems:
        raise ValueError(f"{folder}: codes whose ISO3 differs between the reference lists: {'; '.join(problems)}")
    return codes


def dots_attributes(path: Path = IMF_DOTS.crosswalk_path) -> dict[str, dict[str, str | None]]:
    """{code: its entity_type, valid_from, valid_to, label} as the IMF DOTS crosswalk defines it."""
    frame = pl.read_csv(path, infer_schema=False, null_values=[""])
    return {r["code"]: {a: r[a] for a in ENTITY_ATTRIBUTES} for r in frame.iter_rows(named=True)}


def _overlap(a: RefCode, b: RefCode) -> bool:
    """Whether two codes' year ranges [entry_year, exit_year] overlap (open ends are unbounded)."""
    lo_a, hi_a = a.entry_year or -(10**6), a.exit_year or 10**6
    lo_b, hi_b = b.entry_year or -(10**6), b.exit_year or 10**6
    return lo_a <= hi_b and lo_b <= hi_a


def build(
    reference: dict[str, RefCode], overrides_path: Path = OVERRIDES, dots: dict[str, dict] | None = None
) -> pl.DataFrame:
    """Reference codes -> crosswalk frame (CROSSWALK_SCHEMA columns as text), sorted by numeric code.

    Raises ValueError listing: override rows with an unknown entity type or without attributes
    for a new code; codes with no override and no current ISO3; a code whose attributes differ
    from the DOTS crosswalk's or between two override rows; codes claimed by several numeric codes
    that are not declared the same entity.
    """

    dots = dots_attributes() if dots is None else dots
    overrides = pl.read_csv(overrides_path, infer_schema=False, null_values=[""])
    by_code = {str(int(r["source_name"])): r for r in overrides.iter_rows(named=True)}
    if len(by_code) != overrides.height:
        raise ValueError(f"{overrides_path}: a numeric code is listed twice")
    problems = []
    bad_types = [c for c, r in by_code.items() if r["entity_type"] not in ENTITY_TYPES]
    if bad_types:
        raise ValueError(f"{overrides_path}: unknown entity_type for codes {bad_types}")
    rows, unmapped = [], []
    for code in sorted(set(reference) | set(by_code), key=int):
        ref = reference.get(code)
        if code in by_code:
            r = by_code[code]
            given = {a: r[a] for a in ENTITY_ATTRIBUTES}
            target = r["code"]
            if target in dots:
                differs = [
                    f"{a} {given[a]!r} (DOTS: {dots[target][a]!r})"
                    for a in ENTITY_ATTRIBUTES
                    if given[a] != dots[target][a]
                ]
                if differs:
                    problems.append(f"override {code} -> {target}: " + ", ".join(differs))
                attributes = dots[target]
            else:
                if not given["label"]:
                    problems.append(f"override {code} -> {target}: a new code needs a label")
                attributes = given
            rows.append(
                {
                    "source": SOURCE.name,
                    "source_name": code,
                    "code": target,
                    **attributes,
                    "method": "override",
                    "note": r["note"],
                }
            )
            continue
        country = country_attributes(ref.iso3)
        if country is None:
            unmapped.append(f"{code} {ref.name!r} (ISO3 {ref.iso3!r})")
            continue
        attributes = dots.get(ref.iso3) or country
        rows.append(
            {
                "source": SOURCE.name,
                "source_name": code,
                "code": ref.iso3,
                **attributes,
                "method": "reference_list",
                "note": None,
            }
        )
    rows += iso3_rows(reference, rows)
    if unmapped:
        problems.append(
            f"codes with no current ISO3 and no override; add them to {overrides_path}: " + ", ".join(unmapped)
        )
    frame = seed_frame(rows)
    # one code, one entity: the same attributes on every row that names it
    mixed = (
        frame.group_by("code")
        .agg(pl.struct(ENTITY_ATTRIBUTES).n_unique().alias("n"), "source_name")
        .filter(pl.col("n") > 1)
    )
    problems += [f"code {c} has different attributes on rows {', '.join(sorted(n))}" for c, _, n in mixed.rows()]
    problems += _clashes(frame, reference)
    if problems:
        raise ValueError("; ".join(problems))
    return frame


def iso3_rows(reference: dict[str, RefCode], rows: list[dict]) -> list[dict]:
    """Rows keyed by ISO3 for records without a numeric code (see the module docstring), each a copy
    of the row of the current code(s) that carry the ISO3 when they are one entity, in ISO3 order."""
    by_code = {r["source_name"]: r for r in rows}
    current: dict[str, list[RefCode]] = {}
    for ref in reference.values():
        iso3 = "W00" if ref.code == "0" else ref.iso3  # World: 'World' in the partners list, W00 in the records
        if iso3 and not iso3.isdigit() and ref.exit_year is None and ref.code in by_code:
            current.setdefault(iso3, []).append(ref)
    return [
        {
            **by_code[refs[0].code],
            "source_name": iso3,
            "method": "reference_list_iso3",
            "note": f"ISO3 of the current code(s) {', '.join(f'{r.code} {r.name!r}' for r in refs)}, for records "
            "without a numeric code",
        }
        for iso3, refs in sorted(current.items())
        if len({by_code[r.code]["code"] for r in refs}) == 1  # one entity, whichever of its codes
    ]


def _clashes(frame: pl.DataFrame, reference: dict[str, RefCode]) -> list[str]:
    """Codes claimed by several numeric codes that are not declared the same entity: more than one
    non-override claimant, unless the reference lists give those the same ISO3 over year ranges
    that do not overlap (one entity over time)."""
    out = []
    shared = (
        frame.filter(pl.col("code").is_duplicated()).group_by("code", maintain_order=True).agg("source_name", "method")
    )
    for code, names, methods in shared.sort("code").rows():
        listed = [reference[n] for n, m in zip(names, methods) if m not in ("override", "reference_list_iso3")]
        over_time = len({r.iso3 for r in listed}) == 1 and not any(
            _overlap(a, b) for i, a in enumerate(listed) for b in listed[i + 1 :]
        )
        if len(listed) > 1 and not over_time:
            shown = ", ".join(f"{r.code} {r.name!r} ({r.entry_year or ''}-{r.exit_year or ''})" for r in listed)
            out.append(
                f"code {code} claimed by numeric codes not declared the same entity: {shown} "
                f"(add override rows saying why they are one entity, or map them apart)"
            )
    return out


def main(argv: list[str]) -> int:
    return write_seed(
        SOURCE, lambda folder: build(read_reference(folder)), Path(argv[0]) if argv else DEFAULT_REFERENCE
    )


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
