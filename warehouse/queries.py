"""Questions users ask of the published warehouse, with their input checks. Read-only; every value
from the user is a bound parameter, never pasted into SQL. Used by the `tradewh` CLI."""

import difflib
import unicodedata
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from tradewh.warehouse import growth
from tradewh.warehouse.store import open_read_only

SQL_DIR = Path(__file__).parent / "sql"
BASES = ("reporter", "mirror")


class QueryError(ValueError):
    """A question the warehouse cannot answer as asked (unknown code, impossible range, no data)."""


def connect_read_only(path: Path, lake=None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse as it is now (warehouse.store.open_read_only:
    never an older version kept by another connection of this process) that cannot touch other
    files (no COPY TO, ATTACH, file readers) except the raw-store files its raw views read
    (meta.raw_files) and the bulk product store's folder (meta.product_store), and only for
    reading by `read_statement`'s rule: the settings are locked, so a query cannot switch them
    back. With `lake` (a warehouse.lake.Lake), the DuckLake is attached read-only first, as `lake`
    (its data folder readable too). Raises QueryError if there is no warehouse,
    WarehouseLockedError if another program holds it for writing, LakeError if the lake cannot be
    attached."""
    if not Path(path).exists():
        raise QueryError(f"no published warehouse at {path}: run `tradewh build` first")
    con = open_read_only(Path(path))
    has_list = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' AND table_name = 'raw_files'"
    ).fetchone()[0]
    # a warehouse built before the raw views has no list (and no raw view): no file is allowed
    raw_files = [p for (p,) in con.execute("SELECT path FROM meta.raw_files").fetchall()] if has_list else []
    con.execute("SET allowed_paths = ?", [raw_files])
    # the bulk product store's folder, which the product views read (warehouse.bulk), if any
    has_products = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' AND table_name = 'product_store'"
    ).fetchone()[0]
    folders = (
        [p + "/" for (p,) in con.execute("SELECT path FROM meta.product_store").fetchall()] if has_products else []
    )
    if lake is not None:
        from tradewh.warehouse import lake as lake_mod

        lake_mod.attach(con, lake, read_only=True)
        if "://" not in lake.data_path:
            folders.append(str(Path(lake.data_path).resolve()) + "/")
    if folders:
        con.execute("SET allowed_directories = ?", [folders])
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


READ_STATEMENTS = (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN)
READ_KINDS = "SELECT, WITH, FROM, DESCRIBE, SHOW, SUMMARIZE, PRAGMA, EXPLAIN"


def read_statement(con: duckdb.DuckDBPyConnection, text: str) -> str:
    """`text` if it is one statement that only reads: SELECT (with WITH, FROM-first, DESCRIBE,
    SHOW, SUMMARIZE, PRAGMA) or EXPLAIN. Raises QueryError otherwise: a COPY could write even into
    the raw-store files connect_read_only lets the raw views read."""
    statements = con.extract_statements(text)
    if len(statements) != 1:
        raise QueryError(f"expected one SQL statement, got {len(statements)}")
    kind = statements[0].type
    if kind not in READ_STATEMENTS:
        raise QueryError(
            f"refused: DuckDB classes this statement as {kind.name}; only statements that read are run here "
            f"({READ_KINDS}). To export a result, run its SELECT with --output FILE (.csv, .parquet or .xlsx)"
        )
    return text


def _did_you_mean(word: str, options: dict[str, str]) -> str:
    """' Did you mean X (label)?' from codes and their labels, or ''."""
    by_label = {label.upper(): code for code, label in options.items() if label}
    hits = difflib.get_close_matches(word.upper(), list(options) + list(by_label), n=3, cutoff=0.6)
    codes = list(dict.fromkeys(by_label.get(h, h) for h in hits))
    return (" Did you mean " + " or ".join(f"{c} ({options[c]})" for c in codes) + "?") if codes else ""


def _normal(text: str) -> str:
    """Text as compared with names: Unicode NFC (a combining accent = the precomposed letter),
    whitespace trimmed, case folded."""
    return unicodedata.normalize("NFC", text).strip().casefold()


def resolve_entity(con: duckdb.DuckDBPyConnection, text: str, role: str = "partner") -> tuple[str, str | None]:
    """(entity code, a notice when the text was read as something else) for what a user typed: a code
    of ref.entities (any case), an alias (ref.entity_aliases: old codes such as KSV, TMP, ZAR), a name
    as a source publishes it or as ref.entities labels it, or a name country_converter knows
    ("Russia", "Viet Nam", "Türkiye"); names are compared Unicode-normalised. Raises QueryError with
    a "did you mean" for anything else."""
    entities = {code: label for code, label in con.execute("SELECT code, label FROM ref.entities").fetchall()}
    typed = unicodedata.normalize("NFC", text).strip()
    if typed.upper() in entities:
        return typed.upper(), None
    key = _normal(typed)
    aliases = {
        _normal(a): (c, n) for a, c, n in con.execute("SELECT alias, code, note FROM ref.entity_aliases").fetchall()
    }
    if key in aliases and aliases[key][0] in entities:
        code, note = aliases[key]
        return code, f"{typed} read as {code} ({entities[code]}): {note}"
    names = {_normal(label): code for code, label in entities.items() if label}
    names.update(
        {
            _normal(name): code
            for name, code in con.execute("SELECT source_name, code FROM ref.crosswalk").fetchall()
            if not name.strip().isdigit()
        }
    )
    code = names.get(key)
    if (
        code is None
        and len(typed) > 3
        and typed.replace(" ", "").replace("'", "").replace(".", "").replace("-", "").isalpha()
    ):
        code = _country_converter(typed)
    if code in entities:
        return code, f"{typed} read as {code} ({entities[code]})"
    readable = {c: lab for c, lab in entities.items()}
    readable.update({a.upper(): f"read as {c}" for a, (c, _) in aliases.items() if len(a) <= 3})
    raise QueryError(f"unknown {role} code {text!r} (ISO3 or a name expected).{_did_you_mean(typed, readable)}")


def _country_converter(name: str) -> str | None:
    """ISO3 for a country name by country_converter's patterns, or None (imported only here: it
    brings pandas)."""
    import logging

    import country_converter as coco

    logging.getLogger("country_converter").setLevel(logging.ERROR)
    iso = coco.CountryConverter().convert(name, to="ISO3", not_found=None)
    return iso if isinstance(iso, str) else None


def check_partner(con: duckdb.DuckDBPyConnection, partner: str) -> tuple[str, str | None]:
    """(the partner's code, a notice when it was read from an alias or a name) if it is a country or a
    former country. Raises QueryError with a "did you mean" for unknown codes, and says so for
    World/groups/areas."""
    code, notice = resolve_entity(con, partner, "partner")
    label, etype = con.execute("SELECT label, entity_type FROM ref.entities WHERE code = ?", [code]).fetchone()
    if etype not in ("country", "historical"):
        raise QueryError(f"{code} is {label} ({etype}); growth is by partner country (or former country, e.g. SUN)")
    return code, notice


def check_group(con: duckdb.DuckDBPyConnection, group: str) -> tuple[growth.Membership, str, list[str]]:
    """(membership, the group's name, notices) for a named group of ref.group_membership, or for a
    list of members separated by commas (codes or names, e.g. "IDN,MYS,Viet Nam"), whose members are
    members in every year. Raises QueryError naming what is unknown."""
    if "," in group:
        members, notices = [], []
        for part in (p for p in group.split(",") if p.strip()):
            code, notice = resolve_entity(con, part, "member")
            members.append(code)
            notices += [notice] if notice else []
        if len(set(members)) != len(members):
            raise QueryError(f"a member is listed twice in --group {group!r}")
        code = "+".join(sorted(members))
        return (
            growth.Membership(code, tuple((m, date(1, 1, 1), None) for m in sorted(members))),
            f"custom group {code}",
            notices,
        )
    groups = dict(
        con.execute("SELECT group_code, any_value(group_name) FROM ref.group_membership GROUP BY 1").fetchall()
    )
    code = group.strip().upper()
    if code not in groups:
        raise QueryError(
            f"unknown group {group!r}; known: {', '.join(sorted(groups))}, or members separated by commas."
            f"{_did_you_mean(group, groups)}"
        )
    rows = con.execute(
        "SELECT member_iso3, joined_on, left_on FROM ref.group_membership WHERE group_code = ? ORDER BY 1", [code]
    ).fetchall()
    return growth.Membership(code, tuple(rows)), groups[code], []


def growth_context(
    con: duckdb.DuckDBPyConnection, sources: list[str], rule: str, group_name: tuple[str, str]
) -> growth.Context:
    """The growth rules' context from the warehouse: source precedence (sources/<name>/source.py),
    entity breaks (ref.entity_breaks), names (ref.entities, and the group's)."""
    from tradewh.sources.registry import BY_NAME

    breaks: dict[str, list[growth.EntityBreak]] = {}
    for code, year, note in con.execute("SELECT code, year, note FROM ref.entity_breaks").fetchall():
        breaks.setdefault(code, []).append(growth.EntityBreak(code, year, note))
    names = dict(con.execute("SELECT code::VARCHAR, label FROM ref.entities").fetchall())
    names[group_name[0]] = group_name[1]
    return growth.Context(
        precedence={s: BY_NAME[s].precedence if s in BY_NAME else 1_000 for s in sources},
        breaks={c: tuple(b) for c, b in breaks.items()},
        names=names,
        rule=rule,
        sources=tuple(sources),
    )


def growth_relations(con: duckdb.DuckDBPyConnection, as_of: date | None) -> None:
    """Define on `con` the relations growth reads, as temporary views: `bilateral_annual` (annual
    figures) and `observations` (monthly). Without a date, marts.bilateral_annual and
    canonical.observations_latest. As of a date, the same from canonical.observations_asof(date):
    the mart's own SQL (warehouse/sql/marts/bilateral_annual.sql) run on the releases published on
    or before that date, so a growth figure can be reproduced as it was answered then."""
    if as_of is None:
        annual, observations = "SELECT * FROM marts.bilateral_annual", "SELECT * FROM canonical.observations_latest"
    else:
        from tradewh.warehouse.db import sql_file
        from tradewh.warehouse.rules import CIF_FOB_FACTOR

        asof = f"canonical.observations_asof(DATE '{date.fromisoformat(str(as_of)).isoformat()}')"
        annual = (
            sql_file("marts/bilateral_annual.sql")
            .replace("canonical.observations_latest", asof)
            .replace("$cif_fob", repr(float(CIF_FOB_FACTOR)))
        )
        observations = f"SELECT * FROM {asof}"
    con.execute(f"CREATE OR REPLACE TEMP VIEW bilateral_annual AS {annual}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW observations AS {observations}")


def group_growth(
    con: duckdb.DuckDBPyConnection,
    partner: str,
    group: str | None,
    first_year: int,
    last_year: int,
    bases: tuple[str, ...] = BASES,
    composition: str = "constant",
    source: str | None = None,
    rule: str = "strict",
    reporter: str | None = None,
    freq: str = "A",
    ytd_month: int | None = None,
    currency: str = "usd",
    as_of: date | None = None,
) -> tuple[pl.DataFrame, list[str]]:
    """(growth.COLUMNS rows for each basis asked, notices on how the input was read), for a group's
    members (`group`) or one `reporter`. Without a source, every source in the warehouse, one per
    year by precedence (warehouse/growth.py). freq "A": annual figures (marts.bilateral_annual);
    freq "M": monthly figures only (never mixed with another source's annual ones), per month or,
    with `ytd_month` K, months 1..K of each year. currency "original": in the currency the source
    published in, refused when the figures come in more than one currency. `as_of`: the figures
    the warehouse would have given on that date, from the releases published by then
    (`growth_relations`). Raises QueryError for
    unknown codes, groups or sources, a reversed range, an impossible option, or no data at all."""
    require_totals(con)
    code, notice = check_partner(con, partner)
    if (group is None) == (reporter is None):
        raise QueryError("ask for a --group or a --reporter (one of them)")
    if reporter is not None:
        member, member_notice = resolve_entity(con, reporter, "reporter")
        # a group of one, under a code no entity has: its group row is dropped below
        membership, group_name, notices = (
            growth.Membership(f"{member} alone", ((member, date(1, 1, 1), None),)),
            member,
            [],
        )
        notices = [member_notice] if member_notice else []
    else:
        membership, group_name, notices = check_group(con, group)
    notices = [n for n in [notice, *notices] if n]
    if first_year > last_year:
        raise QueryError(f"--from {first_year} is after --to {last_year}")
    if freq not in ("A", "M"):
        raise QueryError(f"freq must be A or M, not {freq!r}")
    if ytd_month is not None and freq != "M":
        raise QueryError("--ytd-month needs --freq M (year to date is a sum of months)")
    if currency not in ("usd", "original"):
        raise QueryError(f"currency must be usd or original, not {currency!r}")
    if currency == "original" and freq != "M":
        raise QueryError(
            "--currency original needs --freq M: annual figures are held in US dollars "
            "(marts.bilateral_annual); the monthly figures keep the currency their source published in"
        )
    growth_relations(con, as_of)
    known = [s for (s,) in con.execute("SELECT source::VARCHAR FROM ref.sources ORDER BY 1").fetchall()]
    if source is not None and source not in known:
        raise QueryError(f"no data from source {source!r} in the warehouse (sources: {', '.join(known)})")
    sources = [source] if source else known
    span_sql = (
        "SELECT min(year), max(year) FROM bilateral_annual WHERE list_contains($sources, source::VARCHAR)"
        if freq == "A"
        else "SELECT min(year), max(year) FROM observations WHERE freq = 'M' AND list_contains($sources, source::VARCHAR)"
    )
    lo, hi = con.execute(span_sql, {"sources": sources}).fetchone()
    what = "monthly figures" if freq == "M" else "data"
    if lo is None and as_of is not None:
        first = con.execute("SELECT min(vintage) FROM canonical.observations").fetchone()[0]
        raise QueryError(f"no release in the warehouse was published on or before {as_of} (the first is {first})")
    if lo is None:
        raise QueryError(
            f"no {what} from source {source!r} in the warehouse" if source else f"the warehouse has no {what}"
        )
    if last_year < lo or first_year > hi:
        raise QueryError(
            f"{source or 'the warehouse'} has {'monthly figures for ' if freq == 'M' else ''}years {lo}-{hi}; "
            f"asked {first_year}-{last_year}"
        )
    try:
        composed = growth.composition(membership, list(range(first_year - 1, last_year + 1)), composition, last_year)
    except ValueError as exc:
        raise QueryError(str(exc)) from exc
    members = sorted({m for ms in composed.values() for m in ms})
    if not members:
        raise QueryError(f"{membership.group_code} has no members at the end of {last_year}")
    if rule not in growth.RULES:
        raise QueryError(f"rule must be one of {', '.join(growth.RULES)}, not {rule!r}")
    context = growth_context(con, sources, rule, (membership.group_code, group_name))
    frames = []
    for basis in bases:
        if basis not in BASES:
            raise QueryError(f"basis must be one of {BASES}, not {basis!r}")
        params = {
            "sources": sources,
            "partner": code,
            "members": members,
            "first_year": first_year - 1,
            "last_year": last_year,
            "basis": basis,
        }
        if freq == "A":
            values = (
                con.execute((SQL_DIR / "growth_inputs.sql").read_text(), params)
                .pl()
                .with_columns(pl.col("member", "flow", "source").cast(pl.String), pl.col("vintage").cast(pl.String))
            )
        else:
            values = con.execute(
                (SQL_DIR / "growth_inputs_monthly.sql").read_text(), {**params, "original": currency == "original"}
            ).pl()
        if values.filter(pl.col("value_usd").is_not_null() & (pl.col("year") >= first_year)).height == 0:
            raise QueryError(
                f"no {what} on the {basis} basis for {membership.group_code} members' trade with {code} in "
                f"{first_year}-{last_year}" + (f" ({source} has years {lo}-{hi})" if source else "")
            )
        asked = "USD"
        if currency == "original":
            try:
                asked = growth.single_currency(values)
            except ValueError as exc:
                raise QueryError(str(exc)) from exc
        basis_context = growth.Context(
            context.precedence, context.breaks, context.names, context.rule, context.sources, asked
        )
        if freq == "A":
            rows = growth.group_growth(
                values, membership, code, first_year, last_year, basis, composition, basis_context
            )
        else:
            try:
                rows = growth.monthly_growth(
                    values, membership, code, first_year, last_year, basis, composition, basis_context, ytd_month
                )
            except ValueError as exc:
                raise QueryError(str(exc)) from exc
        if reporter is not None:  # one reporter: its own rows, no group row, no contributions
            rows = rows.filter(pl.col("reporter") != membership.group_code).with_columns(
                contribution_pp=pl.lit(None, pl.Float64)
            )
        frames.append(rows)
    return pl.concat(frames), notices


def require_totals(con: duckdb.DuckDBPyConnection) -> None:
    """Raise QueryError when the warehouse has no totals (canonical.observations): one that
    `tradewh products` published before any `tradewh build` holds bulk product data only."""
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'canonical' AND table_name = 'observations'"
    ).fetchone()[0]
    if not found:
        raise QueryError(
            "this warehouse holds bulk product data only (published by `tradewh products`): run `tradewh build` "
            "to add the totals; `tradewh product-growth` asks the product-level question"
        )


PRODUCT_GROWTH_SQL = Path(__file__).parent / "sql" / "product_growth.sql"


def product_group_growth(
    con: duckdb.DuckDBPyConnection,
    classification: str,
    group: str,
    partner: str,
    chapter: str,
    first_year: int,
    last_year: int,
) -> pl.DataFrame:
    """The product-level growth question on the bulk product store: each member of `group` (a group
    of ref.group_membership, dated) trading HS chapter `chapter` (two digits) with `partner` (an
    entity code), year by year from `first_year` to `last_year`, in ONE HS revision
    `classification` (H0-H6), from canonical.product_observations_latest, or on a connection with
    the DuckLake attached and no local product store, lake.product_observations_latest
    (warehouse/sql/product_growth.sql). Rows: member_iso3 (the group code for the group's total),
    year, exports_usd, imports_usd, trade_usd (US$, exact), growth_pct (on the year before), members.
    Raises QueryError for an unknown revision, group or partner, a chapter that is not two digits,
    years in the wrong order, or a warehouse without bulk product data."""
    from tradewh.warehouse.products import AS_REPORTED, CLASSIFICATIONS

    local = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE schema_name = 'canonical' AND view_name = 'product_observations'"
    ).fetchone()[0]
    in_lake = con.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = 'lake'").fetchone()[0]
    if not (local or in_lake):
        raise QueryError("this warehouse has no bulk product data: load year files with `tradewh products` first")
    # the local product store's views, else the DuckLake's (connect_read_only with a lake)
    observations = "canonical.product_observations_latest" if local else "lake.product_observations_latest"
    revisions = [c for c in CLASSIFICATIONS if c != AS_REPORTED]
    if classification not in revisions:
        raise QueryError(f"unknown HS revision {classification!r}: one of {', '.join(revisions)}")
    if not (len(chapter) == 2 and chapter.isdigit()):
        raise QueryError(f"chapter {chapter!r}: an HS chapter is two digits, e.g. 27")
    if first_year > last_year:
        raise QueryError(f"--from {first_year} is after --to {last_year}")
    code = group.strip().upper()
    members = [
        m
        for (m,) in con.execute(
            "SELECT DISTINCT member_iso3 FROM ref.group_membership WHERE group_code = ? "
            "AND joined_on <= make_date(?, 12, 31) AND (left_on IS NULL OR left_on > make_date(?, 12, 31)) ORDER BY 1",
            [code, last_year, first_year - 1],
        ).fetchall()
    ]
    if not members:
        groups = [
            g for (g,) in con.execute("SELECT DISTINCT group_code FROM ref.group_membership ORDER BY 1").fetchall()
        ]
        raise QueryError(f"group {group!r} has no members in {first_year - 1}-{last_year}; groups: {', '.join(groups)}")
    partner_code = partner.strip().upper()
    if not con.execute("SELECT count(*) FROM ref.crosswalk WHERE code = ?", [partner_code]).fetchone()[0]:
        raise QueryError(f"unknown partner {partner!r}: give its entity code (ISO3), e.g. RUS")
    params = {
        "classification": classification,
        "group": code,
        "members": members,
        "partner": partner_code,
        "chapter": chapter,
        "first_year": first_year,
        "last_year": last_year,
    }
    return con.execute(
        PRODUCT_GROWTH_SQL.read_text().replace("canonical.product_observations_latest", observations), params
    ).pl()
