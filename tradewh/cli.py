"""`tradewh`: the warehouse's command line.

    tradewh build     run the build_warehouse job through Dagster (recorded in DAGSTER_HOME, so the
                      run shows in the web UI) and print what was loaded, removed and quarantined;
                      nothing is run when the published warehouse is current (--force runs anyway)
    tradewh summary   print the published warehouse's load summary again
    tradewh sql       run SQL (text or a .sql file) on a read-only connection: --format table|csv|json
    tradewh growth    how a group's trade with a partner grew, member by member, on both bases
    tradewh products  load a bulk product source's year files (BACI layout) into the product store
    tradewh product-growth  a group's trade in one HS chapter with a partner, from the product store

DAGSTER_HOME defaults to $TRADEWH_HOME/dagster_home (created with a dagster.yaml that turns telemetry off
and lets the daemon's queue start one run at a time). Every run holds the home's build lock (warehouse.lock).
Exit status: 0 on success, 1 when the build failed (the error names the file/row/code at fault).
"""

import gc
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import click
import duckdb

from tradewh.warehouse import config
from tradewh.warehouse.display import number_text
from tradewh.warehouse.store import Store, WarehouseLockedError


def _dagster_home() -> str:
    home = os.environ.get("DAGSTER_HOME") or str(config.home() / "dagster_home")
    os.makedirs(home, exist_ok=True)
    yaml = os.path.join(home, "dagster.yaml")
    if not os.path.exists(yaml):
        with open(yaml, "w") as fh:
            # one run at a time from the daemon's queue (sensor, UI); the build lock serialises the rest
            # and no newsletter pop-up on the first visit to the web UI (nux)
            fh.write(
                "telemetry:\n  enabled: false\nnux:\n  enabled: false\nconcurrency:\n  runs:\n    max_concurrent_runs: 1\n"
            )
    os.environ["DAGSTER_HOME"] = home
    return home


@click.group()
@click.version_option(package_name="tradewh", prog_name="tradewh", message="%(prog)s %(version)s")
def main() -> None:
    """Bilateral trade warehouse (IMF DOTS and IMTS, UN Comtrade -> DuckDB)."""


