"""Live sources in Dagster: for each live source (IMF IMTS from api.imf.org, UN Comtrade+) an asset
that fetches its answers, partitioned by reporter x year, and a daily schedule, all switched on by
configuration so that `make run`, the tests' default code location and a machine without network
never touch the network.

    TRADEWH_LIVE=imf_imts,comtrade     the live sources to switch on (comma-separated; default none)
    TRADEWH_LIVE_REPORTERS=RUS,IDN     the reporters to fetch (ISO3, as the IMF's COUNTRY codes)
    TRADEWH_LIVE_FIRST_YEAR=2016       the first year of the partitions (default 2016); the last is this year
    TRADEWH_IMF_IMTS_DIR               where the answers go: the source's input folder, which must not
                                       be the bundled data/imf_imts (part of the repository)
    TRADEWH_IMF_API                    the service (default https://api.imf.org/external/sdmx/3.0)
    TRADEWH_COMTRADE_DIR, COMTRADE_API_KEY, TRADEWH_COMTRADE_API   the same for Comtrade+ (a key is
                                       optional: without one, the public preview)

`live/imf_imts_answers` [reporter|year] asks the service for one reporter's exports and imports with
every counterpart in that year (sources/imf_imts/live.py) and saves the answer in the input folder
with its FETCHED.csv row. It is materialised only when the answer changed: an unchanged answer
leaves the partition as it was (its last materialisation says when the content last changed),
and a failed fetch fails the run with the fetch's message (sources/fetch.py), leaving the folder
and the published warehouse as they were. The input folder's new answer is then a new release
for the inbox sensor, which starts `build_warehouse` for it (assets/sensors.py): fetching and
building stay two jobs, so a build never waits on the network.

`live/comtrade_answers` [reporter|year] does the same for UN Comtrade+ (sources/comtrade/live.py),
the reporter's ISO3 mapped to Comtrade's code for that year (USA: 841 to 1980, 842 after).

The sensor `imf_imts_availability` (stopped by default; start it in the UI) asks the IMF's
availability endpoint every 6 hours and requests a reporter's recent partitions when its series
count or last period changed: new periods arrive within hours. The sensor `comtrade_availability`
(stopped by default) asks Comtrade+'s availability endpoint the same way, about every partition at
once, and requests exactly the partitions whose dataset is new or changed (its checksum or last
release time), any year, revisions included.

The schedules `<source>_live_daily` ask, every day at 06:00 UTC, for the partitions of the last two
years of every reporter (the years the IMF still revises); older years are fetched by a backfill
over the partitions (the UI's Materialize button on the asset, or `dagster asset materialize`).
"""

import json
import os
from datetime import date
from pathlib import Path

import dagster as dg

from tradewh.sources import fetch
from tradewh.sources.comtrade import live as comtrade_live
from tradewh.sources.comtrade.source import SOURCE as COMTRADE
from tradewh.sources.imf_imts import live as imts_live
from tradewh.sources.imf_imts.source import SOURCE as IMTS
from tradewh.warehouse import config

LIVE_ENV = "TRADEWH_LIVE"
REPORTERS_ENV = "TRADEWH_LIVE_REPORTERS"
FIRST_YEAR_ENV = "TRADEWH_LIVE_FIRST_YEAR"
FIRST_YEAR = 2016
RECENT_YEARS = 2  # the years a daily run asks again
IMTS_ANSWERS_KEY = dg.AssetKey(["live", "imf_imts_answers"])
COMTRADE_ANSWERS_KEY = dg.AssetKey(["live", "comtrade_answers"])
LIVE_SOURCES = (IMTS.name, COMTRADE.name)


def enabled(env: dict | None = None) -> set[str]:
    """The live sources switched on by TRADEWH_LIVE (names of sources with a fetcher)."""
    env = os.environ if env is None else env
    wanted = {s.strip() for s in (env.get(LIVE_ENV) or "").split(",") if s.strip()}
    unknown = wanted - set(LIVE_SOURCES)
    if unknown:
        raise ValueError(
            f"{LIVE_ENV}: no live fetcher for {', '.join(sorted(unknown))} (live sources: {', '.join(LIVE_SOURCES)})"
        )
    return wanted


def partitions(env: dict | None = None, today: date | None = None) -> dg.MultiPartitionsDefinition:
    """reporter x year: TRADEWH_LIVE_REPORTERS x TRADEWH_LIVE_FIRST_YEAR..this year. Raises
    ValueError when live fetching is on without reporters."""
    env = os.environ if env is None else env
    reporters = sorted({r.strip().upper() for r in (env.get(REPORTERS_ENV) or "").split(",") if r.strip()})
    if not reporters:
        raise ValueError(f"{REPORTERS_ENV}: name the reporters to fetch (ISO3 codes, e.g. RUS,IDN,MYS)")
    first = int(env.get(FIRST_YEAR_ENV) or FIRST_YEAR)
    last = (today or date.today()).year
    return dg.MultiPartitionsDefinition(
        {
            "reporter": dg.StaticPartitionsDefinition(reporters),
            "year": dg.StaticPartitionsDefinition([str(y) for y in range(first, last + 1)]),
        }
    )


