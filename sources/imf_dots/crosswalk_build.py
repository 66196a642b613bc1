"""Generate the IMF DOTS name crosswalk seed from the workbooks' names.

    python -m tradewh.sources.imf_dots.crosswalk_build [WORKBOOK_DIR]   # default: data/imf_dots

Every reporter (B4) and partner (column B, rows with data) name in the workbooks gets one row:
an override row from `crosswalk_overrides.csv` (beside this file) if there is one, else
country_converter's ISO3, accepted only if it is a single current ISO 3166-1 code (pycountry).
Corrections are data rows in the overrides file, never code branches here.

Fails (exit 1, listing them) on names neither source can map, and on two names mapping to the same
code (that would merge two published series into one key). Writes
`crosswalk.csv` (beside this file), sorted by name; a test checks the committed file equals this output.

It also writes `area_codes.csv`, the legacy web service's area codes by the IMF names the
workbooks print (answer.py reads its archived answers by it): every country of the crosswalk under
its ISO 3166-1 alpha-2 code (pycountry), and the service's own codes for aggregates from
`area_codes_overrides.csv` (W00 World, B0 European Union).
"""

import logging
import sys
from pathlib import Path

import polars as pl

from tradewh.sources.imf_dots import workbook
from tradewh.sources.imf_dots.source import SOURCE
from tradewh.warehouse.crosswalk import ENTITY_TYPES, country_attributes, one_name_per_code, write_seed

OVERRIDES = Path(__file__).parent / "crosswalk_overrides.csv"
AREA_OVERRIDES = Path(__file__).parent / "area_codes_overrides.csv"
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
        rows.append(
            {
                "source": "imf_dots",
                "source_name": name,
                "code": iso3,
                **attributes,
                "method": "country_converter",
                "note": None,
            }
        )
    if unmapped:
        raise ValueError(f"names with no crosswalk row; add them to {overrides_path}: " + ", ".join(unmapped))
    return one_name_per_code(rows)


def area_codes(crosswalk: pl.DataFrame, overrides_path: Path = AREA_OVERRIDES) -> pl.DataFrame:
    """The crosswalk frame -> area codes (code, imf_name, method), sorted by code: each country row
    under its code's ISO 3166-1 alpha-2 (pycountry), then the override rows. Raises ValueError
    naming the codes given two names, or an override naming no crosswalk name."""
    import pycountry

    rows = []
    for name, code in crosswalk.filter(pl.col("entity_type") == "country").select("source_name", "code").rows():
        country = pycountry.countries.get(alpha_3=code)
        if country is not None:
            rows.append({"code": country.alpha_2, "imf_name": name, "method": "pycountry_alpha2"})
    overrides = pl.read_csv(overrides_path, infer_schema=False)
    names = set(crosswalk["source_name"])
    if stray := [n for n in overrides["imf_name"] if n not in names]:
        raise ValueError(f"{overrides_path}: names not in the crosswalk: {stray}")
    rows += [{"code": c, "imf_name": n, "method": "override"} for c, n in overrides.select("code", "imf_name").rows()]
    frame = pl.DataFrame(rows, schema={"code": pl.String, "imf_name": pl.String, "method": pl.String}).sort("code")
    if twice := frame.filter(pl.col("code").is_duplicated())["code"].unique().sort().to_list():
        raise ValueError(f"area codes given two names: {twice}")
    return frame


def main(argv: list[str]) -> int:
    from tradewh.sources.imf_dots.answer import AREA_CODES

    status = write_seed(
        SOURCE, lambda folder: build(workbook_names(folder)), Path(argv[0]) if argv else DEFAULT_WORKBOOKS
    )
    if status == 0:
        frame = area_codes(pl.read_csv(SOURCE.crosswalk_path, infer_schema=False))
        frame.write_csv(AREA_CODES)
        print(f"wrote {frame.height} rows to {AREA_CODES}")
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
