"""Benchmark: what it costs to store canonical.observations as a DuckDB table vs as Parquet.

    .venv/bin/python benchmarks/storage.py [--db var/tradewh.duckdb] [--repeat 3]

Needs a built warehouse (`make run`). Evidence for a storage decision (docs/design/storage.md keeps
every table inside one DuckDB file; writing that file is the largest part of `tradewh build`). The
observations are read once into memory (Arrow, the form the build hands them over in); then, each
into a fresh temporary folder, median of --repeat:

- baseline: a DuckDB table in a new DuckDB file, typed as in the warehouse (ENUM codes), as the
  build writes it;
- polars_parquet: Polars writes them to one Parquet file (row groups of 122,880 rows);
- duckdb_parquet: DuckDB `COPY ... TO` Parquet;

and, for the Parquet file, the time of a filtered question through a view over it.
Last line: `table_s=<float> polars_parquet_s=<float> duckdb_parquet_s=<float> ratio_table_vs_parquet=<float>`.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "SELECT flow, period, value_usd FROM obs WHERE reporter_iso3 = 'IDN' AND partner_iso3 = 'RUS' ORDER BY ALL"


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "tradewh.duckdb")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.db.exists():
        raise SystemExit(f"no warehouse at {args.db}: run `make run` first")
    with duckdb.connect(str(args.db), read_only=True) as con:
        table = con.execute("SELECT * FROM canonical.observations").to_arrow_table()
        ddl = con.execute(  # the table's DDL, its ENUM types spelled out
            "SELECT sql FROM duckdb_tables() WHERE schema_name = 'canonical' AND table_name = 'observations'"
        ).fetchone()[0]
    frame = pl.from_arrow(table)
    runs: dict[str, list[float]] = {"table": [], "polars_parquet": [], "duckdb_parquet": []}
    question = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            with duckdb.connect(str(Path(tmp) / "t.duckdb")) as con:
                con.execute("CREATE SCHEMA canonical")
                con.execute(ddl)
                con.register("frame", table)
                runs["table"].append(
                    timed(
                        lambda: (
                            con.execute("INSERT INTO canonical.observations SELECT * FROM frame"),
                            con.execute("CHECKPOINT"),
                        )
                    )
                )
            runs["polars_parquet"].append(
                timed(lambda: frame.write_parquet(Path(tmp) / "p.parquet", row_group_size=122_880))
            )
            with duckdb.connect() as con:
                con.register("frame", table)
                runs["duckdb_parquet"].append(
                    timed(lambda: con.execute(f"COPY frame TO '{tmp}/d.parquet' (FORMAT parquet)"))
                )
                con.execute(f"CREATE VIEW obs AS SELECT * FROM read_parquet('{tmp}/p.parquet')")
                question.append(timed(lambda: con.execute(QUESTION).fetchall()))
    med = {k: statistics.median(v) for k, v in runs.items()}
    print(
        f"canonical.observations from {args.db}: {table.num_rows:,} rows x {table.num_columns} columns, {args.repeat} runs each"
    )
    for k, v in runs.items():
        print(f"  {k:15s} median {med[k]:6.2f} s  runs {', '.join(f'{x:.2f}' for x in v)}")
    print(
        f"  filtered question through a view over the Parquet file: median {statistics.median(question) * 1000:.0f} ms"
    )
    print(
        f"table_s={med['table']:.2f} polars_parquet_s={med['polars_parquet']:.2f} duckdb_parquet_s={med['duckdb_parquet']:.2f} "
        f"ratio_table_vs_parquet={med['table'] / min(med['polars_parquet'], med['duckdb_parquet']):.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
