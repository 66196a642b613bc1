"""New files get in: the input-folder sensor asks for a build when a workbook arrives, and that build
loads it."""

import shutil

import dagster as dg
import duckdb

from tradewh.definitions import defs

from conftest import AFGHANISTAN, DOTS, INDONESIA, run_build, warehouse_resource, write_releases

INSTANCE = dg.DagsterInstance.ephemeral()  # where the sensor registers the releases it finds as partitions


def evaluate(store, folder, cursor):
    sensor = defs.resolve_sensor_def("inbox")
    resource = warehouse_resource(store, imf_dots=folder)
    with dg.build_sensor_context(cursor=cursor, resources={"warehouse": resource}, instance=INSTANCE) as context:
        result = sensor.evaluate_tick(context)
        return result, context.cursor


def test_a_dropped_workbook_requests_a_build_that_loads_it(store, inbox):
    folder = inbox(AFGHANISTAN)
    first, cursor = evaluate(store, folder, None)
    assert len(first.run_requests) == 1 and defs.resolve_sensor_def("inbox").job_name == "build_warehouse"
    assert run_build(store, folder).success
    idle, same = evaluate(store, folder, cursor)
    assert idle.run_requests == [] and same == cursor and "no change" in idle.skip_message
    # a fresh sensor (e.g. the first tick of `dagster dev` after `make run`) does not rebuild what is published
    fresh, fresh_cursor = evaluate(store, folder, None)
    assert fresh.run_requests == [] and "already in the published warehouse" in fresh.skip_message
    assert fresh_cursor == cursor
    shutil.copy(DOTS / INDONESIA, folder / INDONESIA)  # a user drops a new download in the folder
    write_releases(folder)  # with its release
    new, new_cursor = evaluate(store, folder, cursor)
    assert len(new.run_requests) == 1 and new_cursor != cursor
    assert new.run_requests[0].run_key != first.run_requests[0].run_key
    assert run_build(store, folder).success  # the run the sensor asked for
    with duckdb.connect(str(store.db_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM canonical.observations WHERE reporter_iso3 = 'IDN'").fetchone()[0] > 0


def test_missing_folder_is_skipped_with_a_reason(store, tmp_path):
    result, _ = evaluate(store, tmp_path / "nowhere", None)
    assert result.run_requests == [] and "does not exist" in result.skip_message
