"""The bulk product source (BACI layout) and the product store: loads straight from the CSV, counts
that add up, stops on unmapped codes and duplicate keys, releases kept, views in the published
warehouse, the Dagster job over revision x year partitions.

Files come from the synthetic generator (sources/baci/synthetic.py); every number checked here is
computed from the CSV text with Python's csv module and Decimal, not with DuckDB."""

import csv
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tradewh.sources.baci.source import SOURCE as BACI
from tradewh.sources.baci.synthetic import declare, write_year
from tradewh.sources.contract import RELEASES_FILE, file_sha256
from tradewh.warehouse import bulk

from conftest import AFGHANISTAN, run_build

ROWS = 4000


def comtrade_codes() -> dict[int, str]:
    """Comtrade numeric code -> entity code, read from the crosswalk seed with the csv module."""
    path = Path(__file__).parent.parent / "sources" / "comtrade" / "crosswalk.csv"
    with open(path, newline="") as fh:
        return {int(r["source_name"]): r["code"] for r in csv.DictReader(fh) if r["source_name"].isdigit()}


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def rewrite(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["t", "i", "j", "k", "v", "q"])
        w.writeheader()
        w.writerows(rows)


def expected(rows: list[dict], year: int) -> dict:
    """What a load must report, by the documented rules, from the CSV text."""
    loaded, quarantined = [], {}
    for r in rows:
        k = r["k"].strip()
        if r["t"] != str(year):
            reason = "year_mismatch"
        elif len(k) not in (5, 6) or not k.isdigit():
            reason = "invalid_cmd_code"
        elif r["v"] in ("", "NA"):
            reason = "missing_value"
        elif Decimal(r["v"]) < 0:
            reason = "negative_value"
        else:
            loaded.append(r)
            continue
        quarantined[reason] = quarantined.get(reason, 0) + 1
    value = lambda rs: sum((Decimal(r["v"]) for r in rs if r["v"] not in ("", "NA")), Decimal(0))  # noqa: E731
    return {"rows_read": len(rows), "loaded": loaded, "quarantined": quarantined, "value_read": value(rows),
            "value_loaded": value(loaded)}  # fmt: skip


@pytest.fixture(scope="module")
def year_file(tmp_path_factory) -> Path:
    """A synthetic 2020 file (written once per module), copied by each test that edits it."""
    folder = tmp_path_factory.mktemp("baci_src")
    return write_year(folder, 2020, ROWS)


def folder_with(tmp_path: Path, year_file: Path, edit=None, vintage=date(2024, 1, 15), name=None) -> Path:
    folder = tmp_path / "baci"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or year_file.name)
    shutil.copyfile(year_file, path)
    if edit:
        rows = read_rows(path)
        edit(rows)
        rewrite(path, rows)
    declare(folder, [path], vintage)
    return folder


