"""The package as users install it: one namespace (tradewh), data and state folders from the
environment or the working directory, never from where the package is installed."""

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
import yaml

from conftest import AFGHANISTAN, DOTS, find_cell, number

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("assets", "sources", "warehouse", "expectations")  # the design card's folders, installed under tradewh
OLD_NAMES = (*FOLDERS, "definitions")


def test_the_folders_import_only_under_the_tradewh_namespace():
    # The tests run without the repository root on sys.path (make test runs .venv/bin/pytest, and
    # tests/ is no package), so a folder name that still resolved would be a module installed as such.
    assert str(ROOT) not in [str(Path(p).resolve()) for p in sys.path if p]
    assert {name: importlib.util.find_spec(name) for name in OLD_NAMES} == dict.fromkeys(OLD_NAMES)
    for folder in FOLDERS:
        package = importlib.import_module(f"tradewh.{folder}")
        assert Path(package.__file__).parent == ROOT / folder


def test_workspace_and_dg_load_the_code_location_the_cli_runs_in():
    from tradewh.assets import launch

    (entry,) = yaml.safe_load((ROOT / "workspace.yaml").read_text())["load_from"]
    assert entry["python_module"] == {"module_name": launch.MODULE, "location_name": launch.CODE_LOCATION}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["tool"]["dg"]["project"]["code_location_target_module"] == launch.MODULE
    assert project["project"]["name"] == launch.CODE_LOCATION  # dg names the location after the project


def test_data_and_state_folders_follow_the_working_directory(tmp_path, monkeypatch):
    from tradewh.sources.registry import BY_NAME, SOURCES
    from tradewh.warehouse import config

    for s in SOURCES:
        monkeypatch.delenv(s.input_env, raising=False)
    monkeypatch.delenv("TRADEWH_HOME", raising=False)
    monkeypatch.delenv("TRADEWH_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "singstat").mkdir(parents=True)
    assert config.home() == tmp_path / "var" and config.db_path() == tmp_path / "var" / "tradewh.duckdb"
    found, absent = config.input_dirs(SOURCES)
    assert found == {BY_NAME["singstat"]: tmp_path / "data" / "singstat"}
    assert [s.name for s in absent] == ["imf_dots", "imf_imts", "comtrade"]
    assert "TRADEWH_IMF_DOTS_DIR" in config.how_to_add(absent) and str(
        tmp_path / "data" / "imf_dots"
    ) in config.how_to_add(absent)
    monkeypatch.setenv("TRADEWH_IMF_IMTS_DIR", str(tmp_path / "typo"))
    with pytest.raises(FileNotFoundError, match="TRADEWH_IMF_IMTS_DIR=.*typo.*does not exist"):
        config.input_dirs(SOURCES)


def test_a_pip_installed_tradewh_builds_in_an_empty_folder_and_writes_nothing_into_site_packages(tmp_path):
    # A regular (non-editable) install of the wheel into a new virtualenv; its dependencies come from
    # the project's .venv (a path in a .pth file: that folder's own .pth files, among them the editable
    # install's finder, are not run), so the test needs no network.
    tree = tmp_path / "tree"  # a copy, so building the wheel leaves no build/ folder in the repository
    tree.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, tree / name)
    for folder in ("tradewh", *FOLDERS):
        shutil.copytree(ROOT / folder, tree / folder, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", wheels, tree],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("tradewh-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-index", wheel],
        check=True,
        capture_output=True,
        timeout=300,
    )
    installed = {p.name for p in site.iterdir()}
    # no generic top-level module (assets, sources, warehouse, ...) beside tradewh
    assert {n for n in installed if not n.endswith((".dist-info", ".pth")) and n != "__pycache__"} == {"tradewh"}, (
        installed
    )
    before = sorted(str(p.relative_to(site)) for p in site.rglob("*") if "__pycache__" not in p.parts)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADEWH_", "DAGSTER_"))}
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = subprocess.run(
        [venv / "bin" / "tradewh", "build"], cwd=empty, env=env, capture_output=True, text=True, timeout=300
    )
    assert nothing.returncode == 1
    assert "TRADEWH_IMF_DOTS_DIR" in nothing.stderr and str(empty / "data" / "imf_dots") in nothing.stderr, (
        nothing.stderr
    )

    dots = tmp_path / "dots"
    dots.mkdir()
    shutil.copy(DOTS / AFGHANISTAN, dots / AFGHANISTAN)
    shutil.copy(DOTS / "RELEASES.csv", dots / "RELEASES.csv")
    built = subprocess.run(
        [venv / "bin" / "tradewh", "build"],
        cwd=empty,
        env={**env, "TRADEWH_IMF_DOTS_DIR": str(dots)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert "building from imf_dots" in built.stdout and "TRADEWH_COMTRADE_DIR" in built.stdout
    assert (empty / "var" / "tradewh.duckdb").is_file()
    after = sorted(str(p.relative_to(site)) for p in site.rglob("*") if "__pycache__" not in p.parts)
    assert after == before  # nothing written into site-packages

    cell, value = find_cell(DOTS / AFGHANISTAN, "Exports, FOB", "World", 2020)  # US$ millions
    query = (
        "SELECT value_usd FROM canonical.observations_latest WHERE reporter_iso3 = 'AFG' AND partner_iso3 = 'W00' "
        f"AND flow = 'X' AND period = '2020' AND source_cell = '{cell}'"
    )
    answer = subprocess.run(
        [venv / "bin" / "tradewh", "sql", query, "--format", "csv"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert answer.returncode == 0, answer.stderr
    assert float(answer.stdout.splitlines()[1]) == pytest.approx(number(value) * 1e6, abs=0.005)

    old = subprocess.run([python, "-c", "import assets"], cwd=empty, env=env, capture_output=True, text=True)
    assert "No module named 'assets'" in old.stderr
