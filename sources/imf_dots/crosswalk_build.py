"""Generate the IMF DOTS name crosswalk seed from the workbooks' names.

    python -m sources.imf_dots.crosswalk_build [WORKBOOK_DIR]   # default: data/imf_dots

Every reporter (B4) and partner (column B, rows with data) name in the workbooks gets one row:
an override row from `crosswalk_overrides.csv` (beside this file) if there is one, else
country_converter's ISO3, accepted only if it is a single current ISO 3166-1 code (pycountry).
Corrections are data rows in the overrides file, never code branches here.

Fails (exit 1, listing them) on names neither source can map, and on two names mapping to the same
code (that would merge two published series into one key). Writes
`crosswalk.csv` (beside this file), sorted by name; a test checks the committed file equals this output.
"""

import logging
import sys
from pathlib import Path

import polars as pl

from sources.imf_dots import workbook
from sources.imf_dots.source import SOURCE
from warehouse.crosswalk import ENTITY_TYPES, country_attributes, one_name_per_code, write_seed

OVERRIDES = Path(__file__).parent / "crosswalk_overrides.csv"
DEFAULT_WORKBOOKS = SOURCE.default_input


def workbook_names(folder: Path) -> list[str]:
    """Every reporter name and every partner name with at least one value, across *.xlsx in folder."""
    from datetime import date

    names: set[str] = set()
    for path in sorted(folder.glob("*.xlsx")):
        cells = workbook.read_workbook(path, vintage=date(1900, 1, 1))
        names.update(cells["reporter_name"].unique().to_list())
        names.update(cells["partner_name"].drop_nulls().unique().to_list())
    return sorted(names)


def build(names: list[str], overrides_path: Path = OVERRIDES) -> pl.DataFrame:
    """names -> crosswalk frame (CROSSWALK_SCHEMA). Raises ValueError listing unmappable names and
    codes claimed by more than one name."""
    import country_converter as coco

    logging.getLogger("country_converter").setLevel(logging.ERROR)
    overrides = pl.read_csv(overrides_path, infer_schema=False, null_values=[""])
    by_name = {r["source_name"]: r for r in overrides.iter_rows(named=True)}
    bad_types = [n for n, r in by_name.items() if r["entity_type"] not in ENTITY_TYPES]
    if bad_types:
        raise ValueError(f"{overrides_path}: unknown entity_type for {bad_types}")
    todo = sorted(set(names) | set(by_name))
    unknown = [n for n in todo if n not in by_name]
    guesses = coco.CountryConverter().convert(unknown, to="ISO3", not_found=None)
    guesses = dict(zip(unknown, guesses if isinstance(guesses, list) else [guesses]))
    rows, unmapped = [], []
    for name in todo:
        if name in by_name:
            r = by_name[name]
            rows.append({**r, "source": "imf_dots", "source_name": name, "method": "override"})
            continue
        iso3 = guesses[name]
        attributes = country_attributes(iso3)
        if attributes is None:
            unmapped.append(f"{name!r} (country_converter: {iso3!r})")
            continue
        rows.append({"source": "imf_dots", "source_name": name, "code": iso3, **attributes,
                     "method": "country_converter", "note": None})
    if unmapped:
        raise ValueError(f"names with no crosswalk row; add them to {overrides_path}: " + ", ".join(unmapped))
    return one_name_per_code(rows)


def main(argv: list[str]) -> int:
    return write_seed(SOURCE, lambda folder: build(workbook_names(folder)), Path(argv[0]) if argv else DEFAULT_WORKBOOKS)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
