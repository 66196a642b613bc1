"""The warehouse resource: where the raw store, the build candidates and the published file live, and
each source's input folder.

Defaults come from environment variables (warehouse.config: TRADEWH_HOME, TRADEWH_DB,
TRADEWH_<SOURCE>_DIR) read when the code location loads; tests pass their own instance.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from tradewh.sources.registry import SOURCES
from tradewh.warehouse import config
from tradewh.warehouse.lock import build_lock
from tradewh.warehouse.store import Store

HOME_TAG = "tradewh/home"  # the warehouse home a run builds (set once it holds the home's build lock)


class WarehouseResource(dg.ConfigurableResource):
    """Paths of one warehouse: `home` (raw store + builds), `db_path` (published DuckDB file),
    `input_dirs` (source name -> input folder; a source without one is not ingested, its releases
    already in the raw store still are read)."""

    home: str
    db_path: str
    input_dirs: dict[str, str]

    @classmethod
    def from_env(cls) -> "WarehouseResource":
        return cls(
            home=str(config.home()),
            db_path=str(config.db_path()),
            input_dirs={s.name: str(config.input_dir(s)) for s in SOURCES},
        )

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["WarehouseResource"]:
        """In a run, hold the home's build lock from the run's first step to its last
        (warehouse.lock: one writer at a time; a run that finds it held logs who holds it and waits).
        A sensor tick only reads: no lock."""
        run = context.run
        if run is None:
            yield self
            return
        on_wait = context.log.warning if context.log else None
        with build_lock(Path(self.home), f"run {run.run_id} of {run.job_name}", on_wait=on_wait):
            self._clean_up_after_killed_runs(context, run)
            yield self

    def _clean_up_after_killed_runs(self, context: dg.InitResourceContext, run: dg.DagsterRun) -> None:
        """With the build lock held, no other run of this home is alive: remove the files earlier
        runs left (Store.remove_leftovers), and mark failed the runs of this home that Dagster still
        shows as started (their process was killed: a run in-process has no run monitor to notice).
        Then tag this run with its home, so a later run can do the same for it."""
        removed = self.store().remove_leftovers(run.run_id)
        if removed and context.log:
            context.log.info(
                f"removed {len(removed)} file(s) left by earlier runs: {', '.join(p.name for p in removed)}"
            )
        instance = context.instance
        if instance is None:
            return
        alive = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
        for dead in instance.get_runs(dg.RunsFilter(statuses=alive, tags={HOME_TAG: self.home})):
            if dead.run_id != run.run_id:
                instance.report_run_failed(
                    dead,
                    f"its process ended without finishing the run (killed?); found by run {run.run_id}, "
                    f"which holds the build lock of {self.home}",
                )
        instance.add_run_tags(run.run_id, {HOME_TAG: self.home})

    def store(self) -> Store:
        return Store(Path(self.home), Path(self.db_path))

    def folders(self) -> dict[str, Path]:
        """{source name: input folder} in registry order."""
        return {s.name: Path(self.input_dirs[s.name]) for s in SOURCES if s.name in self.input_dirs}
