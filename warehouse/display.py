"""How the warehouse writes a number for people, in the CLI's tables and the web UI's previews.
No imports: the CLI reads it without loading Dagster."""


def number_text(v) -> str:
    """A float or an exact amount (Decimal) as text: two decimals with thousands separators, except
    below 1, where three significant digits keep a small value from showing as 0.00 or 0.01 (a
    ratio of 0.00667); a 16-digit ratio is rounded (1,000.00); NaN as nan."""
    return format(v, ",.2f") if v == 0 or abs(v) >= 1 or v != v else format(v, ".3g")
