"""How `tradewh` prints frames: numbers formatted by their type, text shown as it is (cut only in
the table format), and the statements `tradewh sql` runs."""

import os

import duckdb
import polars as pl
import pytest

from tradewh.cli import TABLE_TEXT_WIDTH, _emit
from tradewh.warehouse.queries import QueryError, read_statement


def test_table_format_shows_text_as_text_and_formats_floats(capsys):
    long = "ENUM(" + ", ".join(f"'{c}'" for c in ("ABW", "AFG", "AGO") * 10) + ")"
    frame = pl.DataFrame({"cell_text": ["973.823955"], "value_usd": [973823955.0], "year": [2020], "type": [long]})
    _emit(frame, "table")
    out = capsys.readouterr().out
    assert "973.823955" in out and "973.82 " not in out  # text that looks like a number is not rounded
    assert "973,823,955.00" in out
    assert long[: TABLE_TEXT_WIDTH - 1] + "…" in out and long not in out
    _emit(frame, "csv")
    assert long in capsys.readouterr().out  # csv (and json) give the text whole


def test_table_format_keeps_small_values_visible(capsys):
    # Aruba's exports to the US in 2000: asymmetry ratio 10 m / 1,498 m = 0.00667, not "0.01"
    _emit(pl.DataFrame({"asymmetry_ratio": [0.006675, 0.0, 1.5, None]}), "table")
    out = capsys.readouterr().out.split()
    assert "0.00668" in out and "0.00" in out and "1.50" in out and "0.01" not in out


def test_exact_amounts_print_like_numbers(capsys):
    from decimal import Decimal

    frame = pl.DataFrame(
        {"value_usd": [Decimal("973823955.00"), Decimal("0.05"), None]}, schema={"value_usd": pl.Decimal(18, 2)}
    )
    _emit(frame, "table")
    out = capsys.readouterr().out.split()
    assert "973,823,955.00" in out and "0.05" in out
    _emit(frame, "csv")
    assert capsys.readouterr().out.splitlines() == ["value_usd", "973823955.00", "0.05", ""]


@pytest.mark.parametrize(
    "sql",
    ["SELECT 1", "WITH x AS (SELECT 1) SELECT * FROM x", "DESCRIBE SELECT 1", "SHOW ALL TABLES", "EXPLAIN SELECT 1"],
)
def test_read_statements_run(sql):
    with duckdb.connect() as con:
        assert read_statement(con, sql) == sql


@pytest.mark.parametrize(
    "sql",
    ["COPY (SELECT 1) TO 'x.csv'", "ATTACH 'x.duckdb'", "CREATE TABLE t (a INT)", "INSTALL httpfs", "SET threads = 1"],
)
def test_other_statements_are_refused(sql):
    with duckdb.connect() as con, pytest.raises(QueryError, match="only statements that read"):
        read_statement(con, sql)


def test_read_only_connection_allows_only_the_raw_view_files(tmp_path):
    from tradewh.warehouse.queries import connect_read_only

    listed, other = tmp_path / "listed.parquet", tmp_path / "other.parquet"
    for path in (listed, other):
        pl.DataFrame({"a": [1]}).write_parquet(path)
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA meta")
        con.execute("CREATE TABLE meta.raw_files AS SELECT ? AS path", [str(listed)])
    with connect_read_only(db) as con:
        assert con.execute(f"SELECT a FROM '{listed}'").fetchall() == [(1,)]
        with pytest.raises(duckdb.PermissionException):
            con.execute(f"SELECT a FROM '{other}'")
        with pytest.raises(duckdb.Error):
            con.execute("SET enable_external_access = true")
    old = tmp_path / "old.duckdb"  # built before the raw views: no meta.raw_files, no file allowed
    duckdb.connect(str(old)).close()
    with connect_read_only(old) as con, pytest.raises(duckdb.PermissionException):
        con.execute(f"SELECT a FROM '{listed}'")