def test_a_file_loads_with_counts_that_add_up_and_the_views_give_its_values(tmp_path, year_file):
    def edit(rows):
        rows[3]["t"] = "2019"  # a row of another year
        rows[10]["k"] = "12AB56"  # not an HS6 code
        rows[20]["v"] = ""  # no value
        rows[30]["k"] = str(int(rows[30]["k"]))  # leading zero lost, as some BACI versions write k
        rows[30]["k"] = rows[30]["k"] if len(rows[30]["k"]) == 5 else "10121"

    folder = folder_with(tmp_path, year_file, edit)
    (f,), errors = BACI.input_files(folder)
    assert errors == [] and (f.classification, f.year, f.vintage) == ("H5", 2020, date(2024, 1, 15))
    rows = read_rows(f.path)
    want = expected(rows, 2020)
    report = bulk.load_file(BACI, f, tmp_path / "home")
    assert report.rows_read == want["rows_read"]
    assert report.rows_loaded == len(want["loaded"])
    assert (
        report.quarantined_by_reason
        == want["quarantined"]
        == {
            "year_mismatch": 1,
            "invalid_cmd_code": 1,
            "missing_value": 1,
        }
    )
    assert report.rows_read == report.rows_loaded + report.rows_quarantined
    assert Decimal(report.value_read) == want["value_read"]
    assert Decimal(report.value_loaded) == want["value_loaded"]
    assert Decimal(report.value_read) == Decimal(report.value_loaded) + Decimal(report.value_quarantined)

    db = tmp_path / "home" / "tradewh.duckdb"
    assert bulk.publish_views(tmp_path / "home", db, "run-1") is True
    assert bulk.publish_views(tmp_path / "home", db, "run-2") is False  # the views glob: nothing to publish
    codes = comtrade_codes()
    with duckdb.connect(str(db), read_only=True) as con:
        n, total = con.execute("SELECT count(*), sum(value_usd) FROM canonical.product_observations_latest").fetchone()
        assert n == len(want["loaded"])
        assert total == sum(Decimal(r["v"]) * 1000 for r in want["loaded"])
        # one row by its key: codes mapped through the Comtrade crosswalk, k padded to six digits
        r = want["loaded"][-1]
        got = con.execute(
            "SELECT reporter_iso3, partner_iso3, cmd_code, value_usd, quantity_t, source_file FROM "
            "canonical.product_observations WHERE exporter_code = ? AND importer_code = ? AND product_as_published = ?",
            [int(r["i"]), int(r["j"]), r["k"]],
        ).fetchall()
        assert got == [
            (
                codes[int(r["i"])],
                codes[int(r["j"])],
                r["k"].zfill(6),
                Decimal(r["v"]) * 1000,
                Decimal(r["q"]) if r["q"] else None,
                f.name,
            )
        ]
        padded = rows[30]
        assert con.execute(
            "SELECT cmd_code FROM canonical.product_observations WHERE exporter_code = ? AND importer_code = ? "
            "AND product_as_published = ?",
            [int(padded["i"]), int(padded["j"]), padded["k"]],
        ).fetchone() == (padded["k"].zfill(6),)
        reasons = con.execute("SELECT reason, count(*) FROM meta.product_quarantine GROUP BY 1 ORDER BY 1").fetchall()
        assert dict(reasons) == want["quarantined"]
        files = con.execute(
            "SELECT rows_read, rows_loaded, rows_quarantined, file_sha256 FROM meta.product_files"
        ).fetchall()
        assert files == [(want["rows_read"], n, 3, file_sha256(f.path))]


def test_the_same_file_version_is_not_loaded_twice(tmp_path, year_file):
    folder = folder_with(tmp_path, year_file)
    (f,), _ = BACI.input_files(folder)
    first = bulk.load_file(BACI, f, tmp_path / "home")
    part = bulk.partition_dir(tmp_path / "home", BACI, f) / bulk.PART
    stamp = part.stat().st_mtime_ns
    again = bulk.load_file(BACI, f, tmp_path / "home")
    assert again.skipped and not first.skipped and part.stat().st_mtime_ns == stamp


def test_unmapped_codes_stop_the_file_and_nothing_is_written(tmp_path, year_file):
    def edit(rows):
        rows[5]["i"] = "999"
        rows[6]["j"] = "998"

    folder = folder_with(tmp_path, year_file, edit)
    (f,), _ = BACI.input_files(folder)
    with pytest.raises(bulk.BulkLoadError, match=r"998, 999") as err:
        bulk.load_file(BACI, f, tmp_path / "home")
    assert f.name in str(err.value)
    assert list((tmp_path / "home" / bulk.PRODUCTS_DIR).rglob("*.*")) == []


def test_a_key_twice_stops_the_file_naming_the_key(tmp_path, year_file):
    def edit(rows):
        rows.append(dict(rows[7]))

    folder = folder_with(tmp_path, year_file, edit)
    (f,), _ = BACI.input_files(folder)
    r = read_rows(f.path)[7]
    with pytest.raises(bulk.BulkLoadError, match=rf"i={r['i']} j={r['j']} k={r['k']} \(2 rows\)"):
        bulk.load_file(BACI, f, tmp_path / "home")
    assert list((tmp_path / "home" / bulk.PRODUCTS_DIR).rglob("*.*")) == []


