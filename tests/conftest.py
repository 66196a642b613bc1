"""Shared fixtures: the bundled real workbooks, a temp warehouse home, and a way to make realistic
bad workbooks by editing a copy of a real one with openpyxl (an independent Excel library)."""

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from tradewh.sources.imf_dots import workbook as imf_dots
from tradewh.warehouse.store import Store

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
DOTS = DATA / "imf_dots"

# Reporter files used below (the reporter's name is in B4 of each; checked in test_imf_dots.py).
AFGHANISTAN = "DOTS_1.xlsx"
BULGARIA = "DOTS_30.xlsx"
INDONESIA = "DOTS_94.xlsx"
NICARAGUA_A, NICARAGUA_B = "DOTS_143.xlsx", "DOTS_144.xlsx"  # the same download twice
WORLD = "DOTS_221.xlsx"
MALAYSIA = "DOTS_120.xlsx"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "home", tmp_path / "home" / "tradewh.duckdb")


BUNDLED_RELEASE = "2022-02-20"  # the bundled workbooks' release (data/imf_dots/RELEASES.csv)


@pytest.fixture
def inbox(tmp_path: Path) -> Callable[..., Path]:
    """inbox(*files, releases=None) -> a folder with copies of bundled workbooks, and a RELEASES.csv
    that declares every workbook in it (write_releases: {name: vintage} in `releases`, else the
    bundled release). A workbook put there later needs write_releases(folder) again."""

    def make(*files: str, releases: dict[str, str] | None = None, name: str = "inbox") -> Path:
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        for f in files:
            shutil.copy(DOTS / f, folder / f)
        write_releases(folder, releases)
        return folder

    return make


def write_releases(folder: Path, releases: dict[str, str] | None = None) -> None:
    """(Re)write the folder's RELEASES.csv with a row for every .xlsx file in it: its vintage from
    `releases` ({file name: ISO date}), else the release already declared for its name, else the bundled
    release (a workbook states no release of its own: the build refuses one without a row)."""
    existing = folder / imf_dots.RELEASES_FILE
    declared = {r["source_file"]: r["vintage"] for r in csv.DictReader(existing.open())} if existing.exists() else {}
    lines = ["source_file,file_sha256,generated_at,vintage"]
    for path in sorted(folder.glob("*.xlsx")) + sorted(folder.glob("*.XLSX")):
        vintage = (releases or {}).get(path.name) or declared.get(path.name) or BUNDLED_RELEASE
        lines.append(f"{path.name},{imf_dots.file_sha256(path)},,{vintage}")
    (folder / imf_dots.RELEASES_FILE).write_text("\n".join(lines) + "\n")


def edit_workbook(src: Path, dst: Path, edit: Callable[[openpyxl.Workbook], None]) -> Path:
    """Copy a real workbook with an edit applied (openpyxl keeps values and text cells as they are).
    In a folder with a RELEASES.csv (an inbox), the copy is declared too (write_releases: the
    release its name had, else the bundled one)."""
    wb = openpyxl.load_workbook(src)
    edit(wb)
    wb.save(dst)
    if (dst.parent / imf_dots.RELEASES_FILE).exists():
        write_releases(dst.parent)
    return dst


def find_cell(path: Path, sheet: str, partner: str, year: int) -> tuple[str, object]:
    """Independent lookup with openpyxl: (cell reference, value) for a partner row and year column.
    Takes the first row with that partner name in column B, as a reader of the sheet would."""
    wb = openpyxl.load_workbook(path, read_only=True)
    ws = wb[sheet]
    rows = list(ws.iter_rows(values_only=False))
    header = {c.value: c.column_letter for c in rows[6] if c.value is not None}
    col = header[str(year)]
    for row in rows[7:]:
        cells = {c.column_letter: c for c in row if hasattr(c, "column_letter")}
        if "B" in cells and cells["B"].value == partner:
            return f"{col}{cells['B'].row}", cells[col].value if col in cells else None
    raise KeyError((path.name, sheet, partner, year))


def number(v) -> float:
    """A workbook value as openpyxl gives it -> float (the IMF's text estimates "1,035.65 e" too).
    The tests' own minimal parse, independent of sources.imf_dots."""
    return float(v.removesuffix(" e").replace(",", "")) if isinstance(v, str) else float(v)


def run_build(store: Store, folder: Path, instance=None, **input_dirs: Path):
    """Materialise every asset (the main job's selection) in process on the DOTS workbooks in `folder`
    (and other sources' folders given by name), into `store`, over the releases that need ingesting,
    as `tradewh build` does."""
    import dagster as dg

    from tradewh.assets.partitions import run_tags
    from tradewh.definitions import ALL_ASSETS

    resource = warehouse_resource(store, imf_dots=folder, **input_dirs)
    instance = instance or dg.DagsterInstance.ephemeral()
    tags = run_tags(instance, resource.folders(), store)
    return dg.materialize(
        ALL_ASSETS, resources={"warehouse": resource}, instance=instance, tags=tags, raise_on_error=False
    )


def warehouse_resource(store: Store, **input_dirs: Path):
    """The warehouse resource of `store` with the given input folders by source name."""
    from tradewh.assets.resources import WarehouseResource

    return WarehouseResource(
        home=str(store.home), db_path=str(store.db_path), input_dirs={k: str(v) for k, v in input_dirs.items()}
    )


def content_hashes(
    db_path: Path, schemas: tuple[str, ...] = ("ref", "canonical", "marts")
) -> dict[str, tuple[int, str]]:
    """{schema.table: (rows, digest)} for every table and view of `schemas` in a warehouse file: the
    digest of its rows' text, in sorted order, so row order does not count but every bit of every
    value does (a DOUBLE prints as its shortest exact decimal)."""
    import duckdb

    with duckdb.connect(str(db_path), read_only=True) as con:
        names = [
            f"{s}.{t}"
            for s, t in con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal UNION ALL "
                "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1, 2"
            ).fetchall()
            if s in schemas
        ]
        return {
            n: con.execute(
                f"SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h), '')) FROM (SELECT md5(CAST(t AS VARCHAR)) AS h FROM {n} t)"
            ).fetchone()
            for n in names
        }
