"""One writer at a time: two builds in one home never interleave, so none publishes a warehouse that
lacks a release the other committed (issue 14: two `tradewh build` runs a few seconds apart both
succeeded, and the one that finished last published without the other's new release)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tradewh.warehouse import lock

from conftest import AFGHANISTAN, INDONESIA

TRADEWH = str(Path(sys.executable).parent / "tradewh")

HOLD = """
import sys, time
from tradewh.warehouse import lock
with lock.build_lock(sys.argv[1], "a test holder"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold(home: Path, seconds: float) -> subprocess.Popen:
    """Another process holding `home`'s build lock for `seconds`, once it has printed "held"."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(home), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_build_waits_for_the_holder_and_says_who_it_is(tmp_path):
    holder = hold(tmp_path, 1.5)
    messages = []
    started = time.monotonic()
    with lock.build_lock(tmp_path, "the second build", on_wait=messages.append):
        waited = time.monotonic() - started
    holder.wait()
    assert waited >= 1.0
    assert "a test holder (process" in messages[0] and str(holder.pid) in messages[0]


def test_a_build_that_cannot_get_the_lock_fails_naming_the_holder(tmp_path):
    holder = hold(tmp_path, 30)
    try:
        with pytest.raises(lock.BuildLockTimeout, match=rf"a test holder \(process {holder.pid} .*did nothing"):
            with lock.build_lock(tmp_path, "the second build", timeout=0.5):
                pytest.fail("the block ran without the lock")
    finally:
        holder.kill()
        holder.wait()
    with lock.build_lock(tmp_path, "after the holder was killed", timeout=5):  # a killed holder leaves no lock behind
        pass


def test_two_concurrent_builds_in_one_home_publish_both_releases(tmp_path, inbox):
    home = tmp_path / "home"
    env = {**os.environ, "TRADEWH_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    env.pop("TRADEWH_DB", None)
    first = subprocess.Popen(
        [TRADEWH, "build"],
        env={**env, "TRADEWH_IMF_DOTS_DIR": str(inbox(AFGHANISTAN, name="a"))},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while str(first.pid) not in lock.holder(home) and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
    assert str(first.pid) in lock.holder(home), "the first build never took the lock"
    # a second build, with another new release, while the first one runs
    second = subprocess.run(
        [TRADEWH, "build"],
        env={**env, "TRADEWH_IMF_DOTS_DIR": str(inbox(INDONESIA, name="b"))},
        capture_output=True,
        text=True,
        timeout=300,
    )
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert second.returncode == 0, second.stderr
    assert "another build holds" in second.stderr and f"process {first.pid}" in second.stderr
    with duckdb.connect(str(home / "tradewh.duckdb"), read_only=True) as con:
        reporters = {
            r
            for (r,) in con.execute(
                "SELECT DISTINCT reporter_iso3::VARCHAR FROM canonical.observations WHERE source = 'imf_dots'"
            ).fetchall()
        }
    assert {"AFG", "IDN"} <= reporters  # the last build published both releases


def test_the_next_build_cleans_up_after_a_killed_one(tmp_path, inbox):
    # issue 14: each killed build left its ~45 MB candidate until a day later, and its Dagster run
    # stayed "STARTED" forever
    import signal

    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    home = tmp_path / "home"
    env = {**os.environ, "TRADEWH_HOME": str(home), "TRADEWH_IMF_DOTS_DIR": str(inbox(AFGHANISTAN))}
    env.pop("DAGSTER_HOME", None)
    env.pop("TRADEWH_DB", None)
    assert subprocess.run([TRADEWH, "build"], env=env, capture_output=True, timeout=300).returncode == 0
    killed = subprocess.Popen(
        [TRADEWH, "build", "--force"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while not list((home / "build").glob("*.duckdb")) and time.monotonic() < deadline and killed.poll() is None:
        time.sleep(0.02)
    assert killed.poll() is None, "the build finished before it could be killed"
    killed.send_signal(signal.SIGKILL)  # killed while writing its candidate
    killed.wait()
    [left] = list((home / "build").glob("*.duckdb"))
    killed_run = left.name.split(".")[0]

    def status(run_id):
        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home / "dagster_home"))) as instance:
            return instance.get_run_by_id(run_id).status

    assert status(killed_run) == dg.DagsterRunStatus.STARTED
    assert subprocess.run([TRADEWH, "build", "--force"], env=env, capture_output=True, timeout=300).returncode == 0
    assert not left.exists() and not list((home / "build").glob(f"{killed_run}*"))
    assert not (home / "staging" / killed_run).exists()
    assert status(killed_run) == dg.DagsterRunStatus.FAILURE
