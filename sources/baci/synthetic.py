"""Synthetic files in BACI's shape, for the scale benchmark and the tests: never real data, never
loaded by `make run` (nothing in data/ is made by it).

    python -m tradewh.sources.baci.synthetic OUT_DIR [--years 2020 | 1995-2024] [--rows 10000000]
                                            [--hs 17] [--vintage 2024-01-15] [--seed 0.42]

Writes `BACI_HS<hs>_Y<year>_VSYNTHETIC.csv` per year (the version string says what it is) and the
folder's RELEASES.csv rows for them. Each file has BACI's columns (t, i, j, k, v, q) and about
`rows` rows, sorted by exporter, importer and product as CEPII's files are, with:

- exporters and importers drawn from UN Comtrade's numeric country codes (the Comtrade crosswalk),
  with skewed frequencies (a few large traders appear in most rows, as in real trade);
- about 5,700 HS6 codes over chapters 01-97 (no 77), also skewed; codes are made up, not HS's list;
- one row per (exporter, importer, product), never an exporter with itself;
- values log-normal in thousands of US$ (3 decimals, at least 0.001), quantities in tonnes,
  empty for about 5 % of rows.

Generation runs in DuckDB (about 6 s for 10 M rows on 2 cores); random draws are not reproducible
across runs (DuckDB's random() is per thread), so tests compute what they check from the files.
"""

import argparse
import csv
from datetime import date
from pathlib import Path

import duckdb

from tradewh.sources.baci.source import HS_REVISIONS
from tradewh.sources.contract import RELEASES_FILE, file_sha256
from tradewh.warehouse.tables import sql_literal

COMTRADE_CROSSWALK = Path(__file__).parent.parent / "comtrade" / "crosswalk.csv"
VERSION = "SYNTHETIC"

_GENERATE = """
WITH countries AS (
    SELECT CAST(source_name AS INTEGER) AS code, row_number() OVER (ORDER BY hash(source_name)) - 1 AS rank
    FROM read_csv({crosswalk}, all_varchar = true)
    WHERE entity_type = 'country' AND regexp_full_match(source_name, '[0-9]+')
),
products AS (
    SELECT printf('%02d%02d%02d', c, h, s) AS k, row_number() OVER (ORDER BY hash(c, h, s)) - 1 AS rank
    FROM range(1, 98) t1(c), range(1, 21) t2(h), range(1, 10) t3(s)
    WHERE c <> 77 AND hash(c, h) % 2 = 0 AND hash(c, h, s) % 3 <> 0
),
sizes AS (SELECT (SELECT count(*) FROM countries) AS nc, (SELECT count(*) FROM products) AS np),
draws AS (
    SELECT DISTINCT
        CAST(floor(nc * pow(random(), 2.2)) AS INTEGER) AS ei,
        CAST(floor(nc * pow(random(), 1.8)) AS INTEGER) AS ii,
        CAST(floor(np * pow(random(), 1.6)) AS INTEGER) AS pi
    FROM range({draws}), sizes
)
SELECT {year} AS t, e.code AS i, m.code AS j, p.k,
       CAST(greatest(0.001, round(exp(2.0 + 2.2 * z), 3)) AS DECIMAL(18, 3)) AS v,
       CASE WHEN random() < 0.05 THEN NULL
            ELSE CAST(greatest(0.001, round(exp(1.0 + 2.2 * z + 0.8 * (random() - 0.5)), 3)) AS DECIMAL(18, 3)) END AS q
FROM (
    SELECT ei, ii, pi, sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z
    FROM draws LIMIT {keep}
) d
JOIN countries e ON e.rank = d.ei
JOIN countries m ON m.rank = d.ii
JOIN products p ON p.rank = d.pi
WHERE e.code <> m.code
ORDER BY i, j, k
"""


def write_year(out_dir: Path, year: int, rows: int = 10_000_000, hs: str = "17", threads: int | None = None) -> Path:
    """Write one synthetic year file of about `rows` rows into `out_dir` (created); return its path.
    Raises ValueError for an HS revision BACI does not publish."""
    if hs not in HS_REVISIONS:
        raise ValueError(f"HS{hs}: BACI publishes HS{', HS'.join(HS_REVISIONS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"BACI_HS{hs}_Y{year}_V{VERSION}.csv"
    tmp = path.with_suffix(".csv.tmp")
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    sql = _GENERATE.format(
        crosswalk=sql_literal(COMTRADE_CROSSWALK), year=int(year),
        draws=int(rows * 1.25), keep=int(rows * 1.035),
    )  # fmt: skip
    con.execute(f"COPY ({sql}) TO {sql_literal(tmp)} (FORMAT csv, HEADER)")
    con.close()
    tmp.replace(path)
    return path


def declare(out_dir: Path, paths: list[Path], vintage: date, hs: str = "17") -> None:
    """Add a RELEASES.csv row (release_kind declared, the name's classification) for each of
    `paths` to `out_dir`'s RELEASES.csv, creating it with its header when missing."""
    releases = out_dir / RELEASES_FILE
    new = not releases.exists()
    with open(releases, "a", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        if new:
            w.writerow(["source_file", "file_sha256", "vintage", "release_kind", "classification"])
        for p in paths:
            w.writerow([p.name, file_sha256(p), vintage.isoformat(), "declared", HS_REVISIONS[hs]])


def _years(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--years", default="2020", help="a year or a range, e.g. 1995-2024")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--hs", default="17", choices=sorted(HS_REVISIONS))
    parser.add_argument("--vintage", type=date.fromisoformat, default=date(2024, 1, 15))
    args = parser.parse_args(argv)
    paths = [write_year(args.out_dir, y, args.rows, args.hs) for y in _years(args.years)]
    declare(args.out_dir, paths, args.vintage, args.hs)
    for p in paths:
        print(p)


if __name__ == "__main__":
    main()
