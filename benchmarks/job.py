"""Benchmark: the main job against its floor, measured in the same run (`make bench`).

    .venv/bin/python benchmarks/job.py [--repeat 3] [--workbooks data/imf_dots]

- floor: parse every DOTS workbook (both sheets, every cell) and every other source's input file
  (SingStat's workbook, the IMTS and Comtrade CSV and JSON files) with the fastest reader
  available here, in a fresh process, one thread: both python-calamine (`to_python`, the reader the
  job uses, which gives each cell's type) and fastexcel (the same Rust reader straight into Arrow strings) are measured,
  and the floor is the faster one's median of --repeat. fastexcel's text load is not exact: it
  writes numbers rounded to 9 decimals (200.89836785032801 -> "200.89836785") and loses each
  cell's type, so the job cannot use it; the ratio to the fastest *exact* reader is printed too.
- floors and jobs are measured interleaved (floor, floor, job, --repeat times), so that the VM's
  drift affects both alike.
- job: `tradewh build` as a subprocess from an empty warehouse (a fresh TRADEWH_HOME each time);
  median of --repeat, with the step-by-step breakdown of the median run read from its Dagster
  event log, and the job's peak memory (the largest max RSS of the child processes, which is the
  job's: it runs in one process with the in-process executor).

- no-op: `tradewh build` a second time in the same home: nothing is new, so it runs nothing
  (warehouse.state); median of --repeat, against the startup floor `python -c 'import tradewh.definitions'`
  (Python and the Dagster code location's import), measured in the same loop:
  `noop_vs_startup_ratio=<float>`.
- job again: `tradewh build --force` in that home: a full rebuild with every workbook already in the
  raw store, nothing parsed; median of --repeat.
- data path: what the job does with the data, without Dagster and without validation, to show what
  those two add: the functions the assets call, in their order (warehouse/pipeline.py: ingest ->
  canonical and candidate -> marts), in a fresh process with a new empty home; median of --repeat
  (--no-data-path skips it).

- one file: after those, one workbook is changed (DOTS_94.xlsx, Indonesia: one value + 1, declared as
  a corrected file of the same release) and `tradewh build` runs again in that home, patching the
  published warehouse (warehouse/patch.py; the bench stops if it built whole); median of --repeat
  against the cold job's median, with the median run's step breakdown: `one_file_vs_cold_ratio=<float>`.

Last lines: `one_file_vs_cold_ratio=<float>`, `noop_vs_startup_ratio=<float>`, then
`job_vs_parse_ratio=<float> peak_rss_mb=<int>`.
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

ROOT = Path(__file__).resolve().parent.parent
TRADEWH = str(Path(sys.executable).parent / "tradewh")

# readers that return every cell as stored (numbers to the last digit, text told from numbers); see
# tests/test_imf_dots.py::test_fastexcel_text_load_rounds_numbers
EXACT = {"python-calamine"}

# The other sources' files, parsed the same way in every floor (their CSV and JSON files with the
# fastest readers here: Polars' CSV reader, every field as text, and the json module): the job
# parses every bundled source, so its floor does too (the DOTS workbooks are most of it).
OTHER_INPUTS = r"""
import json
import polars as pl

def other_inputs(folders, read_workbook):
    cells = 0
    for folder in folders:
        for path in sorted(Path(folder).iterdir()):
            name = path.name.lower()
            if name == "releases.csv" or not path.is_file():
                continue
            if name.endswith(".xlsx"):
                cells += read_workbook(path)
            elif name.endswith((".csv", ".csv.gz")):  # Polars decompresses gzip itself
                cells += pl.read_csv(path, infer_schema=False).height
            elif name.endswith(".json"):
                cells += len(json.loads(path.read_bytes()).get("data") or [])
    return cells
"""

FLOOR = {
    "python-calamine": r"""
import sys, time
from pathlib import Path
import python_calamine
"""
    + OTHER_INPUTS
    + r"""