def test_a_file_out_of_key_order_loads_and_a_key_twice_next_to_itself_stops_it(tmp_path, year_file):
    def shuffle(rows):
        rows.reverse()  # no longer sorted by key: the duplicate check must not take order for granted

    folder = folder_with(tmp_path / "a", year_file, shuffle)
    (f,), _ = BACI.input_files(folder)
    assert bulk.load_file(BACI, f, tmp_path / "home_a").rows_read == len(read_rows(f.path))

    def twice(rows):
        rows.insert(11, dict(rows[10]))  # in key order, right after itself

    folder = folder_with(tmp_path / "b", year_file, twice)
    (f,), _ = BACI.input_files(folder)
    r = read_rows(f.path)[10]
    with pytest.raises(bulk.BulkLoadError, match=rf"i={r['i']} j={r['j']} k={r['k']} \(2 rows\)"):
        bulk.load_file(BACI, f, tmp_path / "home_b")


def test_a_malformed_line_stops_the_file_naming_the_line(tmp_path, year_file):
    folder = folder_with(tmp_path, year_file)
    path = folder / year_file.name
    lines = path.read_text().splitlines()
    lines[100] += ",7"  # one field too many on line 101
    path.write_text("\n".join(lines) + "\n")
    (folder / RELEASES_FILE).unlink()
    declare(folder, [path], date(2024, 1, 15))
    (f,), _ = BACI.input_files(folder)
    with pytest.raises(duckdb.Error, match=r"[Ll]ine:? 101"):
        bulk.load_file(BACI, f, tmp_path / "home")
    assert list((tmp_path / "home" / bulk.PRODUCTS_DIR).rglob("*.*")) == []


def test_releases_are_kept_and_the_latest_view_takes_the_newest(tmp_path, year_file):
    home = tmp_path / "home"
    old = folder_with(tmp_path / "a", year_file)
    (f_old,), _ = BACI.input_files(old)
    bulk.load_file(BACI, f_old, home)

    def edit(rows):
        rows[0]["v"] = str(Decimal(rows[0]["v"]) + 1)
        del rows[1]

    new = folder_with(tmp_path / "b", year_file, edit, vintage=date(2025, 1, 15))
    (f_new,), _ = BACI.input_files(new)
    bulk.load_file(BACI, f_new, home)
    bulk.publish_views(home, home / "tradewh.duckdb", "run")
    with duckdb.connect(str(home / "tradewh.duckdb"), read_only=True) as con:
        by_vintage = dict(
            con.execute("SELECT vintage, count(*) FROM canonical.product_observations GROUP BY 1").fetchall()
        )
        assert by_vintage == {
            date(2024, 1, 15): len(read_rows(f_old.path)),
            date(2025, 1, 15): len(read_rows(f_new.path)),
        }
        latest = con.execute("SELECT DISTINCT vintage FROM canonical.product_observations_latest").fetchall()
        assert latest == [(date(2025, 1, 15),)]
        new_total = con.execute("SELECT sum(value_usd) FROM canonical.product_observations_latest").fetchone()[0]
        assert new_total == sum(Decimal(r["v"]) * 1000 for r in read_rows(f_new.path))


def test_a_corrected_file_of_the_same_release_replaces_its_partition(tmp_path, year_file):
    home = tmp_path / "home"
    first = folder_with(tmp_path / "a", year_file)
    (f1,), _ = BACI.input_files(first)
    bulk.load_file(BACI, f1, home)

    def edit(rows):
        rows[0]["v"] = "1.000"

    fixed = folder_with(tmp_path / "b", year_file, edit)
    (f2,), _ = BACI.input_files(fixed)
    report = bulk.load_file(BACI, f2, home)
    assert not report.skipped and report.file_sha256 == f2.sha256
    parts = list((home / bulk.PRODUCTS_DIR).rglob(bulk.PART))
    assert len(parts) == 1
    assert duckdb.sql(f"SELECT v FROM read_parquet('{parts[0]}') LIMIT 1").fetchone()[0] == Decimal("1.000")


