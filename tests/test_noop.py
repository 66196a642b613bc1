"""A run that finds nothing new costs almost nothing: `tradewh build` and the inbox sensor first ask
warehouse.state whether the published warehouse already holds every input file version and was
built by the same code, and then run nothing."""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
from dagster._core.instance.ref import InstanceRef

from tradewh.sources.imf_dots.source import SOURCE as IMF_DOTS
from tradewh.warehouse import state

from conftest import AFGHANISTAN, DOTS, INDONESIA, run_build, write_releases

TRADEWH = str(Path(sys.executable).parent / "tradewh")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def runs_recorded(dagster_home: Path) -> int:
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as instance:
        return instance.get_runs_count()


def test_tradewh_build_with_nothing_new_runs_nothing(tmp_path, inbox):
    home = tmp_path / "home"
    folder = inbox(AFGHANISTAN)
    env = {**os.environ, "TRADEWH_HOME": str(home), "TRADEWH_IMF_DOTS_DIR": str(folder)}
    env.pop("DAGSTER_HOME", None)
    env.pop("TRADEWH_DB", None)

    def build(*args):
        return subprocess.run([TRADEWH, "build", *args], env=env, capture_output=True, text=True, timeout=300)

    first = build()
    assert first.returncode == 0, first.stderr
    db, dagster_home = home / "tradewh.duckdb", home / "dagster_home"
    published, runs = digest(db), runs_recorded(dagster_home)
    assert runs == 1

    again = build()
    assert again.returncode == 0, again.stderr
    assert "nothing new" in again.stdout and "nothing was rebuilt" in again.stdout
    assert digest(db) == published and runs_recorded(dagster_home) == runs  # no run, no new file
    assert not (home / "build").exists() or not list((home / "build").iterdir())

    shutil.copy(DOTS / INDONESIA, folder / INDONESIA)  # a new download: a real build again
    write_releases(folder)
    new = build()
    assert new.returncode == 0, new.stderr
    assert "nothing new" not in new.stdout and runs_recorded(dagster_home) == runs + 1
    forced = build("--force")
    assert forced.returncode == 0 and "nothing new" not in forced.stdout
    assert runs_recorded(dagster_home) == runs + 2


def test_current_needs_every_file_version_and_the_same_code(store, inbox, monkeypatch):
    folder = inbox(AFGHANISTAN, INDONESIA)
    folders = {IMF_DOTS: folder}  # the folders run_build ingests
    assert state.current(folders, store) is None  # nothing published yet
    assert run_build(store, folder).success
    published = state.current(folders, store)
    assert published is not None and published.files == 2

    # a file removed from a folder changes nothing: the raw store keeps every file version ingested
    (folder / INDONESIA).unlink()
    assert state.current(folders, store).run_id == published.run_id
    # a new file version is news
    shutil.copy(DOTS / INDONESIA, folder / "DOTS_indonesia_again.xlsx")
    write_releases(folder)
    assert state.current(folders, store) is None
    (folder / "DOTS_indonesia_again.xlsx").unlink()
    # a file version deleted from the raw store (taken out of the warehouse by hand) is news too
    removed = store.raw_files("imf_dots")[0]
    kept = removed.read_bytes()
    removed.unlink()
    assert state.current(folders, store) is None
    removed.write_bytes(kept)
    assert state.current(folders, store).run_id == published.run_id
    # and so is other code: a parser, a crosswalk, a check or a library version that changed
    code = state.code_version()
    monkeypatch.setattr(state, "code_version", lambda: "other" + code[5:])
    assert state.current(folders, store) is None