@main.command()
@click.option("--force", is_flag=True, help="Rebuild even if the published warehouse is current.")
@click.option("--verbose", is_flag=True, help="Print Dagster's error records with their tracebacks as they happen.")
def build(force: bool, verbose: bool) -> None:
    """Ingest the input folders, build and publish the warehouse; print how it was built (whole, or
    the published one patched where a few files changed: warehouse.patch) and the summary. Nothing
    is built when the published warehouse already holds every input file version and was built by
    the same code (warehouse.state), unless --force (which builds whole)."""
    from tradewh.sources.registry import SOURCES

    try:
        folders, absent = config.input_dirs(SOURCES)
    except FileNotFoundError as exc:
        click.echo(f"tradewh build: {exc}; the published warehouse was not changed", err=True)
        sys.exit(1)
    if not folders:
        click.echo(
            "tradewh build: no source has an input folder, so there is nothing to build:\n"
            + config.how_to_add(absent)
            + "\n(a clone of the repository holds them under data/: run tradewh from its root)",
            err=True,
        )
        sys.exit(1)
    if absent:
        click.echo(
            f"tradewh build: building from {', '.join(s.name for s in folders)}; the other sources have no input folder:\n"
            + config.how_to_add(absent)
        )
    if not force:
        from tradewh.warehouse import state

        published = state.current(folders, Store.from_env())
        if published:
            click.echo(
                f"tradewh build: nothing new: the {published.files} input file versions are all in the warehouse "
                f"published by run {published.run_id} ({published.built_at:%Y-%m-%d %H:%M} UTC), built by the same "
                f"code; nothing was rebuilt (tradewh build --force rebuilds it).\n"
                f"warehouse  {config.db_path()}  (tradewh summary prints its load summary)"
            )
            return
    from tradewh.expectations import worker

    worker.prestart()  # GX's import (2-3 s) runs in a helper process while Dagster starts and the files parse
    _dagster_home()
    import dagster as dg

    from tradewh import definitions  # noqa: F401 (the code location, loaded before gc.freeze)

    # Move everything imported so far out of the cycle collector's reach: Dagster's and Polars'
    # module objects are never garbage, and every full collection during the run walked them.
    gc.freeze()
    from tradewh.assets.launch import execute_job
    from tradewh.assets.partitions import run_tags
    from tradewh.assets.resources import WarehouseResource

    resource = WarehouseResource.from_env()
    with dg.DagsterInstance.get() as instance:
        try:
            tags = run_tags(instance, resource.folders(), resource.store())
        except (FileNotFoundError, ValueError) as exc:
            click.echo(f"tradewh build: {exc}; the published warehouse was not changed", err=True)
            sys.exit(1)
        # created with the code location's origin: the run is on the job's page in the web UI
        result = execute_job(
            instance,
            "build_warehouse",
            run_config={"loggers": {"console": {"config": {"log_level": "INFO", "errors": verbose, "progress": True}}}},
            tags=tags,
        )
        log = _write_run_log(instance, result.run_id) if not result.success else None
    blocked = [
        e for e in result.get_asset_check_evaluations() if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]
    for e in blocked:
        meta = {k: getattr(v, "value", v) for k, v in e.metadata.items() if k != "examples"}
        examples = e.metadata.get("examples")
        click.echo(
            f"tradewh build: check {e.check_name} on {e.asset_key.to_user_string()} {meta.get('status', 'failed')}: "
            f"{meta.get('failing_rows', '?')} of {meta.get('checked_rows', '?')} rows"
            + (f"; error: {meta['error']}" if meta.get("error") else "")
            + (f"\n{_records_text(examples)}" if examples is not None and examples.records else ""),
            err=True,
        )
    published = any(m.asset_key.path == ["publish", "warehouse"] for m in result.get_asset_materialization_events())
    if not result.success or not published:
        _print_step_failures("build", result)
        why = "failed" if not result.success else "was stopped by a blocking check"
        click.echo(f"tradewh build: run {result.run_id} {why}; the published warehouse was not changed", err=True)
        if log:
            click.echo(
                f"tradewh build: the full log, tracebacks included: {log} (also on the run's page in the web UI; "
                "tradewh build --verbose prints them as they happen)",
                err=True,
            )
        sys.exit(1)
    for m in result.get_asset_materialization_events():  # whole, or the published warehouse patched
        if m.asset_key.path == ["canonical", "observations"] and "built" in m.materialization.metadata:
            click.echo(f"tradewh build: {m.materialization.metadata['built'].value}")
    _print_summary(Store.from_env(), run_id=result.run_id)
    # The same at exit: the interpreter's final collection walked every object of the run (0.7 s).
    gc.freeze()


