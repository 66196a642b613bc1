"""Questions users ask of the published warehouse, with their input checks. Read-only; every value
from the user is a bound parameter, never pasted into SQL. Used by the `tradewh` CLI."""

import difflib
from pathlib import Path

import duckdb
import polars as pl

from warehouse import growth

SQL_DIR = Path(__file__).parent / "sql"
BASES = ("reporter", "mirror")


class QueryError(ValueError):
    """A question the warehouse cannot answer as asked (unknown code, impossible range, no data)."""


def connect_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection that cannot touch other files (no COPY TO, ATTACH, file readers)
    except the raw-store files its raw views read (meta.raw_files), and only for reading by
    `read_statement`'s rule: the settings are locked, so a query cannot switch them back."""
    if not Path(path).exists():
        raise QueryError(f"no published warehouse at {path}: run `tradewh build` first")
    con = duckdb.connect(str(path), read_only=True)
    has_list = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' AND table_name = 'raw_files'"
    ).fetchone()[0]
    # a warehouse built before the raw views has no list (and no raw view): no file is allowed
    raw_files = [p for (p,) in con.execute("SELECT path FROM meta.raw_files").fetchall()] if has_list else []
    con.execute("SET allowed_paths = ?", [raw_files])
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
            f"({READ_KINDS})"
        )
    return text


def _did_you_mean(word: str, options: dict[str, str]) -> str:
    """' Did you mean X (label)?' from codes and their labels, or ''."""
    by_label = {label.upper(): code for code, label in options.items() if label}
    hits = difflib.get_close_matches(word.upper(), list(options) + list(by_label), n=3, cutoff=0.6)
    codes = list(dict.fromkeys(by_label.get(h, h) for h in hits))
    return (" Did you mean " + " or ".join(f"{c} ({options[c]})" for c in codes) + "?") if codes else ""


def check_partner(con: duckdb.DuckDBPyConnection, partner: str) -> str:
    """The partner's code, upper-cased, if it is a country or a former country in the crosswalk.
    Raises QueryError with a "did you mean" for unknown codes, and says so for World/groups/areas."""
    entities = {
        code: (label, etype)
        for code, label, etype in con.execute(
            "SELECT code, any_value(label), any_value(entity_type) FROM ref.crosswalk GROUP BY code"
        ).fetchall()
    }
    code = partner.strip().upper()
    if code not in entities:
        countries = {c: label for c, (label, t) in entities.items() if t in ("country", "historical")}
        raise QueryError(f"unknown partner code {partner!r} (ISO3 expected).{_did_you_mean(partner, countries)}")
    label, etype = entities[code]
    if etype not in ("country", "historical"):
        raise QueryError(f"{code} is {label} ({etype}); growth is by partner country (or former country, e.g. SUN)")
    return code


def check_group(con: duckdb.DuckDBPyConnection, group: str) -> growth.Membership:
    groups = dict(con.execute("SELECT group_code, any_value(group_name) FROM ref.group_membership GROUP BY 1").fetchall())
    code = group.strip().upper()
    if code not in groups:
        raise QueryError(f"unknown group {group!r}; known: {', '.join(sorted(groups))}.{_did_you_mean(group, groups)}")
    rows = con.execute(
        "SELECT member_iso3, joined_on, left_on FROM ref.group_membership WHERE group_code = ? ORDER BY 1", [code]
    ).fetchall()
    return growth.Membership(code, tuple(rows))


def group_growth(
    con: duckdb.DuckDBPyConnection,
    partner: str,
    group: str,
    first_year: int,
    last_year: int,
    bases: tuple[str, ...] = BASES,
    composition: str = "constant",
    source: str = "imf_dots",
) -> pl.DataFrame:
    """growth.COLUMNS rows for each basis asked. Raises QueryError for unknown codes, a range outside
    the source's years or reversed, or no data at all."""
    code = check_partner(con, partner)
    membership = check_group(con, group)
    if first_year > last_year:
        raise QueryError(f"--from {first_year} is after --to {last_year}")
    lo, hi = con.execute("SELECT min(year), max(year) FROM marts.bilateral_annual WHERE source = ?", [source]).fetchone()
    if lo is None:
        raise QueryError(f"no data from source {source!r} in the warehouse")
    if first_year < lo or last_year > hi:
        raise QueryError(f"{source} has years {lo}-{hi}; asked {first_year}-{last_year}")
    try:
        composed = growth.composition(membership, list(range(first_year - 1, last_year + 1)), composition, last_year)
    except ValueError as exc:
        raise QueryError(str(exc)) from exc
    members = sorted({m for ms in composed.values() for m in ms})
    if not members:
        raise QueryError(f"{membership.group_code} has no members at the end of {last_year}")
    sql = (SQL_DIR / "growth_inputs.sql").read_text()
    frames = []
    for basis in bases:
        if basis not in BASES:
            raise QueryError(f"basis must be one of {BASES}, not {basis!r}")
        values = con.execute(sql, {
            "source": source, "partner": code, "members": members, "first_year": first_year - 1,
            "last_year": last_year, "basis": basis,
        }).pl()
        if values.filter(pl.col("value_usd").is_not_null() & (pl.col("year") >= first_year)).height == 0:
            raise QueryError(
                f"no data on the {basis} basis for {membership.group_code} members' trade with {code} in {first_year}-{last_year}"
            )
        frames.append(growth.group_growth(values, membership, code, first_year, last_year, basis, composition, source))
    return pl.concat(frames)