def read(path):
    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    return sum(1 for name in wb.sheet_names for row in wb.get_sheet_by_name(name).to_python() for v in row if v != "")

start = time.perf_counter()
cells = sum(read(path) for path in sorted(Path(sys.argv[1]).glob("*.xlsx"))) + other_inputs(sys.argv[2:], read)
print(time.perf_counter() - start, cells)
""",
    "fastexcel": r"""
import sys, time
from pathlib import Path
import fastexcel
"""
    + OTHER_INPUTS
    + r"""
def read(path):
    reader = fastexcel.read_excel(str(path))
    cells = 0
    for name in reader.sheet_names:
        batch = reader.load_sheet(name, header_row=None, dtypes="string").to_arrow()
        cells += sum(len(c) - c.null_count for c in batch.columns)
    return cells

start = time.perf_counter()
cells = sum(read(path) for path in sorted(Path(sys.argv[1]).glob("*.xlsx"))) + other_inputs(sys.argv[2:], read)
print(time.perf_counter() - start, cells)
""",
}

STEPS = r"""
import json, sys
import dagster as dg
from dagster._core.events import DagsterEventType
with dg.DagsterInstance.get() as instance:
    run = instance.get_runs(limit=1)[0]
    start, out, phases, stamps, per_asset = {}, {}, {}, [], {}
    for record in instance.get_records_for_run(run.run_id).records:
        entry = record.event_log_entry
        stamps.append(entry.timestamp)
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            start[event.step_key] = entry.timestamp
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            out[event.step_key] = entry.timestamp - start[event.step_key]
        elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            seconds = event.asset_key and entry.asset_materialization.metadata.get("seconds")
            if seconds is not None:  # a step that materialises several assets: their phases add up
                # (a partitioned asset reports the same figures for each partition of the run: once)
                per_asset.setdefault(event.step_key, {})[event.asset_key.to_user_string()] = seconds.value
for step, assets in per_asset.items():
    phases[step] = {}
    for figures in assets.values():
        for phase, secs in figures.items():
            phases[step][phase] = phases[step].get(phase, 0) + secs
print(json.dumps({"steps": out, "phases": phases, "first_event": min(stamps), "last_event": max(stamps)}))
"""


DATA_PATH = r"""
import json, sys, tempfile, time
start = time.perf_counter()
from pathlib import Path
from tradewh.warehouse import db, pipeline
from tradewh.warehouse.store import Store

out = {"imports": time.perf_counter() - start}

def step(name, action):
    began = time.perf_counter()
    result = action()
    out[name] = time.perf_counter() - began
    return result

with tempfile.TemporaryDirectory() as home:
    store = Store(Path(home), Path(home) / "tradewh.duckdb")
    folders = json.loads(sys.argv[1])
    step("ingest", lambda: pipeline.ingest_sources(store, "bench", {k: Path(v) for k, v in folders.items()}))
    candidate, result, _ = step("canonical_and_candidate", lambda: pipeline.build_canonical(store, "bench", patching=False))
    del result
    def marts():
        with db.connect(candidate) as con:
            return pipeline.build_marts(con, None)
    step("write_marts", marts)