def test_a_failing_build_says_per_bad_file_what_is_wrong_and_where_the_log_is(tmp_path, inbox):
    # issue 14: a corrupt workbook printed 74 lines of Dagster traceback, twice, and a BrokenPipeError
    # of the validation helper before the one line that mattered
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from conftest import AFGHANISTAN, DOTS, INDONESIA

    folder = inbox(AFGHANISTAN)
    (folder / "DOTS_5.xlsx").write_bytes(b"")
    data = (DOTS / INDONESIA).read_bytes()
    (folder / INDONESIA).write_bytes(data[:20_000])  # a download cut short
    env = {**os.environ, "TRADEWH_HOME": str(tmp_path / "home"), "TRADEWH_IMF_DOTS_DIR": str(folder)}
    env.pop("DAGSTER_HOME", None)
    env.pop("TRADEWH_DB", None)
    tradewh = str(Path(sys.executable).parent / "tradewh")
    err = tmp_path / "stderr.txt"
    with open(err, "w") as fh:
        proc = subprocess.run([tradewh, "build"], env=env, stdout=subprocess.PIPE, stderr=fh, text=True, timeout=300)
    time.sleep(3)  # the validation helper, if it were to print anything after the CLI ended, shares this stderr
    lines = err.read_text().splitlines()
    assert proc.returncode == 1
    assert not [line for line in lines if "Traceback" in line or "Stack Trace" in line or "BrokenPipe" in line]
    assert "  DOTS_5.xlsx: not an IMF DOTS export workbook: empty file (0 bytes)" in lines
    assert (
        "  DOTS_94.xlsx: not an IMF DOTS export workbook: cut short: the .xlsx file ends early (20,000 bytes, "
        "its zip directory is missing); download or copy it again" in lines
    )
    assert len(lines) <= 6, lines
    log = Path(lines[-1].split("tracebacks included: ")[1].split(" (")[0])
    assert log.is_file() and "Stack Trace" in log.read_text() and "DOTS_5.xlsx" in log.read_text()
    verbose = subprocess.run([tradewh, "build", "--verbose"], env=env, capture_output=True, text=True, timeout=300)
    assert verbose.returncode == 1 and "Stack Trace" in verbose.stderr


@pytest.fixture
def small_warehouse(tmp_path, monkeypatch):
    """A warehouse file with one table of an exact amount, a text and a list column, as TRADEWH_DB."""
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA meta")
        con.execute("CREATE TABLE meta.raw_files (path VARCHAR)")
        con.execute(
            "CREATE TABLE t AS SELECT 'IDN' AS reporter, 973823955.05::DECIMAL(18, 2) AS value_usd, ['X', 'M'] AS flows "
            "UNION ALL SELECT 'MYS', 12.5, ['X']"
        )
    monkeypatch.setenv("TRADEWH_DB", str(db))
    monkeypatch.setenv("TRADEWH_HOME", str(tmp_path))
    return tmp_path


def test_sql_output_writes_csv_parquet_and_xlsx_whole(small_warehouse):
    import openpyxl
    import pyarrow.parquet as pq
    from click.testing import CliRunner

    from tradewh.cli import main

    query = "SELECT * FROM t ORDER BY reporter"
    for name in ("r.csv", "r.parquet", "r.xlsx"):
        result = CliRunner().invoke(main, ["sql", query, "--output", str(small_warehouse / name)])
        assert result.exit_code == 0, result.output
        assert f"wrote 2 rows to {small_warehouse / name}" in result.output
    assert (small_warehouse / "r.csv").read_text().splitlines() == [
        "reporter,value_usd,flows",
        'IDN,973823955.05,"[""X"", ""M""]"',
        'MYS,12.50,"[""X""]"',
    ]
    table = pq.read_table(small_warehouse / "r.parquet")
    assert (
        table.column("flows").to_pylist() == [["X", "M"], ["X"]] and str(table.column("value_usd")[0]) == "973823955.05"
    )
    sheet = openpyxl.load_workbook(small_warehouse / "r.xlsx").active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["reporter", "value_usd", "flows"],
        ["IDN", 973823955.05, '["X", "M"]'],
        ["MYS", 12.5, '["X"]'],
    ]
    wrong = CliRunner().invoke(main, ["sql", query, "--output", str(small_warehouse / "r.txt")])
    assert wrong.exit_code == 1 and ".csv, .parquet, .xlsx" in wrong.output


