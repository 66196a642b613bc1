"""Great Expectations in a helper process, started early so its import overlaps the run's other work.

`import great_expectations` costs 2-3.5 s of pure-Python import (scipy, altair, sqlalchemy, ...).
In the pipeline's process it would hold the GIL against the workbook scan; in a helper process it
runs on another core while the run starts and parses. `tradewh build` calls `prestart()` before it
even imports Dagster; a run launched any other way (web UI, sensor, tests) starts the helper at its
first check. The helper lives until the process exits and serves every run of that process.

Protocol: the parent sends (check name, Arrow table, keep); the helper turns the table into
Arrow-backed pandas (GX has no Polars or Arrow engine; pandas is imported only here), builds the
check's expectations (expectations.checks) and returns expectations.runner.validate's CheckOutcome.
If the helper cannot start or dies, `validate` returns an outcome with `error` set (the check
could not run: never a pass), and the next call starts a new helper. The helper is a plain
subprocess (`python -m tradewh.expectations.worker`, pickles over its stdin/stdout), not multiprocessing,
so it never re-imports the parent's __main__.
"""

import atexit
import importlib.abc
import importlib.util
import os
import pickle
import subprocess
import sys
import threading

import pyarrow as pa

from tradewh.expectations.runner import CheckOutcome

_lock = threading.Lock()
_worker: "GxWorker | None" = None
# The helper runs at a lower CPU priority: its GX import (3-4 s of CPU) then takes only the time the
# run's own threads leave free, instead of slowing the workbook parse it overlaps on a 2-core
# machine (docs/benchmarks.md). It validates while the run waits for it, so nothing it does later is
# held back by the niceness unless the machine is busy with other work.
HELPER_NICENESS = 10
# Modules GX imports at its own import but that no expectation of ours runs (scipy.stats: GX's
# distributional expectations; altair: Data Docs charts; jsonschema: its JSON-schema expectations),
# about a third of GX's import time. The
# helper loads them lazily (importlib.util.LazyLoader): the module object exists at once and runs
# on its first attribute access, so code that does use them still gets them, only later.
LAZY_MODULES = frozenset({"scipy.stats", "altair", "jsonschema"})


class _LazyFinder(importlib.abc.MetaPathFinder):
    """Finds LAZY_MODULES with the finders after it and wraps their loaders in a LazyLoader."""

    def find_spec(self, name, path, target=None):
        if name not in LAZY_MODULES:
            return None
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                        spec.loader = importlib.util.LazyLoader(spec.loader)
                    return spec
        return None


def _serve() -> None:  # in the helper process: python -m tradewh.expectations.worker
    """Read (check name, Arrow table, keep) pickles on stdin, write CheckOutcome pickles on stdout; stop
    at end of input. Anything GX prints goes to stderr, so stdout carries only the protocol."""
    channel_in, channel_out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr
    sys.meta_path.insert(0, _LazyFinder())
    import great_expectations.expectations as gxe
    import pandas as pd

    from tradewh.expectations.checks import CHECKS
    from tradewh.expectations.runner import validate

    by_name = {c.name: c for c in CHECKS}
    try:
        pickle.dump("ready", channel_out)
        channel_out.flush()
    except BrokenPipeError:  # the parent ended before GX was imported (a run that failed early): nothing to do
        os._exit(0)
    while True:
        try:
            name, table, keep = pickle.load(channel_in)
        except EOFError:
            # Nothing to tear down: leave without the interpreter's teardown of GX, pandas and scipy
            # (0.7 s, during which the helper still held the stderr it shares with its parent).
            sys.stderr.flush()
            os._exit(0)
        check = by_name[name]
        try:
            frame = table.to_pandas(types_mapper=pd.ArrowDtype)
            outcome = validate(
                name, check.blocking, frame, list(check.expectations(gxe)), list(check.example_columns), keep
            )
        except Exception as exc:  # validate catches GX errors itself; anything else still must not pass
            outcome = CheckOutcome(name, check.blocking, False, table.num_rows, 0, error=f"{type(exc).__name__}: {exc}")
        try:
            pickle.dump(outcome, channel_out)
            channel_out.flush()
        except BrokenPipeError:  # the parent is gone
            os._exit(0)


class GxWorker:
    """One helper process (`python -m tradewh.expectations.worker`) running GX validations, one at a time."""

    command = [sys.executable, "-m", "tradewh.expectations.worker"]

    def __init__(self) -> None:
        self._process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            os.setpriority(os.PRIO_PROCESS, self._process.pid, HELPER_NICENESS)
        except OSError:  # not permitted here: the helper keeps the parent's priority
            pass
        self._ready = False

    def validate(self, name: str, blocking: bool, frame: pa.Table, keep: int) -> CheckOutcome:
        """Run check `name`'s suite on `frame` in the helper. Raises OSError/EOFError if it died."""
        if not self._ready:
            if pickle.load(self._process.stdout) != "ready":
                raise EOFError("GX helper did not start")
            self._ready = True
        pickle.dump((name, frame, keep), self._process.stdin)
        self._process.stdin.flush()
        return pickle.load(self._process.stdout)

    def alive(self) -> bool:
        return self._process.poll() is None

    def close(self, wait: bool = True) -> None:
        """End the helper: it exits at the end of its input. `wait=False` (at interpreter exit)
        does not wait for it to finish tearing GX down."""
        try:
            self._process.stdin.close()
            if wait:
                self._process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self._process.kill()


def prestart() -> None:
    """Start the helper now (it imports GX in the background). Idempotent."""
    _shared()


def _shared() -> GxWorker:
    global _worker
    if _worker is None or not _worker.alive():
        _worker = GxWorker()
    return _worker


def validate(name: str, blocking: bool, frame: pa.Table, keep: int) -> CheckOutcome:
    """Validate `frame` with check `name`'s suite in the shared helper (started if needed). A helper
    that dies or cannot start gives an error outcome, and is replaced at the next call."""
    global _worker
    with _lock:
        try:
            return _shared().validate(name, blocking, frame, keep)
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            if _worker is not None:
                _worker.close()
            _worker = None
            return CheckOutcome(
                name, blocking, False, len(frame), 0, error=f"GX helper process failed: {type(exc).__name__}: {exc}"
            )


def shutdown() -> None:
    """Stop the shared helper and wait for it to exit."""
    global _worker
    with _lock:
        if _worker is not None:
            _worker.close()
            _worker = None


@atexit.register
def _close() -> None:
    if _worker is not None:
        _worker.close(wait=False)


if __name__ == "__main__":
    _serve()