@main.command()
@click.option(
    "--source", "source_name", default="baci", show_default=True, help="The bulk source (sources/registry.py)."
)
@click.option(
    "--years", default=None, help="A year or a range, e.g. 2010-2020 (default: every year file in the folder)."
)
@click.option("--classification", default=None, help="One HS revision, H0-H6 (default: every one in the folder).")
@click.option("--verbose", is_flag=True, help="Print Dagster's error records with their tracebacks as they happen.")
def products(source_name: str, years: str | None, classification: str | None, verbose: bool) -> None:
    """Load a bulk product source's year files (BACI layout: TRADEWH_BACI_DIR, default data/baci) into
    the product store, one Dagster run per HS revision over its years (job load_<source>,
    partitions revision x year), and print each file's counts. A file version already loaded is
    not read again. Storage: the local product store under TRADEWH_HOME, or DuckLake when
    TRADEWH_LAKE is set (docs/scale.md); TRADEWH_MEMORY_LIMIT caps DuckDB's memory per load."""
    from tradewh.sources.registry import BULK_BY_NAME

    source = BULK_BY_NAME.get(source_name)
    if source is None:
        click.echo(
            f"tradewh products: unknown bulk source {source_name!r}; registered: {', '.join(BULK_BY_NAME)}", err=True
        )
        sys.exit(1)
    folder = config.input_dir(source)
    if not folder.is_dir():
        click.echo(
            f"tradewh products: no folder {folder}; set {source.input_env} to the folder of {source.name}'s year files",
            err=True,
        )
        sys.exit(1)
    try:
        files, errors = source.input_files(folder)
    except ValueError as exc:
        click.echo(f"tradewh products: {exc}; nothing was loaded", err=True)
        sys.exit(1)
    if errors:
        for e in errors:
            click.echo(f"tradewh products: {e}", err=True)
        click.echo(f"tradewh products: {len(errors)} file(s) of {folder} cannot load; nothing was loaded", err=True)
        sys.exit(1)
    if years:
        first, _, last = years.partition("-")
        files = [f for f in files if int(first) <= f.year <= int(last or first)]
    if classification:
        files = [f for f in files if f.classification == classification]
    if not files:
        click.echo(f"tradewh products: no {source.name} year file in {folder} matches; nothing to load")
        return
    _dagster_home()
    import dagster as dg

    from tradewh.assets.launch import execute_job
    from tradewh.assets.products import PRODUCTS_POOL, ProductStoreResource, partition_key
    from tradewh.warehouse import bulk

    resource = ProductStoreResource.from_env()
    lake = resource.lake()
    failed = False
    with dg.DagsterInstance.get() as instance:
        # loads across runs: one at a time on the local store, Lake.writers on DuckLake
        instance.event_log_storage.set_concurrency_slots(PRODUCTS_POOL, lake.writers if lake else 1)
        for revision in sorted({f.classification for f in files}):
            years_of = [f.year for f in files if f.classification == revision]
            tags = {
                "dagster/asset_partition_range_start": partition_key(revision, min(years_of)),
                "dagster/asset_partition_range_end": partition_key(revision, max(years_of)),
            }
            result = execute_job(
                instance,
                f"load_{source.name}",
                run_config={
                    "loggers": {"console": {"config": {"log_level": "INFO", "errors": verbose, "progress": True}}}
                },
                tags=tags,
            )
            if not result.success:
                _print_step_failures("products", result)
                click.echo(
                    f"tradewh products: run {result.run_id} ({revision}) failed; its files were not loaded", err=True
                )
                failed = True
    rows = []
    if lake:  # the lake's manifest rows of these file versions
        from tradewh.warehouse.lake import connect as lake_connect

        with lake_connect(lake) as con:
            listed = {
                r[0]: r[1:]
                for r in con.execute(
                    "SELECT file_sha256, rows_read, rows_loaded, rows_quarantined FROM lake.product_files"
                ).fetchall()
            }
    for f in files:
        if lake:
            counts = listed.get(f.sha256)
        else:
            r = bulk.loaded_report(resource.home, source, f)
            counts = None if r is None else (r.rows_read, r.rows_loaded, r.rows_quarantined)
        if counts is not None:
            rows.append([f.name, f.classification, str(f.year), f.vintage, *counts])
    if rows:
        from tabulate import tabulate

        click.echo(
            tabulate(
                rows, headers=["file", "revision", "year", "release", "rows read", "loaded", "quarantined"], intfmt=","
            )  # fmt: skip
        )
    where = f"DuckLake {lake.catalog}" if lake else f"{bulk.products_dir(resource.home)} (views in {config.db_path()})"
    click.echo(f"product store  {where}")
    if failed:
        sys.exit(1)


def _print_step_failures(command: str, result) -> None:
    """One line per failed step of a Dagster run: the error that matters, not Dagster's wrapping."""
    for event in result.all_events:
        if event.is_step_failure:
            err = event.step_failure_data.error
            while err.cause is not None and "dagster" in err.cls_name.lower():
                err = err.cause
            message, prefix = err.message.strip(), f"{err.cls_name}: "
            if prefix in message.split("\n", 1)[0]:  # "warehouse.ingest.FileSetError: 2 file(s) ..." -> "2 file(s) ..."
                message = message.split(prefix, 1)[1]
            click.echo(f"tradewh {command}: step {event.step_key} failed: {err.cls_name}: {message}", err=True)


