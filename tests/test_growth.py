"""The growth rules (warehouse.growth) on real values read from the workbooks with openpyxl:
coverage when a flow or a year is missing, constant vs yearly composition, contributions."""

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from tradewh.warehouse.growth import Context, Membership, composition, group_growth

from conftest import DOTS, INDONESIA, MALAYSIA, find_cell, number


def real_values(files: dict[str, str], partner_name: str, years: list[int]) -> pl.DataFrame:
    """member, year, flow, value_usd, is_estimated, vintage, source from the workbooks (reporter basis)."""
    rows = []
    for member, file in files.items():
        for flow, sheet in (("X", "Exports, FOB"), ("M", "Imports, CIF")):
            for y in years:
                _, v = find_cell(DOTS / file, sheet, partner_name, y)
                if v not in (None, ""):
                    rows.append((member, y, flow, number(v) * 1e6, isinstance(v, str), "2022-02-20", "imf_dots"))
    return pl.DataFrame(
        rows, schema=["member", "year", "flow", "value_usd", "is_estimated", "vintage", "source"], orient="row"
    )


@pytest.fixture(scope="module")
def values():
    import openpyxl

    assert openpyxl.load_workbook(DOTS / MALAYSIA, read_only=True)["Exports, FOB"]["B4"].value == "Malaysia"
    return real_values({"IDN": INDONESIA, "MYS": MALAYSIA}, "Russian Federation", [2018, 2019, 2020])


PAIR = Membership("PAIR", (("IDN", date(1967, 8, 8), None), ("MYS", date(1967, 8, 8), None)))


def row(frame, reporter, year):
    return frame.filter((pl.col("reporter") == reporter) & (pl.col("year") == year)).row(0, named=True)


def test_member_and_group_growth_and_contributions(values):
    out = group_growth(values, PAIR, "RUS", 2019, 2020, "reporter")
    v = {
        (m, y): values.filter((pl.col("member") == m) & (pl.col("year") == y))["value_usd"].sum()
        for m in ("IDN", "MYS")
        for y in (2018, 2019, 2020)
    }
    idn = row(out, "IDN", 2020)
    assert idn["value_usd"] == pytest.approx(v[("IDN", 2020)])
    assert idn["growth_pct"] == pytest.approx((v[("IDN", 2020)] / v[("IDN", 2019)] - 1) * 100)
    group_prev = v[("IDN", 2019)] + v[("MYS", 2019)]
    assert idn["contribution_pp"] == pytest.approx((v[("IDN", 2020)] - v[("IDN", 2019)]) / group_prev * 100)
    grp = row(out, "PAIR", 2020)
    assert grp["value_usd"] == pytest.approx(v[("IDN", 2020)] + v[("MYS", 2020)])
    assert grp["growth_pct"] == pytest.approx(((v[("IDN", 2020)] + v[("MYS", 2020)]) / group_prev - 1) * 100)
    assert grp["coverage"] == "2/2 members" and grp["contribution_pp"] is None
    # contributions add up to the group's growth
    assert row(out, "IDN", 2020)["contribution_pp"] + row(out, "MYS", 2020)["contribution_pp"] == pytest.approx(
        grp["growth_pct"]
    )
    # the first year's growth uses the year before it
    assert row(out, "PAIR", 2019)["growth_pct"] == pytest.approx(
        (group_prev / (v[("IDN", 2018)] + v[("MYS", 2018)]) - 1) * 100
    )
    assert set(out["months"]) == {"1-12"} and set(out["basis"]) == {"reporter"}