out["total"] = time.perf_counter() - start
print(json.dumps(out))
"""


def data_path(workbooks: Path) -> dict[str, float]:
    """Seconds per phase and in total for the job's data path alone, in a fresh process (see the
    module docstring)."""
    from tradewh.sources.registry import SOURCES
    from tradewh.warehouse import config

    folders = {s.name: str(workbooks if s.name == "imf_dots" else config.input_dir(s)) for s in SOURCES}
    proc = subprocess.run(
        [sys.executable, "-c", DATA_PATH, json.dumps(folders)], capture_output=True, text=True, cwd=ROOT
    )
    if proc.returncode != 0:
        raise SystemExit(f"data path failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def other_input_dirs() -> list[str]:
    """The input folders of every source but DOTS (the job reads them too)."""
    from tradewh.sources.registry import SOURCES
    from tradewh.warehouse import config

    return [str(config.input_dir(s)) for s in SOURCES if s.name != "imf_dots"]


def floor(reader: str, workbooks: Path) -> float:
    """Seconds for `reader` to parse every DOTS workbook and every other source's input file,
    measured inside a fresh process (interpreter start excluded)."""
    proc = subprocess.run(
        [sys.executable, "-c", FLOOR[reader], str(workbooks), *other_input_dirs()],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(proc.stdout.split()[0])


def cpu_ticks() -> tuple[int, int] | None:
    """(all, idle) jiffies of the whole machine from /proc/stat; None where there is none."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(t) for t in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(ticks), ticks[3] + ticks[4]  # idle + iowait


CHANGED_WORKBOOK = "DOTS_94.xlsx"  # Indonesia: the workbook `one_file` changes (one value, same release)


