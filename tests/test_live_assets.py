"""The live fetch asset, its job and schedule (assets/live.py): off unless switched on, materialised
only when an answer changed, failing with the fetch's message; against a real HTTP server on
127.0.0.1 serving Russia's answers built from the bundled IMTS export."""

import json
from datetime import date, datetime, timezone

import dagster as dg
import pytest
from test_imf_live import russia_answer

from tradewh.assets import live

from conftest import DATA
from loopback import Loopback, Reply

RUS = "/data/dataflow/IMF.STA/IMTS/+/RUS.XG_FOB_USD+MG_CIF_USD.*.A"
ON = {live.LIVE_ENV: "imf_imts", live.REPORTERS_ENV: "RUS,IDN", live.FIRST_YEAR_ENV: "2021"}
TODAY = date(2025, 6, 1)


def test_live_fetching_is_off_unless_switched_on():
    assert live.definitions({}) == {"assets": [], "jobs": [], "schedules": [], "sensors": []}
    from tradewh import definitions

    assert live.IMTS_ANSWERS_KEY not in {
        s.key for s in definitions.defs.resolve_all_asset_specs()
    }  # make run's code location
    with pytest.raises(ValueError, match="no live fetcher for comtrade_v2"):
        live.definitions({live.LIVE_ENV: "imf_imts,comtrade_v2"})
    both = live.definitions({**ON, live.LIVE_ENV: "imf_imts,comtrade"}, TODAY)
    assert [j.name for j in both["jobs"]] == ["fetch_imf_imts", "fetch_comtrade"]
    assert [s.name for s in both["schedules"]] == ["imf_imts_live_daily", "comtrade_live_daily"]
    with pytest.raises(ValueError, match="TRADEWH_LIVE_REPORTERS: name the reporters"):
        live.definitions({live.LIVE_ENV: "imf_imts"})
    parts = live.definitions(ON, TODAY)["assets"][0].partitions_def
    assert len(parts.get_partition_keys()) == 2 * 5  # RUS, IDN x 2021..2025


@pytest.fixture
def served(tmp_path, monkeypatch):
    """(the loopback server, the input folder) with the environment pointing at both."""
    folder = tmp_path / "imts"
    with Loopback() as server:
        monkeypatch.setenv("TRADEWH_IMF_API", server.url(""))
        monkeypatch.setenv("TRADEWH_IMF_IMTS_DIR", str(folder))
        yield server, folder


def materialize(key: str):
    asset = live.definitions(ON, TODAY)["assets"][0]
    with dg.instance_for_test() as instance:
        return dg.materialize([asset], partition_key=key, instance=instance, raise_on_error=False)


def test_a_partition_is_materialised_only_when_its_answer_changed(served):
    server, folder = served
    body, expected = russia_answer(DATA / "imf_imts" / "imts_rus_annual_2016_2024.csv")
    server.script(RUS, [Reply(200, body, {"Content-Type": "application/xml"})])
    first = materialize("RUS|2023")
    [event] = first.get_asset_materialization_events()
    assert first.success and event.materialization.metadata["observations"].value == len(expected)
    assert "ge:2023-01-01+le:2024-01-01" in server.requests(RUS)[0]
    assert (folder / "imts_RUS_A_2023-2023.xml").read_bytes() == body
    unchanged = materialize("RUS|2023")
    assert unchanged.success and unchanged.get_asset_materialization_events() == []
    server.script(
        RUS,
        [
            Reply(
                200,
                body.replace(b"<Obs OBS_VALUE=", b'<Obs DERIVATION_TYPE="M" OBS_VALUE=', 1),
                {"Content-Type": "application/xml"},
            )
        ],
    )
    changed = materialize("RUS|2023")
    assert changed.success and len(changed.get_asset_materialization_events()) == 1


def test_a_failed_fetch_fails_the_run_with_its_message_and_saves_nothing(served):
    server, folder = served
    server.script(RUS, [Reply(400, b"Invalid key: COUNTRY RUSS", {"Content-Type": "text/plain"})])
    result = materialize("RUS|2023")
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    said = failure.step_failure_data.error.to_string()
    assert "client_error" in said and "HTTP 400" in said and "Invalid key: COUNTRY RUSS" in said
    assert not folder.exists()


def test_the_bundled_folder_is_never_written(monkeypatch):
    monkeypatch.delenv("TRADEWH_IMF_IMTS_DIR", raising=False)
    result = materialize("RUS|2023")
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "is the default one" in failure.step_failure_data.error.to_string()


def test_the_daily_schedule_asks_the_recent_years_of_every_reporter():
    schedule = live.definitions(ON, TODAY)["schedules"][0]
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=datetime(2025, 6, 2, 6, tzinfo=timezone.utc)
        )
        requests = list(schedule(context))
    assert sorted(str(r.partition_key) for r in requests) == ["IDN|2024", "IDN|2025", "RUS|2024", "RUS|2025"]
    assert len({r.run_key for r in requests}) == 4


