"""Generate the IMF IMTS code crosswalk seed from the codes in the CSV exports.

    python -m tradewh.sources.imf_imts.crosswalk_build [CSV_DIR]   # default: data/imf_imts

Every COUNTRY.ID and COUNTERPART_COUNTRY.ID in the exports (whether or not its series has a value)
gets one row, `source_name` = the IMF code as published (e.g. G001, RUS):
- an override row from `crosswalk_overrides.csv` (beside this file) if there is one (method
  `override`); its `imf_name` must be the name the exports give the code, so a code the IMF
  reuses for another entity stops the build;
- else the code itself, if it is a current ISO 3166-1 alpha-3 code in pycountry (method `pycountry`);
- else the build fails, listing the code and its name.

A code is one entity whichever source names it (warehouse.crosswalk.load_crosswalks checks it), so a
code the DOTS crosswalk (sources/imf_dots/crosswalk.csv) defines takes its entity_type, valid_from,
valid_to and label from there: an override leaves those empty (or gives the same values); a
pycountry row copies them. A code DOTS lacks needs entity_type and label in its override (a new
X.. code, which another registered crosswalk may use only for the same entity), or gets pycountry's label as
a country. Fails too on two IMF codes mapping to the same code (that would merge two published
series into one key). Writes `crosswalk.csv` (beside this file), sorted by code as published; a test
checks the committed file equals this output.
"""

import re
import sys
from pathlib import Path

import polars as pl

from tradewh.sources.imf_imts import reader
from tradewh.sources.imf_imts.source import SOURCE
from tradewh.warehouse.crosswalk import (
    ENTITY_ATTRIBUTES,
    ENTITY_TYPES,
    country_attributes,
    one_name_per_code,
    other_crosswalk_codes,
    write_seed,
)

HERE = Path(__file__).parent
OVERRIDES = HERE / "crosswalk_overrides.csv"
DEFAULT_EXPORTS = SOURCE.default_input
# The crosswalk whose definitions of a code this one copies (the project's first, from the DOTS names).
REFERENCE = HERE.parent / "imf_dots" / "crosswalk.csv"
NEW_CODE = re.compile(r"^X[A-Z]{2}$")  # ISO 3166-1's user-assigned range, as the project's other codes


def export_codes(folder: Path) -> dict[str, str]:
    """{IMF code: name as published} for every COUNTRY.ID and COUNTERPART_COUNTRY.ID in the CSV
    exports of `folder` (every series line, with or without values). Raises ImtsLayoutError for a
    file not in the export layout, ValueError for a code published with two names."""
    names: dict[str, set[str]] = {}
    paths, _ = SOURCE.input_paths(folder)
    for path in paths:
        series, _ = reader.read_series(path)
        for code_col, name_col in (("COUNTRY.ID", "COUNTRY"), ("COUNTERPART_COUNTRY.ID", "COUNTERPART_COUNTRY")):
            for code, name in series.select(code_col, name_col).unique().iter_rows():
                names.setdefault(code, set()).add(name)
    twice = {c: sorted(n) for c, n in names.items() if len(n) > 1}
    if twice:
        raise ValueError(f"codes published with more than one name in {folder}: {twice}")
    return {c: n.pop() for c, n in sorted(names.items())}


def build(
    codes: dict[str, str],
    overrides_path: Path = OVERRIDES,
    reference_path: Path = REFERENCE,
    other_codes: dict[str, tuple[str, dict]] | None = None,
) -> pl.DataFrame:
    """{IMF code: published name} -> crosswalk frame (CROSSWALK_SCHEMA columns, all text). Raises
    ValueError listing every code that cannot be mapped, every override whose name, attributes or
    new code is wrong, and codes claimed by more than one IMF code."""
    import pycountry

    overrides = pl.read_csv(overrides_path, infer_schema=False, null_values=[""])
    dup = overrides.filter(pl.col("source_name").is_duplicated())["source_name"].unique().to_list()
    if dup:
        raise ValueError(f"{overrides_path}: codes listed twice: {sorted(dup)}")
    by_code = {r["source_name"]: r for r in overrides.iter_rows(named=True)}
    reference = {
        r["code"]: r for r in pl.read_csv(reference_path, infer_schema=False, null_values=[""]).iter_rows(named=True)
    }
    other_codes = other_crosswalk_codes(SOURCE.name) if other_codes is None else other_codes
    rows, problems = [], []
    for imf_code in sorted(set(codes) | set(by_code)):
        published = codes.get(imf_code)
        if imf_code in by_code:
            o = by_code[imf_code]
            if published is not None and o["imf_name"] != published:
                problems.append(
                    f"override {imf_code}: expects the name {o['imf_name']!r}, the exports give {published!r}"
                )
            attrs = {a: o[a] for a in ENTITY_ATTRIBUTES}
            ref = reference.get(o["code"])
            if ref is not None:
                given = {a: v for a, v in attrs.items() if v is not None}
                wrong = {a: v for a, v in given.items() if v != ref[a]}
                if wrong:
                    problems.append(
                        f"override {imf_code}: {wrong} differ from the DOTS crosswalk's {o['code']} "
                        f"({ {a: ref[a] for a in wrong} })"
                    )
                attrs = {a: ref[a] for a in ENTITY_ATTRIBUTES}
            elif not NEW_CODE.match(o["code"] or "") and pycountry.countries.get(alpha_3=o["code"] or "") is None:
                problems.append(
                    f"override {imf_code}: code {o['code']!r} is neither in the DOTS crosswalk, nor a current "
                    "ISO 3166-1 code, nor a new X.. code"
                )
            elif o["code"] in other_codes and other_codes[o["code"]][1] != attrs:
                source, theirs = other_codes[o["code"]]
                problems.append(f"override {imf_code}: code {o['code']} is already {theirs} in the {source} crosswalk")
            if attrs["entity_type"] not in ENTITY_TYPES or not attrs["label"]:
                problems.append(
                    f"override {imf_code}: needs an entity_type ({', '.join(ENTITY_TYPES)}) and a label, "
                    f"found {attrs['entity_type']!r}, {attrs['label']!r}"
                )
            rows.append(
                {
                    "source": SOURCE.name,
                    "source_name": imf_code,
                    "code": o["code"],
                    **attrs,
                    "method": "override",
                    "note": o["note"],
                }
            )
            continue
        country = country_attributes(imf_code) if re.fullmatch(r"[A-Z]{3}", imf_code) else None
        if country is None:
            problems.append(f"{imf_code} ({published!r}) is not a current ISO 3166-1 code; add it to {overrides_path}")
            continue
        ref = reference.get(imf_code)
        attrs = {a: ref[a] for a in ENTITY_ATTRIBUTES} if ref is not None else country
        rows.append(
            {
                "source": SOURCE.name,
                "source_name": imf_code,
                "code": imf_code,
                **attrs,
                "method": "pycountry",
                "note": None,
            }
        )
    if problems:
        raise ValueError("crosswalk not built:\n  " + "\n  ".join(problems))
    return one_name_per_code(rows, named_by="IMF code")


def main(argv: list[str]) -> int:
    return write_seed(SOURCE, lambda folder: build(export_codes(folder)), Path(argv[0]) if argv else DEFAULT_EXPORTS)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