def _records_text(table) -> str:
    """A Dagster table metadata value (a check's failing examples, already readable) as a text table."""
    from tabulate import tabulate

    columns = [c.name for c in table.schema.columns]
    return tabulate(
        [[r.data.get(c) for c in columns] for r in table.records],
        headers=columns,
        tablefmt="simple",
        disable_numparse=True,
    )


def _write_run_log(instance, run_id: str) -> Path | None:
    """Write the run's event log (every record, failures with their tracebacks) to
    $TRADEWH_HOME/logs/<run_id>.log; returns its path, or None if it could not be written."""
    path = config.home() / "logs" / f"{run_id}.log"
    try:
        lines = []
        for entry in instance.all_logs(run_id):
            event = entry.dagster_event
            when = datetime.fromtimestamp(entry.timestamp, timezone.utc).isoformat(timespec="milliseconds")
            lines.append(
                f"{when} {event.event_type_value if event else 'LOG'} "
                f"{entry.step_key or '-'} {entry.user_message or (event.message if event else '')}"
            )
            error = event and (
                event.step_failure_data.error
                if event.is_step_failure
                else event.job_failure_data.error
                if event.is_job_failure and event.job_failure_data
                else None
            )
            if error:
                lines.append(error.to_string())
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
    except Exception:  # the log is a convenience; the run's outcome is what is reported
        return None
    return path


@main.command()
def summary() -> None:
    """Print the published warehouse's load summary."""
    from tradewh.warehouse.queries import QueryError, require_totals

    store = Store.from_env()
    try:
        with store.connect_published() as con:
            require_totals(con)
        _print_summary(store)
    except (FileNotFoundError, WarehouseLockedError, QueryError) as exc:
        raise click.ClickException(str(exc)) from exc


