"""The name crosswalk: reproducible from its overrides, corrections as data, no silent merges."""

import polars as pl
import pytest

from tradewh.sources.imf_dots import crosswalk_build
from tradewh.warehouse.crosswalk import CROSSWALK_FILES, load_crosswalk


def test_committed_seed_is_what_the_builder_makes():
    seed = load_crosswalk()
    rebuilt = crosswalk_build.build(seed["source_name"].to_list())
    assert rebuilt.to_dicts() == pl.read_csv(CROSSWALK_FILES["imf_dots"], infer_schema=False).to_dicts()


def test_committed_area_codes_are_what_the_builder_makes():
    from tradewh.sources.imf_dots.answer import AREA_CODES, area_names

    rebuilt = crosswalk_build.area_codes(pl.read_csv(CROSSWALK_FILES["imf_dots"], infer_schema=False))
    assert rebuilt.to_dicts() == pl.read_csv(AREA_CODES, infer_schema=False).to_dicts()
    names = area_names()
    # the legacy service's codes in the recorded answer's query (A.US.TXG_FOB_USD.W00+B0), and a few more
    assert {c: names[c] for c in ("US", "W00", "B0", "RU", "ID")} == {
        "US": "United States",
        "W00": "World",
        "B0": "European Union",
        "RU": "Russian Federation",
        "ID": "Indonesia",
    }


def test_an_area_code_override_for_a_name_the_crosswalk_lacks_is_refused(tmp_path):
    overrides = tmp_path / "area_codes_overrides.csv"
    overrides.write_text("code,imf_name,note\nZ9,Atlantis,\n")
    with pytest.raises(ValueError, match="Atlantis"):
        crosswalk_build.area_codes(pl.read_csv(CROSSWALK_FILES["imf_dots"], infer_schema=False), overrides)


@pytest.mark.parametrize(
    "name, code, entity_type",
    [
        ("Russian Federation", "RUS", "country"),
        ("Lao People's Dem. Rep.", "LAO", "country"),
        ("China, P.R.: Hong Kong", "HKG", "country"),
        ("Vietnam", "VNM", "country"),
        ("Taiwan Province of China", "TWN", "country"),
        ("World", "W00", "world"),
        ("Euro Area", "XEA", "group"),
        ("Special Categories", "XSP", "not_specified"),
        # country_converter gets these wrong; data rows in the overrides file correct them:
        ("Czechoslovakia", "CSK", "historical"),  # coco: CZE
        ("South African Common Customs Area (SACCA)", "XSC", "group"),  # coco: ZAF
        ("Yemen Arab Rep.", "XYA", "historical"),  # coco: YEM
        ("Curaçao, Kingdom of the Netherlands", "CUW", "country"),  # coco: [CUW, NLD]
        ("USSR", "SUN", "historical"),
        ("Eastern Germany", "DDR", "historical"),
    ],
)
def test_known_names(name, code, entity_type):
    row = load_crosswalk().filter(pl.col("source_name") == name).row(0, named=True)
    assert (row["code"], row["entity_type"]) == (code, entity_type)


def test_codes_are_unique_and_historical_entities_have_end_dates():
    cw = load_crosswalk()
    assert cw["code"].is_unique().all()
    hist = cw.filter(pl.col("entity_type") == "historical")
    assert hist["valid_to"].null_count() == 0 and hist.height >= 10


def test_builder_refuses_unknown_names_and_code_clashes(tmp_path):
    with pytest.raises(ValueError, match="'Atlantis'"):
        crosswalk_build.build(["Atlantis", "France"])
    overrides = tmp_path / "overrides.csv"
    overrides.write_text(
        "source_name,code,entity_type,valid_from,valid_to,label,note\nFrance (metropolitan),FRA,country,,,France,\n"
    )
    with pytest.raises(ValueError, match="codes claimed by more than one name.*FRA"):
        crosswalk_build.build(["France", "France (metropolitan)"], overrides)


def test_builder_rejects_bad_entity_type(tmp_path):
    overrides = tmp_path / "overrides.csv"
    overrides.write_text("source_name,code,entity_type,valid_from,valid_to,label,note\nMars,XMA,planet,,,Mars,\n")
    with pytest.raises(ValueError, match="unknown entity_type"):
        crosswalk_build.build(["Mars"], overrides)
