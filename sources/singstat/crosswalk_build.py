"""Generate the SingStat name crosswalk seed from the workbooks' series labels.

    python -m tradewh.sources.singstat.crosswalk_build [WORKBOOK_DIR]   # default: data/singstat

Every series label of the three tables (T1-T3) of every workbook in the folder, without its
indentation (data or not), plus the reporter "Singapore", gets one row:
- an override row from `crosswalk_overrides.csv` (beside this file) if there is one (method
  `override`): the total (W00), SingStat's regions (new group codes), the regions' "Other Markets"
  residuals (new not_specified codes), and the markets country_converter gets wrong or that are
  ambiguous, each with its reason in `note`;
- else country_converter's ISO3 for the name, accepted only if pycountry lists it as a current
  ISO 3166-1 code (method `country_converter`);
- else the build fails, listing the name: a name no library recognises never passes through as a code.

A code is one entity whichever source names it (warehouse.crosswalk.load_crosswalks checks it): a
code another registered crosswalk defines takes its entity_type, valid_from, valid_to and label from
there (an override leaves them empty, or gives the same values). A new code needs entity_type and
label in its override and must lie in ISO 3166-1's user-assigned alpha-3 range QMA-QZZ (the
project's X.. codes are the IMF's and Comtrade's aggregates; QAA-QLZ is not user-assigned: QAT is
Qatar). Fails too on two names mapping to the same code (that would merge two published series into
one key). Writes `crosswalk.csv` (beside this file), sorted by name; a test checks the committed file
equals this output.
"""

import logging
import re
import sys
from datetime import date
from pathlib import Path

import polars as pl

from tradewh.sources.singstat import reader
from tradewh.sources.singstat.source import SOURCE
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
DEFAULT_WORKBOOKS = SOURCE.default_input
NEW_CODE = re.compile(r"^Q[M-Z][A-Z]$")  # ISO 3166-1 alpha-3 user-assigned QMA-QZZ


def workbook_names(folder: Path) -> list[str]:
    """Every series label (without indentation) of T1-T3 of the workbooks in `folder`, plus the
    reporter, sorted. Raises SingStatLayoutError for a workbook not in the export layout."""
    names = {reader.REPORTER}
    paths, _ = SOURCE.input_paths(folder)
    for path in paths:
        names |= reader.scan_workbook(path, vintage=date(1900, 1, 1)).names
    return sorted(names)


def build(
    names: list[str], overrides_path: Path = OVERRIDES, other_codes: dict[str, tuple[str, dict]] | None = None
) -> pl.DataFrame:
    """names -> crosswalk frame (CROSSWALK_SCHEMA columns, all text). Raises ValueError listing every
    name no override or library maps, every override whose attributes or new code are wrong, and
    codes claimed by more than one name."""
    import country_converter as coco

    logging.getLogger("country_converter").setLevel(logging.ERROR)
    overrides = pl.read_csv(overrides_path, infer_schema=False, null_values=[""])
    dup = overrides.filter(pl.col("source_name").is_duplicated())["source_name"].unique().to_list()
    if dup:
        raise ValueError(f"{overrides_path}: names listed twice: {sorted(dup)}")
    by_name = {r["source_name"]: r for r in overrides.iter_rows(named=True)}
    other_codes = other_crosswalk_codes(SOURCE.name) if other_codes is None else other_codes
    todo = sorted(set(names) | set(by_name))
    unknown = [n for n in todo if n not in by_name]
    guesses = coco.CountryConverter().convert(unknown, to="ISO3", not_found=None) if unknown else []
    guesses = dict(zip(unknown, guesses if isinstance(guesses, list) else [guesses]))
    rows, problems = [], []
    for name in todo:
        if name in by_name:
            o = by_name[name]
            code = o["code"] or ""
            attrs = {a: o[a] for a in ENTITY_ATTRIBUTES}
            if code in other_codes:
                source, theirs = other_codes[code]
                wrong = {a: v for a, v in attrs.items() if v is not None and v != theirs[a]}
                if wrong:
                    problems.append(
                        f"override {name!r}: {wrong} differ from the {source} crosswalk's {code} "
                        f"({ {a: theirs[a] for a in wrong} })"
                    )
                attrs = dict(theirs)
            elif not NEW_CODE.match(code) and country_attributes(code) is None:
                problems.append(
                    f"override {name!r}: code {code!r} is neither in another crosswalk, nor a current "
                    "ISO 3166-1 code, nor a new code in the user-assigned range QMA-QZZ"
                )
            elif not NEW_CODE.match(code) and attrs["entity_type"] is None:
                attrs = country_attributes(code)
            if attrs["entity_type"] not in ENTITY_TYPES or not attrs["label"]:
                problems.append(
                    f"override {name!r}: needs an entity_type ({', '.join(ENTITY_TYPES)}) and a label, "
                    f"found {attrs['entity_type']!r}, {attrs['label']!r}"
                )
            rows.append(
                {
                    "source": SOURCE.name,
                    "source_name": name,
                    "code": code,
                    **attrs,
                    "method": "override",
                    "note": o["note"],
                }
            )
            continue
        iso3 = guesses[name]
        country = country_attributes(iso3) if isinstance(iso3, str) else None
        if country is None:
            problems.append(
                f"{name!r} (country_converter: {iso3!r}) is not a current ISO 3166-1 country; "
                f"add it to {overrides_path}"
            )
            continue
        attrs = other_codes[iso3][1] if iso3 in other_codes else country
        rows.append(
            {
                "source": SOURCE.name,
                "source_name": name,
                "code": iso3,
                **attrs,
                "method": "country_converter",
                "note": None,
            }
        )
    if problems:
        raise ValueError("crosswalk not built:\n  " + "\n  ".join(problems))
    return one_name_per_code(rows, named_by="name")


def main(argv: list[str]) -> int:
    return write_seed(
        SOURCE, lambda folder: build(workbook_names(folder)), Path(argv[0]) if argv else DEFAULT_WORKBOOKS
    )


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