def imts_answers_asset(partitions_def: dg.MultiPartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=IMTS_ANSWERS_KEY,
        partitions_def=partitions_def,
        group_name="live",
        kinds={"http", "sdmx"},
        output_required=False,
    )
    def imf_imts_answers(context: dg.AssetExecutionContext):
        """One reporter's IMTS answer for one year from api.imf.org (SDMX 3.0, dataflow IMF.STA:IMTS):
        exports FOB and imports CIF with every counterpart, US dollars, saved as
        imts_<reporter>_A_<year>-<year>.xml with its FETCHED.csv row in the imf_imts input folder.
        Partitioned by reporter x year. Materialised only when the answer changed (a new release of
        the source, fetched today); an unchanged answer materialises nothing. Raises the fetch's
        FetchError (rate_limited, quota_exhausted, server_error, timeout, truncated, not_data,
        empty, ...) with its message, or ValueError when the input folder is the bundled one."""
        keys = context.partition_key.keys_by_dimension
        folder = _input_folder(IMTS)
        year = int(keys["year"])
        try:
            outcome = imts_live.fetch_reporter(folder, keys["reporter"], "A", year, year)
        except fetch.FetchError as exc:
            raise _failure(exc) from exc
        context.log.info(
            f"{outcome.status}: {outcome.path.name} ({outcome.series} series, {outcome.observations} observations)"
        )
        if outcome.status == "saved":
            yield dg.MaterializeResult(
                metadata={
                    "file": dg.MetadataValue.path(str(outcome.path)),
                    "sha256": outcome.sha256,
                    "fetched_at": outcome.fetched_at,
                    "url": dg.MetadataValue.url(outcome.url),
                    "series": outcome.series,
                    "observations": outcome.observations,
                }
            )

    return imf_imts_answers


def _failure(exc: fetch.FetchError) -> dg.Failure:
    """A failed fetch as the run's failure: its kind and message, and the URL (key redacted)."""
    return dg.Failure(description=f"{exc.kind}: {exc}", metadata={"kind": exc.kind, "url": exc.url})


def _input_folder(source) -> Path:
    """The source's input folder, refusing the default ./data/<source> (ValueError naming it): in a
    clone of the repository that is the bundled data, which fetched answers must not change."""
    folder = config.input_dir(source)
    if folder == source.default_input.resolve():
        raise ValueError(
            f"live fetching writes into the {source.name} input folder, and {folder} is the default one (in a clone "
            f"of the repository, the bundled files): set {source.input_env} to a folder of your own (copy {folder} there to keep the bundled files)"
        )
    return folder


def comtrade_answers_asset(partitions_def: dg.MultiPartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=COMTRADE_ANSWERS_KEY,
        partitions_def=partitions_def,
        group_name="live",
        kinds={"http", "json"},
        output_required=False,
    )
    def comtrade_answers(context: dg.AssetExecutionContext):
        """One reporter's UN Comtrade+ bilateral totals for one year (final data with
        COMTRADE_API_KEY, else the public preview; exports and imports, every partner, US dollars),
        saved as comtrade_A_<code>_<year>_XM.json (split further if an answer reaches the row cap)
        with FETCHED.csv rows in the comtrade input folder. Partitioned by reporter (ISO3, mapped to
        Comtrade's code for the year) x year. Materialised only when an answer changed. Raises the
        fetch's FetchError with its message, or ValueError for the bundled input folder or a
        reporter Comtrade does not list that year."""
        keys = context.partition_key.keys_by_dimension
        folder = _input_folder(COMTRADE)
        year = int(keys["year"])
        code = comtrade_live.reporter_code(keys["reporter"], year)
        try:
            saved = comtrade_live.fetch_totals(folder, reporters=[code], periods=[str(year)])
        except fetch.FetchError as exc:
            raise _failure(exc) from exc
        for s in saved:
            context.log.info(f"{s.status}: {s.path.name} ({s.records} records)")
        changed = [s for s in saved if s.status == "saved"]
        if changed:
            yield dg.MaterializeResult(
                metadata={
                    "files": ", ".join(s.path.name for s in changed),
                    "records": sum(s.records for s in saved),
                    "reporter_code": code,
                }
            )

    return comtrade_answers


def definitions(env: dict | None = None, today: date | None = None) -> dict[str, list]:
    """The live assets, jobs, schedules and sensors switched on by the environment: {"assets": [...],
    "jobs": [...], "schedules": [...], "sensors": [...]}, all empty when TRADEWH_LIVE is unset. One
    asset per live source (reporter x year), its job fetch_<source>, its daily schedule
    <source>_live_daily, its availability sensor (imf_imts_availability, comtrade_availability)."""
    on = enabled(env)
    out = {"assets": [], "jobs": [], "schedules": [], "sensors": []}
    if not on:
        return out
    parts = partitions(env, today)
    for name, build_asset in ((IMTS.name, imts_answers_asset), (COMTRADE.name, comtrade_answers_asset)):
        if name not in on:
            continue
        asset = build_asset(parts)
        job = dg.define_asset_job(
            f"fetch_{name}",
            selection=[asset.key],
            description=f"Fetch {name} answers from its web service into its input folder.",
        )
        out["assets"].append(asset)
        out["jobs"].append(job)
        out["schedules"].append(_daily(job, parts, f"{name}_live_daily"))
        out["sensors"].append((_imts_availability if name == IMTS.name else _comtrade_availability)(job, parts))
    return out