def _print_summary(store: Store, run_id: str | None = None) -> None:
    """The published warehouse's load summary: per source its files, releases and where every raw
    row went (loaded, duplicate, quarantined), with the reconciliation of rows and values; then
    entities outside their validity dates and the checks."""
    from tradewh.sources.registry import BY_NAME

    with store.connect_published() as con:
        run, summary_json = con.execute("SELECT run_id, summary_json FROM meta.load_runs").fetchone()
        files = {
            source: row
            for source, *row in con.execute(
                "SELECT source::VARCHAR, count(*), sum(raw_cells), sum(observations), sum(duplicates), sum(quarantined), "
                "count(DISTINCT source_file) FROM meta.source_files GROUP BY ALL"
            ).fetchall()
        }
        checks = con.execute(
            "SELECT check_name, asset, blocking, status, checked_rows, failing_rows, seconds FROM meta.check_results "
            "ORDER BY blocking DESC, asset DESC, check_name"
        ).fetchall()
        validity = con.execute(
            "SELECT role, code, entity_type, valid_from, valid_to, first_year, last_year, observations, vintage, source "
            "FROM meta.entity_validity_report ORDER BY code, role, source, vintage"
        ).fetchall()
    s = json.loads(summary_json)
    out = [f"warehouse  {store.db_path}  (run {run})"]
    from tradewh.sources.registry import SOURCES

    order = [s.name for s in SOURCES]
    for name, b in sorted(s["by_source"].items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)):
        source = BY_NAME.get(name)
        noun = source.file_noun if source else "files"
        n_versions, raw, loaded, dups, quarantined, n_files = files.get(name, (0,) * 6)
        reconciled = b["raw_rows"] == b["observations"] + b["duplicates"] + b["quarantined"]
        per_file = (raw, loaded, dups, quarantined) == (
            b["raw_rows"],
            b["observations"],
            b["duplicates"],
            b["quarantined"],
        )
        out += [
            f"{name}  {source.info.title if source else ''} ({b['unit']})",
            f"files      {n_files} {noun}"
            + (f" in {n_versions} file versions" if n_versions != n_files else "")
            + f", vintages {', '.join(b['vintages'])}",
            f"raw cells  {b['raw_rows']:>10,}  {source.raw_rows if source else 'raw rows'}",
            f"loaded     {b['observations']:>10,}  canonical.observations",
            f"duplicates {b['duplicates']:>10,}  exact duplicates removed",
            f"quarantined{b['quarantined']:>10,}",
            f"reconciliation: {b['raw_rows']:,} = {b['observations']:,} + {b['duplicates']:,} + {b['quarantined']:,} "
            f"-> {'OK' if reconciled else 'MISMATCH'}; per-file counts add up: {'OK' if per_file else 'MISMATCH'}",
            _value_line(b),
        ]
    reconciled = s["raw_cells"] == s["observations"] + s["duplicates"] + s["quarantined"]
    out += [
        f"all sources: {s['raw_cells']:,} raw rows = {s['observations']:,} loaded ({s['estimated']:,} estimates, "
        f"{s['negative']} negative, flagged) + {s['duplicates']:,} duplicates ("
        + (", ".join(f"{k} {v:,}" for k, v in sorted(s["duplicates_by_scope"].items())) or "none")
        + f") + {s['quarantined']:,} quarantined ("
        + (", ".join(f"{k} {v:,}" for k, v in sorted(s["quarantined_by_reason"].items())) or "none")
        + f") -> {'OK' if reconciled else 'MISMATCH'}",
        f"entities outside their validity dates (loaded under their own code): {len(validity)}",
    ]
    several = len(s["vintages"]) > 1
    for role, code, etype, vf, vt, fy, ly, n, vintage, source in validity:
        when = f"after its end {vt}" if vt is not None and ly > vt.year else f"before its start {vf}"
        release = f" (release {vintage})" if several else ""
        out.append(f"  {code:4s} {role:8s} {etype:10s} {n:>6,} observations {fy}-{ly}, {when}  {source}{release}")
    warnings = sum(n for _, _, _, status, _, n, _ in checks if status == "warning")
    out.append(
        f"checks: {sum(1 for c in checks if c[3] == 'passed')} passed, "
        f"{sum(1 for c in checks if c[3] == 'warning')} warning ({warnings:,} rows warned about), "
        f"{sum(1 for c in checks if c[3] in ('failed', 'error'))} failed; {sum(c[6] for c in checks):.1f} s of check time"
    )
    for name, asset, blocking, status, checked, failing, secs in checks:
        kind = "blocking" if blocking else "warning "
        out.append(f"  {status:8s} {kind} {asset + '/' + name:54s} {failing:>7,} of {checked:>9,} rows  {secs:5.1f} s")
    out += _product_summary(store)
    click.echo("\n".join(out))


def _product_summary(store: Store) -> list[str]:
    """Lines on the bulk product store the warehouse reads (tradewh products), if any: files,
    years, revisions and where every row went."""
    with store.connect_published() as con:
        if not con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'product_files'").fetchone()[0]:
            return []
        rows = con.execute(
            "SELECT source, count(*), min(year), max(year), string_agg(DISTINCT classification, ', ' ORDER BY classification), "
            "sum(rows_read), sum(rows_loaded), sum(rows_quarantined) FROM meta.product_files GROUP BY source ORDER BY source"
        ).fetchall()
    out = ["bulk products (tradewh products; canonical.product_observations, meta.product_files):"]
    for source, files, first, last, revisions, read, loaded, quarantined in rows:
        ok = "OK" if read == loaded + quarantined else "MISMATCH"
        out.append(
            f"  {source}: {files} year files, {first}-{last}, revisions {revisions}: {read:,} rows read = "
            f"{loaded:,} loaded + {quarantined:,} quarantined -> {ok}"
        )
    return out


FORMATS = click.Choice(["table", "csv", "json"])
TABLE_TEXT_WIDTH = 60  # longer text is cut in the table format (csv and json give it whole)


def _cut(value):
    if isinstance(value, (list, dict)):  # nested values (SHOW ALL TABLES' column lists) print as text
        value = str(value)
    return value[: TABLE_TEXT_WIDTH - 1] + "…" if isinstance(value, str) and len(value) > TABLE_TEXT_WIDTH else value


