"""The IMF IMTS CSV export source: reader, releases, crosswalk, canonical rows, and a build.

Golden values and counts come from the bundled CSV read with Python's csv module, independently of
the source's Polars reader; bad files are edited copies of the real one, written the way the portal
writes them (UTF-8 with a byte-order mark, every field quoted).
"""

import csv
import re
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from tradewh.sources.contract import RELEASES_FILE, FileLayoutError, file_sha256
from tradewh.sources.imf_imts import crosswalk_build, reader
from tradewh.sources.imf_imts.source import SOURCE, load_derivations
from tradewh.warehouse.canonical import candidates
from tradewh.warehouse.crosswalk import load_crosswalk, load_crosswalks, map_codes
from tradewh.warehouse.ingest import FileSetError

from conftest import AFGHANISTAN, run_build

ROOT = Path(__file__).resolve().parent.parent
IMTS = ROOT / "data" / "imf_imts"
CSV = IMTS / "imts_rus_annual_2016_2024.csv"
VINTAGE = date(2026, 5, 9)


def csv_rows(path: Path = CSV) -> list[list[str]]:
    """Every line of the export as fields (header first), by the csv module."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.reader(fh))


def published() -> dict[tuple[str, str, str], tuple[int, str, str]]:
    """{(counterpart code, indicator, year): (CSV line, year column, cell text)} for every non-empty
    year cell, read with the csv module (line_num: the header is line 1)."""
    out = {}
    with open(CSV, newline="", encoding="utf-8-sig") as fh:
        rows = csv.reader(fh)
        header = next(rows)
        years = [i for i, h in enumerate(header) if h.isdigit()]
        col = {h: header.index(h) for h in ("COUNTERPART_COUNTRY.ID", "INDICATOR.ID")}
        for row in rows:
            for i in years:
                if row[i] != "":
                    out[(row[col["COUNTERPART_COUNTRY.ID"]], row[col["INDICATOR.ID"]], header[i])] = (
                        rows.line_num,
                        header[i],
                        row[i],
                    )
    return out


def write_copy(rows: list[list[str]], path: Path) -> Path:
    """Write rows as the portal does: UTF-8 with a byte-order mark, every field quoted."""
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return path


def edited(tmp_path: Path, edit) -> Path:
    rows = csv_rows()
    edit(rows)
    return write_copy(rows, tmp_path / "imts_edited.csv")


def set_cell(rows: list[list[str]], counterpart: str, indicator: str, year: str, text: str) -> int:
    """Set one year cell of a copy's rows; returns its CSV line."""
    header = rows[0]
    for n, row in enumerate(rows[1:], start=2):
        if (
            row[header.index("COUNTERPART_COUNTRY.ID")] == counterpart
            and row[header.index("INDICATOR.ID")] == indicator
        ):
            row[header.index(year)] = text
            return n
    raise KeyError((counterpart, indicator))


@pytest.fixture(scope="module")
def raw() -> pl.DataFrame:
    return reader.read_export(CSV, VINTAGE)


@pytest.fixture(scope="module")
def canonical(raw) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = raw.with_row_index("raw_id").with_columns(pl.col("raw_id").cast(pl.Int64))
    return candidates(SOURCE, frame, load_crosswalks())