def test_a_member_with_one_flow_missing(values):
    # Malaysia's imports from Russia in 2019 missing: its total is exports only, its growth and the
    # group's growth for 2019->2020 and 2018->2019 are empty, with a note.
    gap = values.filter(~((pl.col("member") == "MYS") & (pl.col("year") == 2019) & (pl.col("flow") == "M")))
    out = group_growth(gap, PAIR, "RUS", 2019, 2020, "reporter")
    mys19 = row(out, "MYS", 2019)
    assert mys19["coverage"] == "X" and mys19["growth_pct"] is None and "flows differ" in mys19["note"]
    assert mys19["value_usd"] == pytest.approx(
        values.filter((pl.col("member") == "MYS") & (pl.col("year") == 2019) & (pl.col("flow") == "X"))[
            "value_usd"
        ].sum()
    )
    assert row(out, "MYS", 2020)["growth_pct"] is None
    grp = row(out, "PAIR", 2020)
    assert grp["growth_pct"] is None and "flows differ between 2019 and 2020: MYS X->X+M" in grp["note"]
    assert grp["coverage"] == "2/2 members"
    # Indonesia's own growth is still computed, but it has no contribution without a group growth
    idn = row(out, "IDN", 2020)
    assert idn["growth_pct"] is not None and idn["contribution_pp"] is None and "no contribution" in idn["note"]


def test_a_year_where_a_member_has_no_data(values):
    gap = values.filter(~((pl.col("member") == "IDN") & (pl.col("year") == 2019)))
    out = group_growth(gap, PAIR, "RUS", 2019, 2020, "reporter")
    assert row(out, "IDN", 2019)["value_usd"] is None and row(out, "IDN", 2019)["note"] == "no data for IDN in 2019"
    assert row(out, "IDN", 2020)["note"] == "no data for IDN in 2019"
    grp19 = row(out, "PAIR", 2019)
    assert grp19["coverage"] == "1/2 members"
    assert grp19["value_usd"] == pytest.approx(gap.filter(pl.col("year") == 2019)["value_usd"].sum())
    assert grp19["growth_pct"] is None and "members with data differ" in grp19["note"]


def test_estimated_share_counts_estimated_value(values):
    est = values.with_columns(is_estimated=(pl.col("member") == "MYS") & (pl.col("flow") == "M"))
    out = group_growth(est, PAIR, "RUS", 2020, 2020, "reporter")
    mys = values.filter((pl.col("member") == "MYS") & (pl.col("year") == 2020))
    share = mys.filter(pl.col("flow") == "M")["value_usd"].sum() / mys["value_usd"].sum()
    assert row(out, "MYS", 2020)["estimated_share"] == pytest.approx(share)


ASEAN_1990S = Membership(
    "ASEAN",
    (("IDN", date(1967, 8, 8), None), ("VNM", date(1995, 7, 28), None), ("LAO", date(1997, 7, 23), None)),
)


def test_composition_constant_and_yearly():
    years = [1995, 1996, 1997]
    assert composition(ASEAN_1990S, years, "constant", 1997) == {y: ["IDN", "LAO", "VNM"] for y in years}
    assert composition(ASEAN_1990S, [1994, 1995, 1997], "yearly", 1997) == {
        1994: ["IDN"],
        1995: ["IDN", "VNM"],
        1997: ["IDN", "LAO", "VNM"],
    }
    with pytest.raises(ValueError, match="composition"):
        composition(ASEAN_1990S, years, "sometimes", 1997)


def test_yearly_composition_leaves_growth_empty_when_membership_changes(values):
    joined = Membership("PAIR", (("IDN", date(1967, 8, 8), None), ("MYS", date(2020, 3, 1), None)))
    yearly = group_growth(values, joined, "RUS", 2020, 2020, "reporter", "yearly")
    grp = row(yearly, "PAIR", 2020)
    assert grp["growth_pct"] is None and "membership changed between 2019 and 2020 (joined MYS, left -)" in grp["note"]
    mys = row(yearly, "MYS", 2020)  # its own growth is its own; only its contribution needs the group
    assert mys["growth_pct"] is not None and mys["contribution_pp"] is None
    assert mys["note"].startswith("no contribution: membership changed")
    constant = group_growth(values, joined, "RUS", 2020, 2020, "reporter", "constant")
    assert row(constant, "PAIR", 2020)["growth_pct"] is not None  # MYS counted in both years


def test_impossible_range():
    with pytest.raises(ValueError, match="after"):
        group_growth(pl.DataFrame(), PAIR, "RUS", 2020, 2019, "reporter")