OUTPUT_SUFFIXES = (".csv", ".parquet", ".xlsx")
OUTPUT = click.option(
    "--output",
    "output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the whole result to this file instead of printing it: .csv, .parquet or .xlsx (by its extension).",
)


def _flat(frame):
    """`frame` with nested columns (lists, structs: SHOW ALL TABLES' column lists) as JSON text, for
    the formats that hold only flat values (csv, xlsx)."""
    import polars as pl

    nested = [c for c, t in frame.schema.items() if t.is_nested()]
    return (
        frame.with_columns(
            pl.col(c).map_elements(
                lambda v: json.dumps(v.to_list() if hasattr(v, "to_list") else v, default=str), return_dtype=pl.String
            )
            for c in nested
        )
        if nested
        else frame
    )


def _write(frame, output: str) -> None:
    """Write `frame` whole to `output`: csv (exact amounts as written), parquet (typed, nested
    columns kept) or xlsx (one sheet; exact amounts as numbers). Raises ClickException for another
    extension."""
    path = Path(output)
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise click.ClickException(
            f"--output {output}: the file's extension says the format: {', '.join(OUTPUT_SUFFIXES)}"
        )
    if suffix == ".csv":
        _flat(frame).write_csv(path)
    elif suffix == ".parquet":
        frame.write_parquet(path)
    else:
        import polars as pl

        _flat(frame).with_columns(pl.col(pl.Decimal).cast(pl.Float64)).write_excel(path, autofit=True)
    click.echo(f"wrote {frame.height:,} rows to {path}", err=True)


def _emit(frame, fmt: str, floatfmt=None) -> None:
    """Print a Polars frame as a table (tabulate; floatfmt one format or one per column, applied to
    float and decimal columns only, default `warehouse.display.number_text`: text that looks like a
    number, such as raw cell_text, is shown as it is; text over TABLE_TEXT_WIDTH characters cut), CSV or JSON (one object per row,
    whole values)."""
    if fmt == "csv":
        click.echo(_flat(frame).write_csv(), nl=False)
    elif fmt == "json":
        click.echo(frame.write_json())
    else:
        from tabulate import tabulate

        formats = floatfmt if isinstance(floatfmt, list) else [floatfmt] * frame.width
        columns = [
            [None if v is None else (format(v, f) if f else number_text(v)) for v in frame[c]]
            if frame[c].dtype.is_float() or frame[c].dtype.is_decimal()
            else [_cut(v) for v in frame[c].to_list()]
            for c, f in zip(frame.columns, formats)
        ]
        rows = list(zip(*columns)) if columns else []
        align = ["right" if frame[c].dtype.is_numeric() else "left" for c in frame.columns]
        click.echo(tabulate(rows, headers=frame.columns, tablefmt="simple", disable_numparse=True, colalign=align))


@main.command()
@click.argument("query")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@OUTPUT
def sql(query: str, fmt: str, output: str | None) -> None:
    """Run QUERY (SQL text, or the path of a .sql file) on the published warehouse, read-only.

    Only one statement that reads is run (SELECT, WITH, FROM, DESCRIBE, SHOW, SUMMARIZE, PRAGMA,
    EXPLAIN); other files cannot be read, except the raw-store files the raw views read. In the
    table format, text longer than 60 characters is cut with "…" (an ENUM column's type in
    DESCRIBE is its whole list of values); csv and json give it whole. US-dollar amounts are exact
    (whole cents): csv writes them as they are, json as strings ("973823955.00"). Nested values
    (lists) are written as JSON text in csv. --output FILE writes the result to a .csv, .parquet
    or .xlsx file instead.
    """
    from tradewh.warehouse.lake import Lake, LakeError
    from tradewh.warehouse.queries import QueryError, connect_read_only, read_statement

    if query.strip().lower().endswith(".sql"):
        if not Path(query).is_file():
            raise click.ClickException(f"no such SQL file: {query}")
        text = Path(query).read_text()
    else:
        text = query
    try:
        # with TRADEWH_LAKE set, the DuckLake too, read-only, as `lake` (docs/scale.md)
        with connect_read_only(Store.from_env().db_path, lake=Lake.from_env(config.home())) as con:
            frame = con.execute(read_statement(con, text)).pl()
    except (QueryError, WarehouseLockedError, LakeError) as exc:
        raise click.ClickException(str(exc)) from exc
    except duckdb.Error as exc:
        # on an unknown name DuckDB's "did you mean" can point at its own pg_catalog views
        hint = (
            "\nThe warehouse's tables and views: tradewh sql 'SHOW ALL TABLES'"
            if isinstance(exc, duckdb.CatalogException)
            else ""
        )
        raise click.ClickException(f"{type(exc).__name__}: {exc}{hint}") from exc
    if output:
        _write(frame, output)
        return
    _emit(frame, fmt)


