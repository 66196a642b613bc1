"""The code location loads, and every asset says what it is (description, column schema, group)."""

from pathlib import Path

import dagster as dg

from tradewh.definitions import defs
from tradewh.sources.comtrade.reader import RAW_TABLE as RAW_COMTRADE_RECORDS
from tradewh.sources.imf_dots.workbook import RAW_TABLE as RAW_IMF_DOTS_CELLS
from tradewh.sources.imf_imts.reader import RAW_TABLE as RAW_IMF_IMTS_VALUES
from tradewh.sources.singstat.reader import RAW_TABLE as RAW_SINGSTAT_CELLS
from tradewh.warehouse.schema import CANONICAL_OBSERVATIONS, MART_TABLES, PRODUCT_OBSERVATIONS

EXPECTED = {
    "ingest/source_files": ("ingest", None),
    "raw/imf_dots_cells": ("raw", RAW_IMF_DOTS_CELLS),
    "raw/imf_imts_values": ("raw", RAW_IMF_IMTS_VALUES),
    "raw/comtrade_records": ("raw", RAW_COMTRADE_RECORDS),
    "raw/singstat_cells": ("raw", RAW_SINGSTAT_CELLS),
    "canonical/observations": ("canonical", CANONICAL_OBSERVATIONS),
    **{f"marts/{t.name}": ("marts", t) for t in MART_TABLES},
    "publish/warehouse": ("publish", None),
    "publish/featured_chart": ("publish", None),
    "products/baci": ("products", PRODUCT_OBSERVATIONS),
}


def test_asset_keys_groups_descriptions_and_schemas():
    graph = defs.resolve_asset_graph()
    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    assert set(specs) == set(EXPECTED)
    for key, (group, table) in EXPECTED.items():
        spec = specs[key]
        assert spec.group_name == group
        assert spec.description and "Grain" in spec.description and "Source" in spec.description
        if table is not None:
            schema = spec.metadata["dagster/column_schema"]
            assert [c.name for c in schema.columns] == table.column_names
            assert all(c.description for c in schema.columns)
    assert graph.get(dg.AssetKey(["publish", "warehouse"])).parent_keys == {
        dg.AssetKey(["canonical", "observations"]),
        *(dg.AssetKey(["marts", t.name]) for t in MART_TABLES),
    }


def test_main_job_selects_every_asset_but_the_chart_drawn_after_it():
    job = defs.resolve_job_def("build_warehouse")
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == set(EXPECTED) - {
        "publish/featured_chart",
        "products/baci",  # its own job, load_baci (assets/products.py)
    }
    chart = next(s for s in defs.resolve_all_asset_specs() if s.key.to_user_string() == "publish/featured_chart")
    assert chart.automation_condition is not None  # drawn by Dagster's automation after each publish


def test_table_docs_are_current():
    from pathlib import Path

    from tradewh.warehouse.schema import markdown

    assert (Path(__file__).parent.parent / "docs" / "tables.md").read_text() == markdown()


def test_check_docs_are_current():
    from pathlib import Path

    from tradewh.expectations.checks import markdown

    assert (Path(__file__).parent.parent / "docs" / "checks.md").read_text() == markdown()


def test_every_check_is_declared_on_its_asset():
    from tradewh.expectations.checks import CHECKS

    graph = defs.resolve_asset_graph()
    declared = {
        (key.asset_key.to_user_string(), key.name, graph.get_check_spec(key).blocking) for key in graph.asset_check_keys
    }
    expected = {(c.asset, c.name, c.blocking) for c in CHECKS}
    assert declared == expected
    assert all(c.description for c in CHECKS)


def test_loading_the_code_location_does_not_import_great_expectations_or_pandas():
    import subprocess
    import sys

    # GX (2-3 s) and pandas (0.4 s) are only imported by the GX helper process (tradewh.expectations.worker)
    code = "import sys, tradewh.definitions, tradewh.cli; assert not {'great_expectations', 'pandas'} & set(sys.modules), 'imported'"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parent.parent
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_marts_page_lists_every_mart_column():
    from tradewh.warehouse.schema import MART_TABLES

    readme = (Path(__file__).parent.parent / "docs" / "marts.md").read_text()
    for table in MART_TABLES:
        line = next(ln for ln in readme.splitlines() if ln.startswith(f"- `{table.qualified}`: "))
        assert [c.strip(" `") for c in line.split(": ", 1)[1].split(",")] == table.column_names


def test_every_guarantee_names_tests_that_exist():
    import re

    root = Path(__file__).parent.parent
    text = (root / "docs" / "guarantees.md").read_text()
    refs = re.findall(r"`(tests/\w+\.py)::(\w+)`", text)
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| guarantee")]
    assert refs and all("tests/" in row for row in rows)  # every guarantee names its proof
    for path, name in refs:
        assert f"def {name}(" in (root / path).read_text(), f"{path}::{name}"


def test_dg_loads_the_same_code_location():
    """`dg list defs` and `dg check defs` work from the project root (pyproject.toml [tool.dg])."""
    import json
    import subprocess
    import sys

    root, dg_cli = Path(__file__).resolve().parent.parent, Path(sys.executable).parent / "dg"
    listed = subprocess.run([dg_cli, "list", "defs", "--json"], cwd=root, capture_output=True, text=True, timeout=180)
    assert listed.returncode == 0, listed.stderr[-2000:]
    found = json.loads(listed.stdout)
    assert {a["asset_key"] for a in found["assets"]} == set(EXPECTED)
    assert [j["name"] for j in found["jobs"]] == [
        j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__")
    ]
    checked = subprocess.run([dg_cli, "check", "defs"], cwd=root, capture_output=True, text=True, timeout=180)
    assert checked.returncode == 0 and "All definitions loaded successfully" in checked.stdout + checked.stderr, (
        checked.stderr[-2000:]
    )