def _recent(parts: dg.MultiPartitionsDefinition, reporter: str, run_key: str) -> list[dg.RunRequest]:
    """One run per partition of `reporter`'s last RECENT_YEARS years, each run key ending in `run_key`."""
    keys = [
        dg.MultiPartitionKey({"reporter": reporter, "year": year})
        for year in parts.get_partitions_def_for_dimension("year").get_partition_keys()[-RECENT_YEARS:]
    ]
    return [dg.RunRequest(run_key=f"{key}@{run_key}", partition_key=key) for key in keys]


def _imts_availability(job, parts: dg.MultiPartitionsDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        job=job,
        name="imf_imts_availability",
        minimum_interval_seconds=6 * 3600,
        default_status=dg.DefaultSensorStatus.STOPPED,
    )
    def imf_imts_availability(context: dg.SensorEvaluationContext):
        """Every 6 hours: ask api.imf.org's availability endpoint about each reporter (its series
        count and last period with data); a reporter whose figures changed since the last look (the
        sensor's cursor), or that was never looked at, gets runs for its recent years. New periods
        arrive within hours instead of at the next daily run; revisions of known periods change no
        availability, so the daily schedule still asks for them. A reporter the service cannot
        answer for is skipped with its message and asked again next time."""
        seen = json.loads(context.cursor or "{}")
        for reporter in parts.get_partitions_def_for_dimension("reporter").get_partition_keys():
            try:
                info = imts_live.availability_of(imts_live.base_url(), f"{reporter}.*.*.*", "INDICATOR")
            except fetch.FetchError as exc:
                context.log.warning(f"{reporter}: {exc.kind}: {exc}")
                continue
            mark = f"{info.series_count}|{info.time_period_end}"
            if seen.get(reporter) == mark:
                continue
            seen[reporter] = mark
            yield from _recent(parts, reporter, mark)
        context.update_cursor(json.dumps(seen, sort_keys=True))

    return imf_imts_availability


def _comtrade_availability(job, parts: dg.MultiPartitionsDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        job=job,
        name="comtrade_availability",
        minimum_interval_seconds=6 * 3600,
        default_status=dg.DefaultSensorStatus.STOPPED,
    )
    def comtrade_availability(context: dg.SensorEvaluationContext):
        """Every 6 hours: ask Comtrade+'s availability endpoint, in one call, which final datasets
        exist for the partitions' reporters (each mapped to Comtrade's code for the year) and years;
        a partition whose dataset is new or changed since the last look (its classification,
        checksum and last release time: the sensor's cursor) gets a run, and no other. A partition
        Comtrade lists no dataset for gets none. A failed ask is logged and made again next time."""
        seen = json.loads(context.cursor or "{}")
        years = parts.get_partitions_def_for_dimension("year").get_partition_keys()
        reporters: dict[tuple[int, str], str] = {}  # (Comtrade code, year) -> ISO3
        for reporter in parts.get_partitions_def_for_dimension("reporter").get_partition_keys():
            for year in years:
                try:
                    reporters[(comtrade_live.reporter_code(reporter, int(year)), year)] = reporter
                except ValueError as exc:  # not a Comtrade reporter that year (a former country, a typo)
                    context.log.info(str(exc))
        try:
            datasets = comtrade_live.availability(years, sorted({code for code, _ in reporters}))
        except fetch.FetchError as exc:
            context.log.warning(f"{exc.kind}: {exc}")
            return
        marks: dict[str, list[str]] = {}
        for dataset in datasets:
            reporter = reporters.get((dataset.reporter_code, dataset.period))
            if reporter is not None:
                marks.setdefault(f"{reporter}|{dataset.period}", []).append(dataset.mark)
        for key, found in sorted(marks.items()):
            mark = "; ".join(sorted(found))
            if seen.get(key) == mark:
                continue
            seen[key] = mark
            reporter, year = key.split("|")
            yield dg.RunRequest(
                run_key=f"{key}@{mark}", partition_key=dg.MultiPartitionKey({"reporter": reporter, "year": year})
            )
        context.update_cursor(json.dumps(seen, sort_keys=True))

    return comtrade_availability


def _daily(job, parts: dg.MultiPartitionsDefinition, name: str) -> dg.ScheduleDefinition:
    @dg.schedule(job=job, cron_schedule="0 6 * * *", execution_timezone="UTC", name=name)
    def daily(context: dg.ScheduleEvaluationContext):
        """Every day: the last RECENT_YEARS years of every reporter, one run per partition."""
        for reporter in parts.get_partitions_def_for_dimension("reporter").get_partition_keys():
            yield from _recent(parts, reporter, f"{context.scheduled_execution_time:%Y-%m-%d}")

    return daily