@main.command()
@click.option("--partner", required=True, help="Partner: ISO3 code, old code or name, e.g. RUS, Russia.")
@click.option(
    "--group",
    default=None,
    help="Group code from ref.group_membership (ASEAN, BRICS, BRICS_PARTNERS, EU), or members separated by commas "
    "(IDN,MYS,Viet Nam).",
)
@click.option("--reporter", default=None, help="One reporter instead of a group: ISO3 code or name, e.g. SGP.")
@click.option("--from", "first_year", type=int, required=True, help="First year (its growth uses the year before).")
@click.option("--to", "last_year", type=int, required=True, help="Last year.")
@click.option(
    "--freq",
    type=click.Choice(["A", "M"]),
    default="A",
    show_default=True,
    help="A = annual figures; M = monthly figures only, each month against the same month a year earlier.",
)
@click.option(
    "--ytd-month",
    type=click.IntRange(1, 12),
    default=None,
    help="With --freq M: one row per year covering months 1..K, against months 1..K of the year before.",
)
@click.option(
    "--basis",
    type=click.Choice(["reporter", "mirror", "both"]),
    default="both",
    show_default=True,
    help="reporter = the members' own figures; mirror = the partner's figures.",
)
@click.option(
    "--composition",
    type=click.Choice(["constant", "yearly"]),
    default="constant",
    show_default=True,
    help="constant = members at the end of --to in every year; yearly = each year's own members.",
)
@click.option(
    "--source",
    default=None,
    help="One source's figures (ref.sources: imf_dots, imf_imts, comtrade, singstat); default: per year, the first "
    "source in precedence order that has figures (docs/growth.md).",
)
@click.option(
    "--rule",
    type=click.Choice(["strict", "like-for-like"]),
    default="strict",
    show_default=True,
    help="strict = growth only when the same members and flows are present in both years; like-for-like = "
    "growth over those present in both years, naming what was left out.",
)
@click.option(
    "--currency",
    type=click.Choice(["usd", "original"]),
    default="usd",
    show_default=True,
    help="usd = US dollars; original = the currency the source published in (with --freq M).",
)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The figures as the warehouse would have answered on this date (YYYY-MM-DD): from the releases "
    "published on or before it (docs/releases.md); default: the newest releases.",
)
@click.option(
    "--chart",
    "chart",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Also draw the series answered into this PNG file.",
)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@OUTPUT
def growth(
    partner,
    group,
    reporter,
    first_year,
    last_year,
    freq,
    ytd_month,
    basis,
    composition,
    source,
    rule,
    currency,
    as_of,
    chart,
    fmt,
    output,
) -> None:
    """How a group's (or one reporter's) trade (X + M) with a partner grew, per member and for the
    group, year on year, month on the same month a year earlier, or year to date.

    One row per member per period and one per period for the group; growth in percent, contributions
    in percentage points of the group's previous-period total; coverage, estimated share, source,
    release (vintage), currency, a note wherever a figure needs one and entity_break where an entity
    changed between the two periods (docs/growth.md: "Growth rules").
    """
    from tradewh.warehouse.queries import QueryError, connect_read_only, group_growth

    bases = ("reporter", "mirror") if basis == "both" else (basis,)
    try:
        with connect_read_only(Store.from_env().db_path) as con:
            frame, notices = group_growth(
                con,
                partner,
                group,
                first_year,
                last_year,
                bases,
                composition,
                source,
                rule,
                reporter=reporter,
                freq=freq,
                ytd_month=ytd_month,
                currency=currency,
                as_of=as_of.date() if as_of else None,
            )
    except (QueryError, WarehouseLockedError) as exc:
        raise click.ClickException(str(exc)) from exc
    for notice in notices:
        click.echo(f"note: {notice}", err=True)
    if chart:
        from tradewh.warehouse.charts import growth_chart

        growth_chart(frame, chart)
        click.echo(f"note: chart written to {chart}", err=True)
    if output:
        _write(frame, output)
        return
    if fmt == "table":
        import polars as pl

        # the order of the csv and json columns (growth.COLUMNS), with the value in millions of the currency asked
        columns = {
            "reporter": "",
            "partner": "",
            "year": "",
            "months": "",
            "currency": "",
            "value_m": ",.1f",
            "growth_pct": ".1f",
            "contribution_pp": ".2f",
            "basis": "",
            "coverage": "",
            "estimated_share": ".3f",
            "source": "",
            "vintage": "",
            "entity_break": "",
            "note": "",
        }
        frame = frame.with_columns((pl.col("value") / 1e6).alias("value_m")).select(list(columns))
        click.echo(
            "value_m = millions of the currency shown (US$ unless --currency original); growth_pct in %, "
            "contribution_pp in percentage points of the group's previous-period total"
        )
        _emit(frame, fmt, floatfmt=[f or "g" for f in columns.values()])
        return
    _emit(frame, fmt)


