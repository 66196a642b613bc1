"""Benchmark: what validation (Great Expectations checks) costs on the full warehouse.

    .venv/bin/python benchmarks/validation.py [--db var/tradewh.duckdb] [--repeat 3]

Needs a built warehouse (`make run`). Each measurement runs in a fresh Python process, so its peak
memory (ru_maxrss) is its own; the median of --repeat runs is reported.

- baseline: build every check's input frame (its SQL over the raw store's files or the warehouse,
  via Arrow) without validating: the data-access floor.
- validation: the same frames through the GX suites (expectations.validate), GX import included.

Prints per-check seconds for one validation run, then the medians, the ratio validation/baseline,
and peak RSS of each. Last line: `validation_s=<float> baseline_s=<float> ratio=<float> peak_rss_mb=<int>`.
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import duckdb, polars as pl
mode, db = sys.argv[1], Path(sys.argv[2])
start = time.perf_counter()
per_check = {{}}
from tradewh.expectations.checks import CANONICAL, SOURCE_COMPARISON, checks_for, raw_columns
with duckdb.connect(str(db), read_only=True) as con:
    raw_files = {{s: ([Path(p) for p in paths], first) for s, paths, first in con.execute(
        "SELECT source::VARCHAR, list(path ORDER BY file_index), min(first_raw_id) FROM meta.raw_files GROUP BY 1").fetchall()}}
from tradewh.sources.registry import SOURCES
raw_assets = [(f"raw/{{s.raw_table.name}}", raw_files.get(s.name, ([], 0))) for s in SOURCES if checks_for(f"raw/{{s.raw_table.name}}")]
if mode == "baseline":
    from tradewh.expectations.validate import _frame
    for asset, (files, first) in raw_assets:
        with duckdb.connect() as mem:
            paths = ", ".join(f"'{{p}}'" for p in files)
            mem.execute(f"CREATE VIEW raw_cells AS SELECT file_row_number AS raw_id, parse_filename(filename) AS raw_file, "
                        f"{{', '.join(raw_columns(asset))}} FROM read_parquet([{{paths}}], file_row_number = true, filename = true)")
            for check in checks_for(asset):
                t = time.perf_counter()
                if check.file_sql:  # its per-file summaries, which its SQL aggregates
                    mem.execute(f"CREATE OR REPLACE TABLE {{Path(check.file_sql).stem}} AS {{check.file_frame_sql()}}")
                _frame(mem, check.frame_sql()); per_check[check.name] = time.perf_counter() - t
    with duckdb.connect(str(db), read_only=True) as con:
        for check in checks_for(CANONICAL) + checks_for(SOURCE_COMPARISON):
            t = time.perf_counter(); _frame(con, check.frame_sql()); per_check[check.name] = time.perf_counter() - t
else:
    from tradewh.expectations.validate import validate_candidate, validate_raw
    outcomes = [o for asset, (files, first) in raw_assets for o in validate_raw(asset, files, first, None)]
    with duckdb.connect(str(db), read_only=True) as con:
        outcomes += validate_candidate(con) + validate_candidate(con, SOURCE_COMPARISON)
    for outcome, secs in outcomes:
        per_check[outcome.name] = secs
        assert outcome.error is None, outcome.error
    from tradewh.expectations import worker
    worker.shutdown()  # wait for the GX helper to exit, so its peak memory is counted below
elapsed = time.perf_counter() - start
# GX runs in a helper process: its peak counts too
peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
print(json.dumps({{"seconds": elapsed, "peak_rss_mb": peak / 1024, "per_check": per_check}}))
"""


def measure(mode: str, db: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD.format(root=str(ROOT)), mode, str(db)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "tradewh.duckdb")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.db.exists():
        raise SystemExit(f"no warehouse at {args.db}: run `make run` first")
    runs = {mode: [measure(mode, args.db) for _ in range(args.repeat)] for mode in ("baseline", "validation")}
    print(f"warehouse {args.db}, {args.repeat} fresh processes each")
    print("validation, per check (last run; the first check's time includes waiting for GX's import):")
    for name, secs in runs["validation"][-1]["per_check"].items():
        print(f"  {name:36s} {secs:6.2f} s")
    med = {m: statistics.median(r["seconds"] for r in runs[m]) for m in runs}
    rss = {m: max(r["peak_rss_mb"] for r in runs[m]) for m in runs}
    for m in runs:
        print(f"{m:10s} median {med[m]:6.2f} s   peak RSS {rss[m]:7.0f} MB")
    print(
        f"validation_s={med['validation']:.2f} baseline_s={med['baseline']:.2f} "
        f"ratio={med['validation'] / med['baseline']:.2f} peak_rss_mb={int(rss['validation'])}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