def test_a_member_from_zero_has_a_contribution_and_contributions_add_up(values):
    zero = values.with_columns(
        value_usd=pl.when((pl.col("member") == "MYS") & (pl.col("year") == 2019))
        .then(0.0)
        .otherwise(pl.col("value_usd"))
    )
    out = group_growth(zero, PAIR, "RUS", 2020, 2020, "reporter")
    mys = row(out, "MYS", 2020)
    assert mys["growth_pct"] is None and "not positive" in mys["note"] and mys["contribution_pp"] is not None
    assert mys["contribution_pp"] + row(out, "IDN", 2020)["contribution_pp"] == pytest.approx(
        row(out, "PAIR", 2020)["growth_pct"]
    )


def test_a_partner_that_is_a_member_is_left_out_of_the_group(values):
    with_partner = Membership("TRIO", PAIR.rows + (("RUS", date(2000, 1, 1), None),))
    out = group_growth(values, with_partner, "RUS", 2020, 2020, "reporter")
    assert set(out["reporter"]) == {"IDN", "MYS", "TRIO"}
    grp = row(out, "TRIO", 2020)
    assert grp["coverage"] == "2/2 members" and "partner RUS is a member" in grp["note"]
    assert grp["growth_pct"] is not None


def test_a_partner_that_left_is_noted_only_in_the_years_it_was_a_member(values):
    # As the UK and the EU: RUS left TRIO during 2020, so it is a year-end member of 2019 only.
    left = Membership("TRIO", PAIR.rows + (("RUS", date(2000, 1, 1), date(2020, 1, 31)),))
    out = group_growth(values, left, "RUS", 2020, 2020, "reporter", "yearly")
    assert "partner RUS is a member" not in (row(out, "TRIO", 2020)["note"] or "")
    assert row(out, "TRIO", 2020)["growth_pct"] is not None  # the other members, in both years
    out = group_growth(values, left, "RUS", 2019, 2019, "reporter", "yearly")
    assert "partner RUS is a member" in row(out, "TRIO", 2019)["note"]


# --- rules added with several sources: like-for-like, breaks in entities, small bases, missing years

BRUNEI, GERMANY, AUSTRIA = "DOTS_29.xlsx", "DOTS_77.xlsx", "DOTS_12.xlsx"


def test_like_for_like_counts_only_members_and_flows_present_in_both_years(values):
    gap = values.filter(~((pl.col("member") == "MYS") & (pl.col("year") == 2019) & (pl.col("flow") == "M")))
    out = group_growth(gap, PAIR, "RUS", 2020, 2020, "reporter", context=Context(rule="like-for-like"))

    def v(m, y, flows=("X", "M")):
        return values.filter((pl.col("member") == m) & (pl.col("year") == y) & pl.col("flow").is_in(flows))[
            "value_usd"
        ].sum()

    cur, prev = v("IDN", 2020) + v("MYS", 2020, ("X",)), v("IDN", 2019) + v("MYS", 2019, ("X",))
    grp = row(out, "PAIR", 2020)
    assert grp["growth_pct"] == pytest.approx((cur / prev - 1) * 100)
    assert grp["value_usd"] == pytest.approx(v("IDN", 2020) + v("MYS", 2020))  # the year's value stays whole
    assert grp["prev_value_usd"] == pytest.approx(prev)
    assert "left out: MYS M" in grp["note"]
    mys = row(out, "MYS", 2020)
    assert mys["growth_pct"] == pytest.approx((v("MYS", 2020, ("X",)) / v("MYS", 2019, ("X",)) - 1) * 100)
    assert "like-for-like over X" in mys["note"]
    assert mys["contribution_pp"] + row(out, "IDN", 2020)["contribution_pp"] == pytest.approx(grp["growth_pct"])
    # the strict rule leaves the same figure empty
    assert row(group_growth(gap, PAIR, "RUS", 2020, 2020, "reporter"), "PAIR", 2020)["growth_pct"] is None


