"""The job's data path of this working tree against another git revision, run alternately.

    .venv/bin/python benchmarks/compare.py REV [--runs 3]

Checks REV out into a temporary git worktree, installs each tree's package (no dependencies) into a
folder of its own, and runs the data path of `benchmarks/job.py` (DATA_PATH: the functions of
warehouse/pipeline.py in order, no Dagster, no checks) in a fresh process with that folder first on
its path, alternating (REV, this tree, REV, ...), each tree on its own bundled data. On
this VM two runs of the same code can differ by 15 %; alternating runs see the same spells of the
machine, so the medians compare the code. Prints each run's phases and the medians, last line
`data_path_vs_<REV>_ratio=<float>` (this tree / REV; below 1 is faster). REV must install its
folders as the `tradewh` package (from the commit that made them one namespace on).
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.job import DATA_PATH  # noqa: E402
from tradewh.sources.registry import SOURCES  # noqa: E402


def install(tree: Path, target: Path) -> Path:
    """`tree`'s package, installed without dependencies into `target` (which this returns)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(tree),
        ],
        check=True,
        capture_output=True,
    )
    return target


def run(tree: Path, site: Path) -> dict[str, float]:
    """One data path run of `tree` (its package installed in `site`) on its own data/ folders, in a
    fresh process."""
    folders = json.dumps({s.name: str(tree / "data" / s.name) for s in SOURCES})
    proc = subprocess.run(
        [sys.executable, "-c", DATA_PATH, folders],
        capture_output=True,
        text=True,
        cwd=tree,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1"},
    )
    if proc.returncode != 0:
        raise SystemExit(f"data path of {tree} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the git revision to compare with, e.g. HEAD~3")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "other"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(other), args.rev], cwd=ROOT, check=True, capture_output=True
        )
        try:
            trees = (
                (args.rev, other, install(other, Path(tmp) / "other-site")),
                ("this tree", ROOT, install(ROOT, Path(tmp) / "this-site")),
            )
            runs: dict[str, list[dict]] = {args.rev: [], "this tree": []}
            for _ in range(args.runs):
                for name, tree, site in trees:
                    runs[name].append(run(tree, site))
                    print(f"{name:>12}: " + ", ".join(f"{k} {v:.2f}" for k, v in runs[name][-1].items()), flush=True)
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, check=False, capture_output=True
            )
    medians = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items()}
    for name, m in medians.items():
        print(f"median {name:>12}: " + ", ".join(f"{k} {v:.2f}" for k, v in m.items()))
    print(f"data_path_vs_{args.rev}_ratio={medians['this tree']['total'] / medians[args.rev]['total']:.3f}")


if __name__ == "__main__":
    main()