def change_one_workbook(folder: Path) -> str:
    """Replace `folder`'s CHANGED_WORKBOOK (a link to the bundled one) by a copy with one value changed
    (the first number in its exports sheet, + 1), declared in RELEASES.csv as a corrected file of the
    same release (its new SHA-256, the same vintage). Returns what changed, for the printout."""
    import hashlib

    import openpyxl

    path = folder / CHANGED_WORKBOOK
    wb = openpyxl.load_workbook(path.resolve())
    sheet = wb.worksheets[0]
    cell = next(c for row in sheet.iter_rows(min_row=7) for c in row if isinstance(c.value, (int, float)))
    before, partner = cell.value, sheet.cell(cell.row, 2).value
    # the workbook lists some partners twice (Australia under its region and alone), with the same
    # values: every row of that partner changes alike, else the load stops on a conflict
    for row in range(7, sheet.max_row + 1):
        if sheet.cell(row, 2).value == partner:
            sheet.cell(row, cell.column).value = before + 1
    path.unlink()
    wb.save(path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    releases = folder / "RELEASES.csv"
    lines = releases.read_text().splitlines()
    lines = [
        ",".join([f, sha, *rest]) if f == CHANGED_WORKBOOK else line
        for line in lines
        for f, _, *rest in [line.split(",")]
    ]
    releases.write_text("\n".join(lines) + "\n")
    return f"{CHANGED_WORKBOOK} sheet {sheet.title!r}, {partner} {sheet.cell(7, cell.column).value}: {before} -> {before + 1}"


def job(workbooks: Path) -> tuple[float, dict]:
    """(wall seconds of `tradewh build` from empty, {"steps": {step: seconds}, "phases": {step:
    {phase: seconds}} (the assets' `seconds` metadata), "before_run"/"after_run": seconds from the
    process start to the run's first event and from its last event to the process end,
    "busy_cores": how many of the machine's cores were busy on average during the run, "noop": wall
    seconds of a second `tradewh build` in the same home (nothing new: it runs nothing), "again": of
    `tradewh build --force` there (a full rebuild with every workbook already in the raw store),
    "one_file": of `tradewh build` there after one workbook changed (change_one_workbook)}).
    The workbooks are read through a folder of links to them, so that one can be changed.
    """
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as inputs:
        folder = Path(inputs) / "imf_dots"
        folder.mkdir()
        for path in workbooks.iterdir():
            if path.name == "RELEASES.csv":
                shutil.copyfile(path, folder / path.name)
            else:
                (folder / path.name).symlink_to(path.resolve())
        env = {**os.environ, "TRADEWH_HOME": home, "TRADEWH_IMF_DOTS_DIR": str(folder)}
        env.pop("DAGSTER_HOME", None)
        env.pop("TRADEWH_DB", None)
        start, started_at, ticks = time.perf_counter(), time.time(), cpu_ticks()
        proc = subprocess.run([TRADEWH, "build"], env=env, capture_output=True, text=True)
        wall, ended_at, ticks_after = time.perf_counter() - start, time.time(), cpu_ticks()
        if proc.returncode != 0:
            raise SystemExit(f"tradewh build failed:\n{proc.stderr[-3000:]}")
        out = last_run_steps(env, Path(home), started_at, ended_at)
        if ticks and ticks_after and ticks_after[0] > ticks[0]:  # cores busy on average (the GX helper included)
            out["busy_cores"] = (1 - (ticks_after[1] - ticks[1]) / (ticks_after[0] - ticks[0])) * (os.cpu_count() or 1)
        # the same build again in the same home: nothing new, so nothing is run (a no-op) ...
        out["noop"], noop = timed([TRADEWH, "build"], env)
        if "nothing new" not in noop.stdout:
            raise SystemExit(f"tradewh build (again) was not a no-op:\n{noop.stdout[-3000:]}")
        # ... forced: a full rebuild with every workbook already in the raw store, nothing parsed ...
        out["again"], _ = timed([TRADEWH, "build", "--force"], env)
        # ... and after one workbook changed (a corrected file of its release)
        out["changed"] = change_one_workbook(folder)
        started_at = time.time()
        out["one_file"], one = timed([TRADEWH, "build"], env)
        ended_at = time.time()
        if "patched the published warehouse" not in one.stdout:
            raise SystemExit(f"tradewh build after one changed workbook did not patch:\n{one.stdout[-3000:]}")
        out["one_file_steps"] = last_run_steps(env, Path(home), started_at, ended_at)
        return wall, out


def last_run_steps(env: dict, home: Path, started_at: float, ended_at: float) -> dict:
    """The newest run's breakdown in `home`'s Dagster instance (STEPS), with "before_run"/"after_run":
    seconds from the command's start (`started_at`, wall clock) to the run's first event and from
    its last event to the command's end."""
    steps = subprocess.run(
        [sys.executable, "-c", STEPS],
        env={**env, "DAGSTER_HOME": str(home / "dagster_home")},
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(steps.stdout)
    out["before_run"], out["after_run"] = out["first_event"] - started_at, ended_at - out["last_event"]
    return out


def _print_steps(detail: dict, wall: float) -> None:
    """A run's breakdown: before its first event, each step (with its assets' phases), Dagster's
    time between steps, and after its last event."""
    print(f"  before the run (Python, Dagster, instance)  {detail['before_run']:6.2f} s")
    for step, secs in detail["steps"].items():
        phases = detail["phases"].get(step, {})
        print(
            f"  step {step:38s} {secs:6.2f} s"
            + (f"  ({', '.join(f'{k} {v:.2f}' for k, v in phases.items())})" if phases else "")
        )
    between = wall - detail["before_run"] - detail["after_run"] - sum(detail["steps"].values())
    print(f"  Dagster between steps                       {between:6.2f} s")
    print(f"  after the run (summary, exit)               {detail['after_run']:6.2f} s")


def timed(command: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    """(wall seconds, the finished process) of `command`; exits if it fails."""
    start = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stderr[-3000:]}")
    return wall, proc


def startup() -> float:
    """Wall seconds of `python -c 'import tradewh.definitions'`: starting Python and importing the Dagster
    code location (Dagster, the assets, the sources), the floor of a run that finds nothing new."""
    return timed([sys.executable, "-c", "import tradewh.definitions"], dict(os.environ))[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workbooks", type=Path, default=ROOT / "data" / "imf_dots")
    parser.add_argument("--no-data-path", dest="data_path", action="store_false", help="skip the data-path runs")
    args = parser.parse_args()
    # interleaved (floors, then the job, --repeat times): on this shared VM the speed drifts by 10-20 %
    # within minutes, and floors and jobs measured in separate blocks drift apart
    floors, runs, startups = {reader: [] for reader in FLOOR}, [], []
    for _ in range(args.repeat):
        for reader in FLOOR:
            floors[reader].append(floor(reader, args.workbooks))
        startups.append(startup())
        runs.append(job(args.workbooks))
    fastest = min(floors, key=lambda r: statistics.median(floors[r]))
    floor_s = statistics.median(floors[fastest])
    walls = [r[0] for r in runs]
    job_s = statistics.median(walls)
    median_run = runs[walls.index(job_s)] if job_s in walls else runs[0]
    # the largest child process's peak RSS so far: the job (the floor's parse and the event-log reader are smaller)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    paths = [data_path(args.workbooks) for _ in range(args.repeat)] if args.data_path else []
    print(f"workbooks {args.workbooks} ({len(list(args.workbooks.glob('*.xlsx')))} files), {args.repeat} runs each")
    for reader, times in floors.items():
        mark = "  <- floor" if reader == fastest else ""
        print(
            f"parse, {reader + ',':17s} fresh process: median {statistics.median(times):6.2f} s  runs {', '.join(f'{f:.2f}' for f in times)}{mark}"
        )
    print(
        f"job (tradewh build from empty):           median {job_s:6.2f} s  runs {', '.join(f'{w:.2f}' for w in walls)}"
    )
    detail = median_run[1]
    _print_steps(detail, median_run[0])
    if "busy_cores" in detail:
        print(f"  cores busy during the job (whole machine)   {detail['busy_cores']:6.2f} of {os.cpu_count()}")
    again = [r[1]["again"] for r in runs]
    again_s = statistics.median(again)
    print(
        f"job again --force, every workbook already in the raw store: median {again_s:6.2f} s  "
        f"runs {', '.join(f'{a:.2f}' for a in again)}  ({again_s / floor_s:.2f}x the floor)"
    )
    ones = [r[1]["one_file"] for r in runs]
    one_s = statistics.median(ones)
    print(
        f"job again after one workbook changed ({runs[0][1]['changed']}): median {one_s:6.2f} s  "
        f"runs {', '.join(f'{a:.2f}' for a in ones)}"
    )
    one_run = runs[ones.index(one_s)] if one_s in ones else runs[0]
    _print_steps(one_run[1]["one_file_steps"], one_s)
    print(f"one_file_vs_cold_ratio={one_s / job_s:.3f}")  # three decimals: 0.302 is not within a bar of 0.3
    noops = [r[1]["noop"] for r in runs]
    noop_s, startup_s = statistics.median(noops), statistics.median(startups)
    print(
        f"startup, python -c 'import tradewh.definitions':  median {startup_s:6.2f} s  runs {', '.join(f'{a:.2f}' for a in startups)}"
    )
    print(
        f"job again, nothing new (a no-op):          median {noop_s:6.2f} s  runs {', '.join(f'{a:.2f}' for a in noops)}"
    )
    if paths:
        path_s = statistics.median(r["total"] for r in paths)
        median_path = min(paths, key=lambda r: abs(r["total"] - path_s))
        totals = ", ".join(f"{r['total']:.2f}" for r in paths)
        print(
            f"data path alone (no Dagster, no checks):  median {path_s:6.2f} s  runs {totals}  ({path_s / floor_s:.2f}x the floor)"
        )
        print("  " + ", ".join(f"{phase} {secs:.2f}" for phase, secs in median_path.items() if phase != "total"))
        print(f"  Dagster and validation add (job - data path): {job_s - path_s:.2f} s")
    exact = min((r for r in floors if r in EXACT), key=lambda r: statistics.median(floors[r]))
    exact_s = statistics.median(floors[exact])
    print(f"  job vs the fastest exact reader ({exact}, {exact_s:.2f} s): {job_s / exact_s:.2f}x")
    print(f"noop_vs_startup_ratio={noop_s / startup_s:.2f}")
    print(f"job_vs_parse_ratio={job_s / floor_s:.2f} peak_rss_mb={peak_mb}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