def canonical_of(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = reader.read_export(path, VINTAGE).with_row_index("raw_id").with_columns(pl.col("raw_id").cast(pl.Int64))
    return candidates(SOURCE, frame, load_crosswalks())


# --- golden values and counts --------------------------------------------------------------------


@pytest.mark.parametrize(
    "partner, indicator, year, flow, derivation",
    [
        ("IDN", "XG_FOB_USD", "2021", "X", None),  # Russia's exports to Indonesia
        ("IDN", "XG_FOB_USD", "2023", "X", "imf_figures_for_reporter"),
        ("IDN", "MG_CIF_USD", "2019", "M", None),  # Russia's imports from Indonesia
        ("CHN", "MG_CIF_USD", "2024", "M", "imf_figures_for_reporter"),
        ("G001", "XG_FOB_USD", "2016", "X", None),  # World
    ],
)
def test_golden_values_from_the_csv(canonical, partner, indicator, year, flow, derivation):
    line, column, text = published()[(partner, indicator, year)]
    observations, _ = canonical
    code = load_crosswalk("imf_imts").filter(pl.col("source_name") == partner)["code"].item()
    [row] = observations.filter(
        (pl.col("partner_iso3") == code) & (pl.col("flow") == flow) & (pl.col("period") == year)
    ).to_dicts()
    assert row["reporter_iso3"] == "RUS" and row["source"] == "imf_imts" and row["vintage"] == VINTAGE
    assert row["value_usd"] == pytest.approx(float(text) * 1e6, abs=0.01)
    assert row["original_value"] == float(text) and row["original_unit"] == "USD millions"
    assert row["valuation"] == {"X": "FOB", "M": "CIF"}[flow] and row["freq"] == "A" and row["month"] is None
    assert row["cmd_code"] == "TOTAL" and row["original_currency"] == "USD" and row["usd_per_unit"] == 1.0
    assert row["is_estimated"] is False and row["derivation"] == derivation
    assert row["source_file"] == CSV.name and row["source_sheet"] is None
    assert row["source_cell"] == f"line {line}, column {column}"


def test_values_are_the_published_millions_in_dollars_to_the_cent(canonical):
    # exact decimal arithmetic on the published text, independent of the float parse
    cells = published()
    observations, _ = canonical
    rows = observations.select("partner_iso3", "flow", "period", "value_usd", "source_cell")
    lineage = {
        (partner, f"line {line}, column {column}"): Decimal(text)
        for (partner, _, _), (line, column, text) in cells.items()
    }
    cw = dict(zip(*load_crosswalk("imf_imts").select("code", "source_name").to_dict(as_series=False).values()))
    for r in rows.iter_rows(named=True):
        expected = lineage[(cw[r["partner_iso3"]], r["source_cell"])] * 10**6
        assert Decimal(repr(r["value_usd"])) == expected.quantize(Decimal("0.01")), r


def test_every_non_empty_cell_is_one_raw_row_with_its_text(raw):
    cells = published()
    assert raw.height == len(cells) == 3704
    counts = raw.group_by("indicator").len()
    assert (
        dict(counts.iter_rows())
        == {ind: sum(1 for (_, i, _) in cells if i == ind) for ind in ("XG_FOB_USD", "MG_CIF_USD")}
        == {"XG_FOB_USD": 1832, "MG_CIF_USD": 1872}
    )
    got = {
        (r["counterpart_code"], r["indicator"], r["csv_column"]): (r["csv_line"], r["csv_column"], r["cell_text"])
        for r in raw.iter_rows(named=True)
    }
    assert got == cells
    assert raw["parse_error"].null_count() == raw.height
    assert (raw["value"] == raw["cell_text"].cast(pl.Float64)).all()
    assert raw.select(pl.col("source_file").unique())["source_file"].to_list() == [CSV.name]
    assert raw["file_sha256"].unique().to_list() == [file_sha256(CSV)]
    assert set(raw["reporter_code"]) == {"RUS"} and set(raw["scale"]) == {6}
    # rows in file order: CSV line, then year column
    assert raw.select("csv_line", "year").equals(raw.select("csv_line", "year").sort("csv_line", "year"))


def test_an_empty_cell_gives_no_row_and_a_zero_stays_zero(raw, tmp_path):
    header, *rows = csv_rows()
    empty = next(
        (n, header[i])
        for n, row in enumerate(rows, start=2)
        for i, h in enumerate(header)
        if h.isdigit() and row[i] == ""
    )
    assert raw.filter((pl.col("csv_line") == empty[0]) & (pl.col("csv_column") == empty[1])).height == 0

    def edit(rows):
        set_cell(rows, "TUV", "MG_CIF_USD", "2016", "0")  # empty in the file
        set_cell(rows, "TUV", "MG_CIF_USD", "2017", "")  # 0.001435 in the file

    frame = reader.read_export(edited(tmp_path, edit), VINTAGE)
    tuvalu = frame.filter(pl.col("counterpart_code") == "TUV")
    assert dict(zip(tuvalu["csv_column"], tuvalu["value"])).get("2016") == 0.0
    assert "2017" not in tuvalu["csv_column"].to_list()
    assert frame.height == raw.height


def test_the_raw_frame_has_the_declared_columns(raw):
    assert raw.schema == pl.Schema(reader.RAW_SCHEMA)
    assert reader.RAW_TABLE.column_names[0] == "raw_id" and reader.RAW_TABLE.kind == "view"
    assert all(c.description for c in reader.RAW_TABLE.columns)
    assert "Grain" in reader.RAW_TABLE.description and "Source" in reader.RAW_TABLE.description


# --- canonical rows --------------------------------------------------------------------------------


def test_derivation_is_set_for_russia_from_2022_and_null_before(canonical):
    observations, quarantine = canonical
    assert quarantine.height == 0
    assert observations.height == 3704
    assert observations.filter(pl.col("year") >= 2022)["derivation"].unique().to_list() == ["imf_figures_for_reporter"]
    assert (
        observations.filter(pl.col("year") < 2022)["derivation"].null_count()
        == observations.filter(pl.col("year") < 2022).height
    )
    assert load_derivations() == [("RUS", 2022, "imf_figures_for_reporter")]


def test_flows_values_and_flags(canonical, raw):
    observations, _ = canonical
    assert dict(observations.group_by("flow").len().iter_rows()) == {"X": 1832, "M": 1872}
    assert set(observations.select("flow", "valuation").unique().iter_rows()) == {("X", "FOB"), ("M", "CIF")}
    assert not observations["is_estimated"].any() and not observations["is_negative"].any()
    assert observations["value_usd"].sum() == pytest.approx(raw["value"].sum() * 1e6, rel=1e-12)


def test_unparseable_and_non_finite_values_are_quarantined_not_dropped(tmp_path):
    lines = {}

    def edit(rows):
        lines["text"] = set_cell(rows, "IDN", "XG_FOB_USD", "2021", "n/a")
        lines["huge"] = set_cell(rows, "IDN", "XG_FOB_USD", "2022", "1e400")

    path = edited(tmp_path, edit)
    raw = reader.read_export(path, VINTAGE)
    bad = raw.filter(pl.col("value").is_null() | ~pl.col("value").is_finite())
    assert bad.select("csv_line", "csv_column", "cell_text").rows() == [
        (lines["text"], "2021", "n/a"),
        (lines["huge"], "2022", "1e400"),
    ]
    assert bad["parse_error"].to_list() == ["value text 'n/a' is not a number", None]
    observations, quarantine = canonical_of(path)
    assert observations.height + quarantine.height == raw.height == 3704
    q = {r["reason"]: r for r in quarantine.iter_rows(named=True)}
    assert set(q) == {"unparseable_value", "non_finite_value"}
    assert q["unparseable_value"]["source_cell"] == f"line {lines['text']}, column 2021"
    assert q["unparseable_value"]["source_file"] == path.name and "'n/a'" in q["unparseable_value"]["detail"]
    assert "1e400" in q["non_finite_value"]["detail"]


# --- layout errors -------------------------------------------------------------------------------


def drop_column(name):
    def edit(rows):
        i = rows[0].index(name)
        for row in rows:
            del row[i]

    return edit


def rename_column(old, new):
    def edit(rows):
        rows[0][rows[0].index(old)] = new

    return edit


def set_field(counterpart, indicator, column, text):
    def edit(rows):
        i = rows[0].index(column)
        for row in rows:
            if row[7] == counterpart and row[5] == indicator:
                row[i] = text

    return edit


@pytest.mark.parametrize(
    "edit, expected",
    [
        (drop_column("INDICATOR.ID"), "missing column 'INDICATOR.ID'"),
        (drop_column("COUNTERPART_COUNTRY.ID"), "missing column 'COUNTERPART_COUNTRY.ID'"),
        (rename_column("2019", "2019 (p)"), "column '2019 (p)' neither a series column nor a year"),
        (rename_column("2019", "2018"), "column '2018' appears more than once"),
        (set_field("IDN", "XG_FOB_USD", "INDICATOR.ID", "TBG_USD"), "INDICATOR.ID 'TBG_USD' on line"),
        (set_field("IDN", "XG_FOB_USD", "SCALE.ID", "six"), "SCALE.ID 'six' on line"),
        (set_field("IDN", "XG_FOB_USD", "FREQUENCY.ID", "Q"), "FREQUENCY.ID 'Q' on line"),
        (set_field("IDN", "XG_FOB_USD", "COUNTERPART_COUNTRY.ID", ""), "COUNTERPART_COUNTRY.ID empty on line"),
        (set_field("IDN", "XG_FOB_USD", "COUNTRY.ID", ""), "COUNTRY.ID empty on line"),
        (set_field("IDN", "XG_FOB_USD", "COUNTERPART_COUNTRY.ID", "IND"), "SERIES_CODE 'RUS.XG_FOB_USD.IDN.A' on line"),
    ],
)
def test_layout_errors_name_the_file_and_every_problem(tmp_path, edit, expected):
    path = edited(tmp_path, edit)
    with pytest.raises(reader.ImtsLayoutError) as err:
        reader.read_export(path, VINTAGE)
    assert isinstance(err.value, FileLayoutError)
    assert str(err.value).startswith(f"{path.name}: not an IMF IMTS data-portal CSV export")
    assert expected in str(err.value)


def test_every_problem_is_listed_at_once(tmp_path):
    def edit(rows):
        set_field("IDN", "XG_FOB_USD", "INDICATOR.ID", "TBG_USD")(rows)
        set_field("CHN", "MG_CIF_USD", "SCALE.ID", "6.5")(rows)

    with pytest.raises(reader.ImtsLayoutError) as err:
        reader.read_export(edited(tmp_path, edit), VINTAGE)
    problems = err.value.problems
    assert [p.split(" on ")[0] for p in problems] == [
        "INDICATOR.ID 'TBG_USD'",
        "SCALE.ID '6.5'",
        "SERIES_CODE 'RUS.XG_FOB_USD.IDN.A'",  # the line's codes changed
    ]


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n\n"])
def test_an_empty_file_is_a_layout_error(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(reader.ImtsLayoutError, match=r"^empty\.csv: .*(the file is empty|empty file \(0 bytes\))"):
        reader.read_export(path, VINTAGE)


def test_a_short_line_and_a_field_spanning_lines_are_layout_errors(tmp_path):
    data = CSV.read_bytes()
    lines = data.split(b"\n")
    short = tmp_path / "short.csv"
    short.write_bytes(b"\n".join([*lines[:5], lines[5].rsplit(b",", 2)[0], *lines[6:]]))
    with pytest.raises(reader.ImtsLayoutError, match="fields missing or unquoted on line 6"):
        reader.read_export(short, VINTAGE)
    blank = tmp_path / "blank.csv"
    blank.write_bytes(b"\n".join([*lines[:5], b"", *lines[5:]]))
    with pytest.raises(reader.ImtsLayoutError, match="blank.csv: .*empty line 6"):
        reader.read_export(blank, VINTAGE)
    spanning = tmp_path / "spanning.csv"
    spanning.write_bytes(data.replace(b'"Tuvalu"', b'"Tuva\nlu"', 1))
    with pytest.raises(reader.ImtsLayoutError, match="spanning.csv"):
        reader.read_export(spanning, VINTAGE)


def test_not_utf8_is_a_layout_error(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(CSV.read_bytes().decode("utf-8-sig").encode("latin-1", errors="replace"))
    with pytest.raises(reader.ImtsLayoutError, match="latin1.csv: .*cannot be read as a UTF-8 CSV"):
        reader.read_export(path, VINTAGE)


def test_malformed_derivation_rules_are_refused(tmp_path):
    path = tmp_path / "derivations.csv"
    path.write_text("reporter,from_year,derivation,note\nRUS,twenty-two,imf_figures_for_reporter,\n")
    with pytest.raises(ValueError, match="derivations.csv line 2"):
        load_derivations(path)
    path.write_text("reporter,from_year,derivation,note\nRUS,2022,a,\nRUS,2023,b,\n")
    with pytest.raises(ValueError, match="line 3: reporter RUS has a rule already"):
        load_derivations(path)


# --- releases ------------------------------------------------------------------------------------


def test_the_bundled_file_is_a_retrieved_by_release():
    files, skipped, errors = SOURCE.input_files(IMTS)
    assert errors == [] and skipped == []
    [f] = files
    assert (f.name, f.vintage, f.release_kind) == (CSV.name, VINTAGE, "retrieved_by")
    assert f.sha256 == file_sha256(CSV) == "41a2498342694bc2b4053d02c6ac42a4ce07fb1a55646b708c77b2559e01cdcb"
    with open(IMTS / RELEASES_FILE, newline="") as fh:
        assert list(csv.DictReader(fh)) == [
            {"source_file": CSV.name, "file_sha256": f.sha256, "vintage": "2026-05-09", "release_kind": "retrieved_by"}
        ]


def test_a_file_without_a_release_row_is_refused_naming_it(tmp_path):
    shutil.copy(CSV, tmp_path / CSV.name)
    shutil.copy(IMTS / RELEASES_FILE, tmp_path / RELEASES_FILE)
    other = edited(tmp_path, lambda rows: set_cell(rows, "IDN", "XG_FOB_USD", "2021", "1"))
    files, _, errors = SOURCE.input_files(tmp_path)
    assert [f.name for f in files] == [CSV.name]  # RELEASES.csv itself is no input file
    [err] = errors
    assert err.path == str(other) and str(err).startswith(f"{other.name}: ") and "RELEASES.csv" in str(err)


# --- crosswalk -----------------------------------------------------------------------------------


def test_committed_crosswalk_is_what_the_builder_makes():
    rebuilt = crosswalk_build.build(crosswalk_build.export_codes(IMTS))
    assert rebuilt.to_dicts() == pl.read_csv(SOURCE.crosswalk_path, infer_schema=False).to_dicts()


def test_every_code_of_the_file_is_in_the_crosswalk(raw):
    header, *rows = csv_rows()
    codes = {r[header.index("COUNTRY.ID")] for r in rows} | {r[header.index("COUNTERPART_COUNTRY.ID")] for r in rows}
    cw = load_crosswalk("imf_imts")
    assert codes == set(cw["source_name"]) and len(codes) == 237
    assert cw["code"].is_unique().all()
    mapped = map_codes(raw, load_crosswalks(), SOURCE).collect()  # raises UnmappedNamesError if one is missing
    assert mapped["partner_iso3"].null_count() == mapped["reporter_iso3"].null_count() == 0


@pytest.mark.parametrize(
    "imf_code, code, entity_type",
    [
        ("RUS", "RUS", "country"),
        ("IDN", "IDN", "country"),
        ("TWN", "TWN", "country"),
        ("G001", "W00", "world"),
        ("G998", "XEU", "group"),
        ("G163", "XEA", "group"),
        ("G110", "XAE", "group"),
        ("G200", "XED", "group"),
        ("G205", "XWH", "group"),
        ("GX901", "XCS", "group"),
        ("GX605", "XAR", "group"),
        ("TX898", "XNS", "not_specified"),
        ("TX899", "XSP", "not_specified"),
        ("TX910", "XOC", "not_specified"),
        ("TX126", "XBL", "historical"),
        ("WBG", "PSE", "country"),
        ("YUG", "YUG", "historical"),
        ("SCG", "SCG", "historical"),
    ],
)
def test_known_codes(imf_code, code, entity_type):
    row = load_crosswalk("imf_imts").filter(pl.col("source_name") == imf_code).row(0, named=True)
    assert (row["code"], row["entity_type"]) == (code, entity_type)


def test_entity_types_of_the_partners():
    cw = load_crosswalk("imf_imts")
    for code, entity_type in cw.select("source_name", "entity_type").iter_rows():
        if code == "G001":
            expected = {"world"}
        elif re.fullmatch(r"GX?[0-9]{3}", code):
            expected = {"group"}
        elif code == "TX126":  # Belgium-Luxembourg
            expected = {"historical"}
        elif re.fullmatch(r"TX[0-9]{3}", code):
            expected = {"not_specified"}
        else:
            expected = {"country", "historical"}
        assert entity_type in expected, code
    assert set(cw.filter(pl.col("entity_type") == "historical")["source_name"]) == {"TX126", "YUG", "CSK", "SCG", "ANT"}


def test_codes_agree_with_the_dots_crosswalk():
    both = load_crosswalks()  # raises if a code's entity type, validity or label differs between crosswalks
    imts, dots = (both.filter(pl.col("source") == s) for s in ("imf_imts", "imf_dots"))
    shared = imts.join(dots, on="code", suffix="_dots")
    assert shared.height >= 230
    for a in ("entity_type", "valid_from", "valid_to", "label"):
        assert shared[a].equals(shared[f"{a}_dots"], check_names=False), a


def test_builder_refuses_unknown_codes_wrong_names_and_clashes(tmp_path):
    with pytest.raises(ValueError, match="ZZZ.*not a current ISO 3166-1 code"):
        crosswalk_build.build({"ZZZ": "Atlantis", "FRA": "France"})
    with pytest.raises(ValueError, match="override G001: expects the name 'World'"):
        crosswalk_build.build({"G001": "Mundo"})
    overrides = tmp_path / "overrides.csv"
    overrides.write_text(
        "source_name,imf_name,code,entity_type,valid_from,valid_to,label,note\nFRX,France (metropolitan),FRA,,,,,\n"
    )
    with pytest.raises(ValueError, match="codes claimed by more than one IMF code.*FRA"):
        crosswalk_build.build({"FRA": "France", "FRX": "France (metropolitan)"}, overrides)
    overrides.write_text(
        "source_name,imf_name,code,entity_type,valid_from,valid_to,label,note\nG001,World,W00,group,,,World,\n"
    )
    with pytest.raises(ValueError, match="differ from the DOTS crosswalk's W00"):
        crosswalk_build.build({"G001": "World"}, overrides)


# --- a build -------------------------------------------------------------------------------------


def imts_inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "imts"
    folder.mkdir()
    shutil.copy(CSV, folder / CSV.name)
    shutil.copy(IMTS / RELEASES_FILE, folder / RELEASES_FILE)
    return folder


def test_a_build_loads_the_export_with_its_lineage(store, inbox, tmp_path):
    result = run_build(store, inbox(AFGHANISTAN), imf_imts=imts_inbox(tmp_path))
    assert result.success
    line, column, text = published()[("IDN", "XG_FOB_USD", "2021")]
    with store.connect_published() as con:
        row = con.execute(
            "SELECT value_usd, CAST(vintage AS VARCHAR), source_cell, source_file, derivation, raw_id "
            "FROM canonical.observations WHERE source = 'imf_imts' AND reporter_iso3 = 'RUS' "
            "AND partner_iso3 = 'IDN' AND flow = 'X' AND period = '2021'"
        ).fetchone()
        counts = con.execute(
            "SELECT (SELECT count(*) FROM raw.imf_imts_values), "
            "(SELECT count(*) FROM canonical.observations WHERE source = 'imf_imts'), "
            "(SELECT count(*) FROM canonical.quarantine q JOIN raw.imf_imts_values USING (raw_id)), "
            "(SELECT count(*) FROM canonical.observations WHERE source = 'imf_imts' AND derivation IS NOT NULL)"
        ).fetchone()
        raw_row = con.execute(
            "SELECT csv_line, csv_column, cell_text FROM raw.imf_imts_values WHERE raw_id = ?", [row[5]]
        ).fetchone()
        release = con.execute(
            "SELECT CAST(vintage AS VARCHAR) FROM meta.source_files WHERE source = 'imf_imts'"
        ).fetchall()
    assert row[0] == pytest.approx(float(text) * 1e6, abs=0.01)
    assert row[1:5] == ("2026-05-09", f"line {line}, column 2021", CSV.name, None)
    assert raw_row == (line, column, text)
    assert counts == (3704, 3704, 0, sum(1 for k in published() if k[2] >= "2022"))
    assert release == [("2026-05-09",)]


def test_a_build_of_the_export_alone(store, inbox, tmp_path):
    assert run_build(store, inbox(), imf_imts=imts_inbox(tmp_path)).success


def test_an_export_without_its_release_row_is_reported_not_skipped(store, inbox, tmp_path):
    # Beside good DOTS workbooks, an IMTS export with no RELEASES.csv row has no release and so no
    # partition of its own: the build must still name it, not publish without it.
    folder = tmp_path / "imts_unlisted"
    folder.mkdir()
    shutil.copy(CSV, folder / CSV.name)
    with pytest.raises(FileSetError, match=CSV.name):
        run_build(store, inbox(AFGHANISTAN), imf_imts=folder)
    assert not store.db_path.exists()
    # next to a listed release of the same source, the run ingests that source and its ingest fails naming the file
    other = imts_inbox(tmp_path)
    (other / "second_export.csv").write_bytes(
        CSV.read_bytes().replace(b'"0.001435"', b'"0.001436"', 1)
    )  # another version
    result = run_build(store, inbox(AFGHANISTAN), imf_imts=other)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "second_export.csv" in str(failure.step_failure_data.error) and not store.db_path.exists()