def test_a_break_in_the_partner_is_flagged_with_its_note():
    # Serbia and Montenegro split in 2006: in 2005 Germany and Austria booked most of their trade with
    # Serbia under SCG, so their growth of trade with SRB in 2006 compares different territory.
    from tradewh.warehouse import db
    from tradewh.warehouse.growth import EntityBreak
    from tradewh.warehouse.schema import REF_ENTITY_BREAKS

    vals = real_values({"DEU": GERMANY, "AUT": AUSTRIA}, "Serbia, Rep. of", [2005, 2006, 2007])
    seed = db.load_seed(REF_ENTITY_BREAKS, "entity_breaks.csv")
    breaks = {}
    for r in seed.iter_rows(named=True):
        breaks.setdefault(r["code"], ())
        breaks[r["code"]] += (EntityBreak(r["code"], r["year"], r["note"]),)
    pair = Membership("PAIR", (("AUT", date(1995, 1, 1), None), ("DEU", date(1958, 1, 1), None)))
    out = group_growth(vals, pair, "SRB", 2006, 2007, "reporter", context=Context(breaks=breaks))
    grp06, grp07 = row(out, "PAIR", 2006), row(out, "PAIR", 2007)
    assert grp06["entity_break"] and "SCG" in grp06["note"] and row(out, "DEU", 2006)["entity_break"]
    assert not grp07["entity_break"] and not row(out, "DEU", 2007)["entity_break"]
    assert grp06["growth_pct"] is not None  # computed, and flagged


def test_a_base_under_one_million_is_noted():
    # Brunei's imports from Russia: US$ 0.6 m in 2019, US$ 208 m in 2020 (DOTS_29.xlsx)
    vals = real_values({"BRN": BRUNEI}, "Russian Federation", [2019, 2020])
    assert vals.filter((pl.col("year") == 2019))["value_usd"].sum() < 1e6
    solo = Membership("SOLO", (("BRN", date(1984, 1, 7), None),))
    out = group_growth(vals, solo, "RUS", 2020, 2020, "reporter")
    assert "base under US$ 1 million (US$ 0.6 m in 2019)" in row(out, "BRN", 2020)["note"]
    assert row(out, "BRN", 2020)["growth_pct"] > 1000


def test_years_without_figures_get_their_rows_and_a_note(values):
    out = group_growth(values, PAIR, "RUS", 2020, 2022, "reporter", context=Context(sources=("imf_dots",)))
    assert sorted(set(out["year"])) == [2020, 2021, 2022]
    assert (
        row(out, "PAIR", 2021)["value_usd"] is None
        and "no figures for 2021 in imf_dots" in row(out, "PAIR", 2021)["note"]
    )
    assert row(out, "PAIR", 2020)["growth_pct"] is not None


# --- monthly and year-to-date growth, on Singapore's own monthly figures for its trade with Russia

SINGSTAT = Path(__file__).resolve().parent.parent / "data" / "singstat" / "SGTrade_byCountry.xlsx"


def singstat_values(market: str, years: tuple[int, ...]) -> pl.DataFrame:
    """member SGP, year, month, flow (M = T1, X = T2 + T3), value (S$) read from the workbook with
    openpyxl: the tests' own reading, independent of sources/singstat."""
    import openpyxl

    wb = openpyxl.load_workbook(SINGSTAT, read_only=True)
    series = {}
    for sheet in ("T1", "T2", "T3"):
        rows = list(wb[sheet].iter_rows(values_only=True))
        header = rows[10]
        row = next(r for r in rows[11:] if isinstance(r[0], str) and r[0].strip() == market)
        series[sheet] = {str(h): v for h, v in zip(header[1:], row[1:]) if h}
    names = {
        m: i
        for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)
    }
    out = []
    for label, imports in series["T1"].items():
        year, mon = int(label[:4]), names[label[5:]]
        if year in years:
            exports = series["T2"][label] + series["T3"][label]
            for flow, v in (("M", imports), ("X", exports)):
                out.append(("SGP", year, mon, flow, v * 1e6, v * 1e6, False, "2025-02-17", "singstat", None))
    return pl.DataFrame(
        out,
        schema=[
            "member",
            "year",
            "month",
            "flow",
            "value",
            "value_usd",
            "is_estimated",
            "vintage",
            "source",
            "derivation",
        ],
        orient="row",
    )


SGP_ALONE = Membership("SGP alone", (("SGP", date(1, 1, 1), None),))