def test_comtrade_partitions_fetch_the_reporters_code_of_that_year(tmp_path, monkeypatch):
    from test_comtrade_live import RECORDED

    from tradewh.sources.comtrade.live import reporter_code

    assert (
        reporter_code("USA", 1980),
        reporter_code("USA", 1981),
        reporter_code("IND", 1974),
        reporter_code("IND", 2021),
    ) == (841, 842, 356, 699)
    with pytest.raises(ValueError, match="no Comtrade reporter 'SUN' in 2021"):
        reporter_code("SUN", 2021)
    monkeypatch.delenv("COMTRADE_API_KEY", raising=False)
    with Loopback() as server:
        monkeypatch.setenv("TRADEWH_COMTRADE_API", server.url(""))
        monkeypatch.setenv("TRADEWH_COMTRADE_DIR", str(tmp_path / "comtrade"))
        server.script(
            "/public/v1/preview/C/A/HS", [Reply(200, RECORDED.read_bytes(), {"Content-Type": "application/json"})]
        )
        asset = live.definitions({**ON, live.LIVE_ENV: "comtrade"}, TODAY)["assets"][0]
        with dg.instance_for_test() as instance:
            first = dg.materialize([asset], partition_key="RUS|2023", instance=instance)
            again = dg.materialize([asset], partition_key="RUS|2023", instance=instance)
        asked = server.requests("/public/v1/preview/C/A/HS")
    assert len(first.get_asset_materialization_events()) == 1 and again.get_asset_materialization_events() == []
    assert "reporterCode=643" in asked[0] and "period=2023" in asked[0]
    assert (tmp_path / "comtrade" / "comtrade_A_643_2023_XM.json").exists()


def test_the_availability_sensor_asks_again_only_when_a_reporters_figures_changed(monkeypatch):
    from test_imf_api import SDMX3, recorded_body

    usa = recorded_body(SDMX3, "USA.*.*.*/INDICATOR")
    path = "/availability/dataflow/IMF.STA/IMTS/%2B/USA.*.*.*/INDICATOR"
    sensor = live.definitions({**ON, live.REPORTERS_ENV: "USA,XXX"}, TODAY)["sensors"][0]
    with Loopback() as server, dg.instance_for_test() as instance:
        monkeypatch.setenv("TRADEWH_IMF_API", server.url(""))
        server.script(path, [Reply(200, usa, {"Content-Type": "application/json"})])
        server.script("/availability/dataflow/IMF.STA/IMTS/%2B/XXX.*.*.*/INDICATOR", [Reply(404, b"NoRecordsFound")])

        def tick(cursor):
            context = dg.build_sensor_context(instance=instance, cursor=cursor)
            requests = list(sensor(context))
            return sorted(str(r.partition_key) for r in requests), context.cursor

        first, cursor = tick(None)
        assert first == ["USA|2024", "USA|2025"]  # never looked at: its recent years; XXX skipped (404)
        assert json.loads(cursor) == {"USA": "2175|2025-09-01"}  # the recorded series_count and time_period_end
        assert tick(cursor)[0] == []  # nothing changed
        server.script(
            path, [Reply(200, usa.replace(b'"2025-09-01"', b'"2025-10-01"'), {"Content-Type": "application/json"})]
        )
        assert tick(cursor)[0] == ["USA|2024", "USA|2025"]  # a new month of data


def test_the_comtrade_availability_sensor_asks_only_for_new_or_changed_datasets(monkeypatch):
    from test_comtrade_live import AVAILABILITY

    monkeypatch.delenv("COMTRADE_API_KEY", raising=False)
    recorded = AVAILABILITY.read_bytes()  # Angola, Azerbaijan, Argentina, Australia, Austria in 2021
    on = {live.LIVE_ENV: "comtrade", live.REPORTERS_ENV: "AUS,AUT,IDN,SUN", live.FIRST_YEAR_ENV: "2021"}
    [sensor] = live.definitions(on, TODAY)["sensors"]
    assert sensor.name == "comtrade_availability"
    path = "/public/v1/getDa/C/A/HS"
    with Loopback() as server, dg.instance_for_test() as instance:
        monkeypatch.setenv("TRADEWH_COMTRADE_API", server.url(""))

        def tick(cursor):
            context = dg.build_sensor_context(instance=instance, cursor=cursor)
            return sorted(str(r.partition_key) for r in sensor(context)), context.cursor

        server.script(path, [Reply(200, recorded, {"Content-Type": "application/json"})])
        first, cursor = tick(None)
        assert first == ["AUS|2021", "AUT|2021"]  # what the service lists for the partitions: nothing for IDN
        asked = server.requests(path)[0]
        assert (
            "period=2021%2C2022%2C2023%2C2024%2C2025" in asked and "reportercode=36%2C40%2C360" in asked
        )  # SUN: none since 1991
        assert tick(cursor)[0] == []  # nothing changed
        revised = recorded.replace(b'"2022-05-27T04:12:54.5"\n', b'"2023-01-09T08:00:00.1"\n')  # Austria's last release
        assert revised != recorded
        server.script(path, [Reply(200, revised, {"Content-Type": "application/json"})])
        second, cursor = tick(cursor)
        assert second == ["AUT|2021"]
        server.script(path, [Reply(400, b'{"error": "Invalid period"}', {"Content-Type": "application/json"})])
        assert tick(cursor) == ([], cursor)  # a failed ask: no runs, the cursor as it was
