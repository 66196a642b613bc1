"""Benchmark: the main job's data path alone (no Dagster, no validation) against the parse floor.

    .venv/bin/python benchmarks/data_path.py [--repeat 3] [--workbooks data/imf_dots]

What `make bench` cannot separate: how much of `tradewh build` is the data work itself and how much
the orchestration (Dagster's import, instance, events) and the validation (the GX checks and their
helper process) add. Each repeat runs in a fresh process (interpreter start excluded, imports
included) with a new empty home, the functions the assets call, in their order:

    ingest (parse + stage every workbook) -> load_raw + canonicalise -> build_candidate -> write_marts

without the checks, the publish step or Dagster. The floor is measured as in benchmarks/job.py
(both readers, fresh process each, medians of --repeat), in the same run.
Last line: `data_path_vs_parse_ratio=<float> data_path_vs_exact_ratio=<float>`.
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from job import EXACT, FLOOR, ROOT, floor  # noqa: E402  (the same floor as make bench)

DATA_PATH = r"""
import json, sys, tempfile, time
start = time.perf_counter()
from pathlib import Path
from sources.imf_dots import SOURCE
from warehouse import db, ingest
from warehouse.canonical import canonicalise
from warehouse.crosswalk import load_crosswalk
from warehouse.store import Store

out = {"imports": time.perf_counter() - start}

def step(name, action):
    began = time.perf_counter()
    result = action()
    out[name] = time.perf_counter() - began
    return result

with tempfile.TemporaryDirectory() as home:
    store = Store(Path(home), Path(home) / "tradewh.duckdb")
    step("ingest", lambda: ingest.ingest_imf_dots(Path(sys.argv[1]), store, "bench"))
    files = store.raw_files(SOURCE, "bench")
    crosswalk = load_crosswalk()
    result = step("load_raw_and_canonicalise", lambda: canonicalise(ingest.load_raw(store, files=files), crosswalk))
    candidate = store.candidate_path("bench")
    step("build_candidate", lambda: db.build_candidate(candidate, store.raw_index(SOURCE, files), crosswalk, result, "bench"))
    del result
    step("write_marts", lambda: db.write_marts(candidate))
out["total"] = time.perf_counter() - start
print(json.dumps(out))
"""


def data_path(workbooks: Path) -> dict[str, float]:
    """Seconds per phase and in total for the data path, in a fresh process."""
    proc = subprocess.run([sys.executable, "-c", DATA_PATH, str(workbooks)], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"data path failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workbooks", type=Path, default=ROOT / "data" / "imf_dots")
    args = parser.parse_args()
    floors = {reader: statistics.median(floor(reader, args.workbooks) for _ in range(args.repeat)) for reader in FLOOR}
    runs = [data_path(args.workbooks) for _ in range(args.repeat)]
    total = statistics.median(r["total"] for r in runs)
    median_run = min(runs, key=lambda r: abs(r["total"] - total))
    fastest, exact = min(floors.values()), min(s for r, s in floors.items() if r in EXACT)
    for reader, seconds in floors.items():
        print(f"parse, {reader + ',':17s} fresh process: median {seconds:6.2f} s")
    totals = ", ".join(f"{r['total']:.2f}" for r in runs)
    print(f"data path, no Dagster, no validation:     median {total:6.2f} s  runs {totals}")
    for phase, seconds in median_run.items():
        if phase != "total":
            print(f"  {phase:40s} {seconds:6.2f} s")
    print(f"data_path_vs_parse_ratio={total / fastest:.2f} data_path_vs_exact_ratio={total / exact:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
