"""Benchmark: product-level scale (`make bench-scale`), on synthetic BACI-shaped files
(sources/baci/synthetic.py; no real BACI file is bundled).

    .venv/bin/python benchmarks/scale.py [--rows 10000000] [--years 30] [--runs 3]
                                         [--memory-limit 4GB] [--queries 20] [--keep DIR]

1. One year into the warehouse against DuckDB's own load, interleaved --runs times in this
   process (which goes first alternates): the floor is `CREATE TABLE t AS SELECT * FROM
   read_csv(<file>, <explicit column types>)` into a new persistent DuckDB file; the load is what
   `tradewh products` does for a file, without Dagster: read the folder's releases (SHA-256 of the
   file), load it (warehouse.bulk.load_file: CSV -> Parquet partition, audit, manifest) into a new
   empty home, and publish the product views. `hs6_year_vs_ctas_ratio=<median ratio>`.
2. --years years, one after another, into one home, in a child process with DuckDB's memory_limit
   at --memory-limit: each year's file is written by the generator in its own process just before
   (not timed, not in the child's memory) and removed after its load. Prints each year's seconds,
   `peak_rss_mb=<the child's max RSS>` and `year_last_vs_first_ratio=<last year's load / first's>`.
3. The product-level growth question on those years: ASEAN members' trade with Russia in HS
   chapter 27 over the last 10 years (warehouse.queries.product_group_growth, what `tradewh
   product-growth` runs, through the published warehouse's views), one untimed warm-up, then
   --queries timed runs on a read-only connection (as `tradewh sql` opens it):
   `product_growth_p50_s=<float> product_growth_p95_s=<float>`.

Needs about 150 MB of disk per year loaded (plus one CSV of ~300 MB at a time) under the work
folder (a temporary folder, removed at the end unless --keep).
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIRST_YEAR = 1991
CTAS_TYPES = (
    "{'t': 'SMALLINT', 'i': 'INTEGER', 'j': 'INTEGER', 'k': 'VARCHAR', 'v': 'DECIMAL(18,3)', 'q': 'DECIMAL(18,3)'}"
)
GROWTH = ("H5", "ASEAN", "RUS", "27")  # revision, group, partner, HS chapter (the synthetic files are HS17 = H5)


def generate(folder: Path, year: int, rows: int) -> Path:
    """One synthetic year file and its RELEASES.csv row, written by the generator in its own process."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tradewh.sources.baci.synthetic",
            str(folder),
            "--years",
            str(year),
            "--rows",
            str(rows),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return next(folder.glob(f"BACI_HS17_Y{year}_*.csv"))


def ctas(csv: Path, db: Path) -> float:
    import duckdb

    db.unlink(missing_ok=True)
    start = time.perf_counter()
    con = duckdb.connect(str(db))
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{csv}', header = true, columns = {CTAS_TYPES})")
    con.close()
    seconds = time.perf_counter() - start
    db.unlink(missing_ok=True)
    return seconds


def load(folder: Path, home: Path, memory_limit: str | None = None, year: int | None = None) -> float:
    """What `tradewh products` does for one file, without Dagster; seconds."""
    from tradewh.sources.baci.source import SOURCE
    from tradewh.warehouse import bulk

    start = time.perf_counter()
    files, errors = SOURCE.input_files(folder)
    assert not errors, errors
    (f,) = [f for f in files if year is None or f.year == year]
    con = bulk.connect(memory_limit=memory_limit, temp_dir=home / "tmp")
    report = bulk.load_file(SOURCE, f, home, con=con)
    con.close()
    bulk.publish_views(home, home / "tradewh.duckdb", f"bench-{f.year}")
    seconds = time.perf_counter() - start
    assert report.rows_read == report.rows_loaded + report.rows_quarantined and not report.skipped
    return seconds


def warm_up() -> None:
    """Import what a load uses and read the crosswalk once, so that no timed run pays for it."""
    from tradewh.sources.baci.source import SOURCE
    from tradewh.warehouse import bulk

    bulk.codes_frame(SOURCE)