def _value_line(b: dict) -> str:
    """A source's value reconciliation in its own unit, compared to 1e-9 relative (float sums of
    millions of values)."""
    read, loaded = b["raw_value_total"], b["loaded_value_total"]
    dups, quarantined = b["duplicate_value_total"], b["quarantined_value_total"]
    ok = abs(read - (loaded + dups + quarantined)) <= 1e-9 * max(abs(read), 1.0)
    return (
        f"value ({b['unit']}): read {read:,.3f}; loaded {loaded:,.3f} + duplicates {dups:,.3f}"
        f" + quarantined {quarantined:,.3f} -> {'OK' if ok else 'MISMATCH'}"
    )


if __name__ == "__main__":
    main()


@main.command("product-growth")
@click.option("--partner", required=True, help="Partner entity code, e.g. RUS.")
@click.option("--group", required=True, help="A group of ref.group_membership, e.g. ASEAN.")
@click.option("--chapter", required=True, help="HS chapter, two digits, e.g. 27 (mineral fuels).")
@click.option("--classification", default="H5", show_default=True, help="The HS revision to read: H0-H6 (never mixed).")
@click.option("--from", "first_year", type=int, required=True, help="First year (its growth uses the year before).")
@click.option("--to", "last_year", type=int, required=True, help="Last year.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def product_growth(partner, group, chapter, classification, first_year, last_year, fmt) -> None:
    """How each member of a group traded one HS chapter with a partner, year on year, from the bulk
    product store (tradewh products; docs/scale.md): exports, imports (the partner's exports to the
    member), trade and growth in %, per member and for the group, in one HS revision."""
    from tradewh.warehouse.lake import Lake, LakeError
    from tradewh.warehouse.queries import QueryError, connect_read_only, product_group_growth

    try:
        with connect_read_only(Store.from_env().db_path, lake=Lake.from_env(config.home())) as con:
            frame = product_group_growth(con, classification, group, partner, chapter, first_year, last_year)
    except (QueryError, WarehouseLockedError, LakeError) as exc:
        raise click.ClickException(str(exc)) from exc
    if fmt == "table":
        click.echo(
            f"US$; HS chapter {chapter} in {classification}; imports = {partner.upper()}'s exports to the member "
            "(BACI: one reconciled value per pair)"
        )
    _emit(frame, fmt)