def test_a_file_must_state_its_revision_and_have_a_release(tmp_path, year_file):
    folder = tmp_path / "baci"
    folder.mkdir()
    shutil.copyfile(year_file, folder / "BACI_Y2020.csv")  # no revision in the name
    shutil.copyfile(year_file, folder / year_file.name)  # no RELEASES.csv row
    files, errors = BACI.input_files(folder)
    assert files == []
    assert sorted(Path(e.path).name for e in errors) == sorted(["BACI_Y2020.csv", year_file.name])
    assert any("HS revision" in str(e) for e in errors) and any("no release" in str(e) for e in errors)
    # a RELEASES.csv row that declares another revision than the name states
    with open(folder / RELEASES_FILE, "w") as fh:
        fh.write(
            f"source_file,file_sha256,vintage,classification\n{year_file.name},{file_sha256(year_file)},2024-01-15,H3\n"
        )
    _, errors = BACI.input_files(folder)
    assert any("declares H3" in str(e) and "HS17 (H5)" in str(e) for e in errors)


def test_the_main_build_publishes_the_product_views_too(tmp_path, year_file, store, inbox, monkeypatch):
    from click.testing import CliRunner

    from tradewh.cli import main

    folder = folder_with(tmp_path, year_file)
    (f,), _ = BACI.input_files(folder)
    bulk.load_file(BACI, f, store.home)
    monkeypatch.setenv("TRADEWH_HOME", str(store.home))
    monkeypatch.setenv("TRADEWH_DB", str(store.db_path))
    # published by the product load alone: the totals' commands say so in one line
    bulk.publish_views(store.home, store.db_path, "products-only")
    for args in (["summary"], ["growth", "--partner", "RUS", "--group", "ASEAN", "--from", "2019", "--to", "2020"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1 and "bulk product data only" in result.output, result.output
    assert run_build(store, inbox(AFGHANISTAN)).success
    n = len(read_rows(f.path))
    with duckdb.connect(str(store.db_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM canonical.product_observations").fetchone()[0] == n
        assert con.execute("SELECT count(*) FROM canonical.observations").fetchone()[0] > 0
    summary = CliRunner().invoke(main, ["summary"])
    assert summary.exit_code == 0, summary.output
    line = f"baci: 1 year files, 2020-2020, revisions H5: {n:,} rows read = {n:,} loaded + 0 quarantined -> OK"
    assert line in summary.output


def test_the_dagster_job_loads_the_partitions_asked_for(tmp_path, year_file):
    import dagster as dg

    from tradewh.assets.products import PRODUCT_ASSETS, ProductStoreResource, partition_key

    folder = tmp_path / "baci"
    for year in (2019, 2020, 2021):
        write_year(folder, year, 500)
    declare(folder, sorted(folder.glob("*.csv")), date(2024, 1, 15))
    home = tmp_path / "home"
    resource = ProductStoreResource(
        home=str(home), db_path=str(home / "tradewh.duckdb"), input_dirs={"baci": str(folder)}
    )
    tags = {
        "dagster/asset_partition_range_start": partition_key("H5", 2019),
        "dagster/asset_partition_range_end": partition_key("H5", 2020),
    }
    result = dg.materialize(
        PRODUCT_ASSETS, resources={"products": resource}, tags=tags, instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    years = sorted(p.parent.parent.name for p in (home / bulk.PRODUCTS_DIR).rglob(bulk.PART))
    assert years == ["year=2019", "year=2020"]  # 2021 is outside the range asked for
    with duckdb.connect(str(home / "tradewh.duckdb"), read_only=True) as con:
        got = dict(con.execute("SELECT year, count(*) FROM canonical.product_observations GROUP BY 1").fetchall())
    assert got == {y: len(read_rows(folder / f"BACI_HS17_Y{y}_VSYNTHETIC.csv")) for y in (2019, 2020)}


def test_tradewh_sql_reads_the_product_views_and_nothing_else(tmp_path, year_file):
    from tradewh.warehouse.queries import connect_read_only

    folder = folder_with(tmp_path, year_file)
    (f,), _ = BACI.input_files(folder)
    home = tmp_path / "home"
    bulk.load_file(BACI, f, home)
    bulk.publish_views(home, home / "tradewh.duckdb", "run")
    with connect_read_only(home / "tradewh.duckdb") as con:
        assert con.execute("SELECT count(*) FROM canonical.product_observations").fetchone()[0] == len(
            read_rows(f.path)
        )
        with pytest.raises(duckdb.Error, match="disabled|not allowed|Permission"):
            con.execute(f"SELECT count(*) FROM read_csv('{f.path}')").fetchone()


def test_product_growth_per_member_and_group_from_the_files(tmp_path):
    """tradewh product-growth's query against sums taken from the CSV text, with dated membership
    read from the seed: exports are the member's rows to Russia, imports Russia's rows to it."""
    from tradewh.warehouse.queries import QueryError, connect_read_only, product_group_growth

    folder, home = tmp_path / "baci", tmp_path / "home"
    years = (2019, 2020)
    paths = [write_year(folder, y, 30_000) for y in years]
    codes = comtrade_codes()
    number = {iso: n for n, iso in codes.items() if iso in ("RUS", "THA", "VNM", "IDN")}
    for year, path in zip(years, paths):  # make sure some chapter-27 trade with Russia exists both years
        rows = read_rows(path)
        keys = {(r["i"], r["j"], r["k"]) for r in rows}
        extra = [
            (number["THA"], number["RUS"], "270900", "1234.567"),
            (number["RUS"], number["VNM"], "271019", "8765.432"),
            (number["RUS"], number["IDN"], "270112", "55.5" if year == 2019 else "111.0"),
        ]
        for i, j, k, v in extra:
            if (str(i), str(j), k) not in keys:
                rows.append({"t": str(year), "i": str(i), "j": str(j), "k": k, "v": v, "q": ""})
        rewrite(path, rows)
    declare(folder, paths, date(2024, 1, 15))
    files, _ = BACI.input_files(folder)
    for f in files:
        bulk.load_file(BACI, f, home)
    bulk.publish_views(home, home / "tradewh.duckdb", "run")

    seed = Path(__file__).parent.parent / "warehouse" / "seeds" / "group_membership.csv"
    with open(seed, newline="") as fh:
        asean = [r for r in csv.DictReader(fh) if r["group_code"] == "ASEAN"]

    def members(year):
        end = date(year, 12, 31)
        return {
            r["member_iso3"]
            for r in asean
            if date.fromisoformat(r["joined_on"]) <= end
            and (not r["left_on"] or date.fromisoformat(r["left_on"]) > end)
        }

    want = {}
    for year, path in zip(years, paths):
        for r in read_rows(path):
            if not r["k"].zfill(6).startswith("27"):
                continue
            exporter, importer, value = codes[int(r["i"])], codes[int(r["j"])], Decimal(r["v"]) * 1000
            if importer == "RUS" and exporter in members(year):
                want.setdefault((exporter, year), [Decimal(0), Decimal(0)])[0] += value
            if exporter == "RUS" and importer in members(year):
                want.setdefault((importer, year), [Decimal(0), Decimal(0)])[1] += value
    with connect_read_only(home / "tradewh.duckdb") as con:
        got = product_group_growth(con, "H5", "ASEAN", "RUS", "27", 2019, 2020)
        with pytest.raises(QueryError, match="never|one of"):
            product_group_growth(con, "HS", "ASEAN", "RUS", "27", 2019, 2020)
    rows = {(r["member_iso3"], r["year"]): r for r in got.iter_rows(named=True)}
    for (member, year), (x, m) in want.items():
        assert (rows[(member, year)]["exports_usd"], rows[(member, year)]["imports_usd"]) == (x, m)
    for year in years:
        group = rows[("ASEAN", year)]
        assert group["trade_usd"] == sum((x + m for (mb, y), (x, m) in want.items() if y == year), Decimal(0))
        assert group["members"] == len(members(year))
    idn = [want.get(("IDN", y), [Decimal(0), Decimal(0)]) for y in years]
    expected_growth = round(100 * (float(sum(idn[1])) / float(sum(idn[0])) - 1), 2)
    assert rows[("IDN", 2020)]["growth_pct"] == pytest.approx(expected_growth, abs=0.01)