def years_worker(work: Path, years: int, rows: int, memory_limit: str) -> None:
    """Part 2, in its own process: prints one JSON line."""
    warm_up()
    folder, home = work / "years_in", work / "home"
    seconds = []
    for year in range(FIRST_YEAR, FIRST_YEAR + years):
        csv = generate(folder, year, rows)
        seconds.append(load(folder, home, memory_limit, year))
        csv.unlink()
        print(f"  year {year}: {seconds[-1]:.2f} s", file=sys.stderr, flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--years", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--keep", type=Path, default=None, help="work folder to use and keep")
    parser.add_argument("--years-worker", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.years_worker:
        years_worker(args.years_worker, args.years, args.rows, args.memory_limit)
        return

    work = args.keep or Path(tempfile.mkdtemp(prefix="tradewh-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"work folder {work}; {args.rows:,} rows a year (synthetic, BACI layout)", flush=True)
        # 1. one year against CTAS, interleaved
        one = work / "one_in"
        csv = generate(one, 2020, args.rows)
        lines = sum(1 for _ in open(csv)) - 1
        floors, loads = [], []
        warm_up()
        for run in range(args.runs):
            home = work / f"one_home_{run}"
            order = ("floor", "load") if run % 2 == 0 else ("load", "floor")
            for what in order:
                if what == "floor":
                    floors.append(ctas(csv, work / "ctas.duckdb"))
                else:
                    loads.append(load(one, home))
                    shutil.rmtree(home)
        ratios = [lo / fl for lo, fl in zip(loads, floors)]
        print(f"one year: {lines:,} rows, {csv.stat().st_size / 1e6:.0f} MB of CSV")
        print(f"  floor (CTAS into a new DuckDB file): median {statistics.median(floors):.2f} s  runs "
              + ", ".join(f"{s:.2f}" for s in floors))  # fmt: skip
        print(f"  load (tradewh products' data path):  median {statistics.median(loads):.2f} s  runs "
              + ", ".join(f"{s:.2f}" for s in loads))  # fmt: skip
        print(f"hs6_year_vs_ctas_ratio={statistics.median(ratios):.2f}", flush=True)
        shutil.rmtree(one)

        # 2. the years, in a child process with the memory limit
        child = subprocess.run(
            [sys.executable, __file__, "--years-worker", str(work), "--years", str(args.years),
             "--rows", str(args.rows), "--memory-limit", args.memory_limit],
            check=True, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        out = json.loads(child.stdout.strip().splitlines()[-1])
        secs = out["seconds"]
        print(f"{args.years} years ({args.years} x ~{lines:,} rows) at memory_limit {args.memory_limit}: "
              f"total {sum(secs):.1f} s, first {secs[0]:.2f} s, last {secs[-1]:.2f} s, median {statistics.median(secs):.2f} s")  # fmt: skip
        print(f"peak_rss_mb={out['peak_rss_mb']} year_last_vs_first_ratio={secs[-1] / secs[0]:.2f}", flush=True)

        # 3. the growth question

        home = work / "home"
        last = FIRST_YEAR + args.years - 1
        first = min(last, max(FIRST_YEAR + 1, last - 9))
        from tradewh.warehouse.queries import connect_read_only, product_group_growth

        with connect_read_only(home / "tradewh.duckdb") as con:
            total_rows = con.execute("SELECT sum(rows_loaded) FROM meta.product_files").fetchone()[0]
            result = product_group_growth(con, *GROWTH, first, last)  # the warm-up
            times = []
            for _ in range(args.queries):
                start = time.perf_counter()
                product_group_growth(con, *GROWTH, first, last)
                times.append(time.perf_counter() - start)
        p95 = statistics.quantiles(times, n=20)[-1] if len(times) >= 2 else times[0]
        print(f"growth question: {GROWTH[1]} x {GROWTH[2]} x HS chapter {GROWTH[3]} ({GROWTH[0]}), {first}-{last}, "
              f"over {total_rows:,} rows; {result.height} result rows; {args.queries} runs after one warm-up")  # fmt: skip
        print(f"product_growth_p50_s={statistics.median(times):.3f} product_growth_p95_s={p95:.3f}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
