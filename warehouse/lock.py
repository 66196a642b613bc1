"""One writer at a time per warehouse home: every build (CLI, sensor, schedule, the web UI) holds
`$TRADEWH_HOME/build.lock` from its first step to its last, so two builds never interleave, and a
build never publishes a warehouse that lacks a release another build committed: the second one
starts only after the first has published, and then reads the raw store as that one left it.

The lock is an OS file lock (fcntl on POSIX, through the `filelock` package): it is released when
its process ends, however it ends, so a killed build never leaves it held. A build that finds the
lock held says who holds it (run, process, since when) and waits, up to TRADEWH_LOCK_TIMEOUT
seconds (default 3600), then fails with BuildLockTimeout naming the holder. No Dagster here.
"""

import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import filelock

LOCK_FILE = "build.lock"
HOLDER_FILE = "build.lock.holder.json"  # who holds the lock, for the messages of those who wait
DEFAULT_TIMEOUT_S = 3600.0


class BuildLockTimeout(RuntimeError):
    """Another build held the home's lock for longer than the timeout; this build did nothing."""


def lock_timeout() -> float:
    """Seconds a build waits for the lock: TRADEWH_LOCK_TIMEOUT, else DEFAULT_TIMEOUT_S. Raises
    ValueError naming the variable if it is not a number."""
    raw = os.environ.get("TRADEWH_LOCK_TIMEOUT")
    try:
        return float(raw) if raw else DEFAULT_TIMEOUT_S
    except ValueError:
        raise ValueError(f"TRADEWH_LOCK_TIMEOUT={raw!r} is not a number of seconds") from None


def holder(home: Path) -> str:
    """Who holds (or last held) the lock of `home`, in words; "unknown" if it did not say."""
    try:
        h = json.loads((Path(home) / HOLDER_FILE).read_text())
        return f"{h['what']} (process {h['pid']} on {h['host']}, since {h['since']} UTC)"
    except (OSError, ValueError, KeyError, TypeError):
        return "unknown"


@contextmanager
def build_lock(
    home: Path, what: str, timeout: float | None = None, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the build lock of `home` for the duration of the block. `what` says who holds it (e.g.
    "run 1a2b… of build_warehouse") in the messages of builds that wait. If the lock is held,
    `on_wait` gets one message naming the holder, then the build waits up to `timeout` seconds
    (default lock_timeout()). Raises BuildLockTimeout naming the holder if it is still held then."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(home / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        held_by = holder(home)
        if on_wait:
            on_wait(f"another build holds {home / LOCK_FILE}: {held_by}; waiting for it to finish")
        wait = lock_timeout() if timeout is None else timeout
        started = time.monotonic()
        try:
            lock.acquire(timeout=wait)
        except filelock.Timeout:
            raise BuildLockTimeout(
                f"another build holds {home / LOCK_FILE}: {holder(home)}; it did not finish within {wait:g} s "
                "(TRADEWH_LOCK_TIMEOUT), so this build did nothing. Run it again when that one has finished."
            ) from None
        if on_wait:
            on_wait(f"the other build finished; this one starts after waiting {time.monotonic() - started:.0f} s")
    try:
        since = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        (home / HOLDER_FILE).write_text(
            json.dumps({"what": what, "pid": os.getpid(), "host": socket.gethostname(), "since": since})
        )
        yield
    finally:
        lock.release()