def test_a_list_column_prints_as_json_text_in_csv_and_copy_is_refused_with_a_way_to_export(small_warehouse):
    from click.testing import CliRunner

    from tradewh.cli import main

    result = CliRunner().invoke(main, ["sql", "SELECT reporter, flows FROM t ORDER BY reporter", "--format", "csv"])
    assert result.exit_code == 0 and result.output.splitlines()[1] == 'IDN,"[""X"", ""M""]"'
    refused = CliRunner().invoke(main, ["sql", f"COPY t TO '{small_warehouse / 'x.csv'}'"])
    assert refused.exit_code == 1 and "--output FILE (.csv, .parquet or .xlsx)" in refused.output
    assert not (small_warehouse / "x.csv").exists()


def test_version_is_the_installed_package_version():
    from importlib.metadata import version

    from click.testing import CliRunner

    from tradewh.cli import main

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"tradewh {version('tradewh')}"


def test_the_progress_display_follows_the_steps_and_the_files_parsed():
    """assets/console.py's ProgressHandler fed with a run's log records (as Dagster logs them), drawn
    on a terminal of its own."""
    import io
    import logging

    from rich.console import Console

    from tradewh.assets.console import ProgressHandler, files_parsed

    screen = io.StringIO()
    handler = ProgressHandler(Console(file=screen, force_terminal=True, width=100))
    handler.progress.auto_refresh = False

    def log(step, kind=None, message=""):
        event = None if kind is None else type("Event", (), {"event_type_value": kind})()
        record = logging.LogRecord("dagster", logging.DEBUG, __file__, 0, message, None, None)
        record.dagster_meta = {"dagster_event": event, "step_key": step, "orig_message": message}
        handler.emit(record)
        handler.progress.refresh()

    log("ingest__source_files", "STEP_START")
    log("ingest__source_files", message=files_parsed("imf_dots", 40, 236))
    shown = screen.getvalue()
    assert "step ingest__source_files" in shown and "parsing imf_dots files" in shown and "40/236" in shown
    log("ingest__source_files", "STEP_SUCCESS")
    assert handler.tasks == {}  # the step and its files are gone from the display
    log("marts", "STEP_START")
    assert "step marts" in screen.getvalue()
    log(None, "PIPELINE_SUCCESS")
    assert not handler.progress.live.is_started


def test_no_progress_display_when_stderr_is_not_a_terminal():
    import dagster as dg

    from tradewh.assets.console import ProgressHandler, console

    logger = console.logger_fn(
        dg.build_init_logger_context(logger_config={"log_level": "INFO", "errors": True, "progress": True})
    )
    assert not any(isinstance(h, ProgressHandler) for h in logger.handlers)  # pytest's stderr is no terminal


def test_shell_completion_completes_commands_and_options():
    # the commands of docs/operations.md#shell-completion, as bash would call them
    import subprocess
    import sys
    from pathlib import Path

    tradewh = str(Path(sys.executable).parent / "tradewh")

    def complete(words: str) -> list[str]:
        env = {
            **os.environ,
            "_TRADEWH_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - 1),
        }
        proc = subprocess.run([tradewh], env=env, capture_output=True, text=True, timeout=60)
        return [line.split(",", 1)[1] for line in proc.stdout.splitlines()]

    assert complete("tradewh gr") == ["growth"]
    assert "--as-of" in complete("tradewh growth --as")
    script = subprocess.run(
        [tradewh], env={**os.environ, "_TRADEWH_COMPLETE": "bash_source"}, capture_output=True, text=True, timeout=60
    )
    assert "complete -o nosort -F _tradewh_completion tradewh" in script.stdout