def test_year_to_date_compares_months_1_to_k_of_two_years():
    from tradewh.warehouse.growth import monthly_growth

    vals = singstat_values("Russia", (2023, 2024))
    out = monthly_growth(vals, SGP_ALONE, "RUS", 2024, 2024, "reporter", ytd_month=9)
    row = out.filter(pl.col("reporter") == "SGP").row(0, named=True)
    ytd = {y: vals.filter((pl.col("year") == y) & (pl.col("month") <= 9))["value"].sum() for y in (2023, 2024)}
    assert row["months"] == "1-9" and row["value"] == pytest.approx(ytd[2024])
    assert row["growth_pct"] == pytest.approx((ytd[2024] / ytd[2023] - 1) * 100)
    # a month missing in the year before: no year-to-date value for that flow, and the note says which month
    gap = vals.filter(~((pl.col("year") == 2023) & (pl.col("month") == 5) & (pl.col("flow") == "M")))
    row = (
        monthly_growth(gap, SGP_ALONE, "RUS", 2024, 2024, "reporter", ytd_month=9)
        .filter(pl.col("reporter") == "SGP")
        .row(0, named=True)
    )
    assert row["growth_pct"] is None and "SGP M 2023: months 5 missing" in row["note"]


def test_monthly_growth_compares_a_month_with_the_same_month_a_year_earlier():
    from tradewh.warehouse.growth import monthly_growth

    vals = singstat_values("Russia", (2023, 2024))
    out = monthly_growth(vals, SGP_ALONE, "RUS", 2024, 2024, "reporter").filter(pl.col("reporter") == "SGP")
    assert out["months"].to_list() == [str(m) for m in range(1, 13)]
    march = out.filter(pl.col("months") == "3").row(0, named=True)
    v = {y: vals.filter((pl.col("year") == y) & (pl.col("month") == 3))["value"].sum() for y in (2023, 2024)}
    assert march["growth_pct"] == pytest.approx((v[2024] / v[2023] - 1) * 100)


def test_growth_in_the_sources_own_currency_is_refused_across_currencies():
    from tradewh.warehouse.growth import single_currency

    sgd = singstat_values("Russia", (2024,)).with_columns(currency=pl.lit("SGD"))
    assert single_currency(sgd) == "SGD"
    # Indonesia's exports to Russia in 2020 from its DOTS workbook, in US dollars, beside them
    usd = pl.DataFrame(
        [
            (
                "IDN",
                2020,
                1,
                "X",
                number(find_cell(DOTS / INDONESIA, "Exports, FOB", "Russian Federation", 2020)[1]) * 1e6,
                0.0,
                False,
                "2022-02-20",
                "imf_dots",
                None,
                "USD",
            )
        ],
        schema=sgd.columns,
        orient="row",
    )
    with pytest.raises(ValueError, match="come in SGD, USD"):
        single_currency(pl.concat([sgd, usd.cast(sgd.schema)]))


def test_the_brics_partner_countries_are_a_dated_group_beside_the_members():
    # ../shared/DOMAIN.md: partner countries from 2025-01-01 Belarus, Bolivia, Cuba, Kazakhstan,
    # Malaysia, Thailand, Uganda, Uzbekistan; Nigeria 2025-01-17; Viet Nam 2025-06-13
    import duckdb

    from tradewh.warehouse.db import load_group_membership
    from tradewh.warehouse.queries import check_group

    with duckdb.connect() as con:
        con.execute("CREATE SCHEMA ref")
        con.register("seed", load_group_membership().to_arrow())
        con.execute("CREATE TABLE ref.group_membership AS SELECT * FROM seed")
        partners, name, _ = check_group(con, "brics_partners")
        members, _, _ = check_group(con, "BRICS")
    assert name == "BRICS partner countries"
    assert partners.at_year_end(2024) == []
    assert partners.at_year_end(2025) == ["BLR", "BOL", "CUB", "KAZ", "MYS", "NGA", "THA", "UGA", "UZB", "VNM"]
    assert dict((m, str(j)) for m, j, _ in partners.rows if m in ("NGA", "VNM")) == {
        "NGA": "2025-01-17",
        "VNM": "2025-06-13",
    }
    assert not set(partners.at_year_end(2025)) & set(members.at_year_end(2025))  # partners are not members
    assert "IDN" in members.at_year_end(2025) and "IDN" not in members.at_year_end(2024)
