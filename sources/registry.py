"""The registered sources: one line per source (its folder's SOURCE object), in the order the
warehouse numbers their raw rows. Everything else finds sources here, by name or in order."""

from tradewh.sources.baci.source import SOURCE as BACI
from tradewh.sources.comtrade.source import SOURCE as COMTRADE
from tradewh.sources.contract import BulkSource, Source
from tradewh.sources.imf_dots.source import SOURCE as IMF_DOTS
from tradewh.sources.imf_imts.source import SOURCE as IMF_IMTS
from tradewh.sources.singstat.source import SOURCE as SINGSTAT

SOURCES: tuple[Source, ...] = (
    IMF_DOTS,
    IMF_IMTS,
    COMTRADE,
    SINGSTAT,
)

BY_NAME: dict[str, Source] = {s.name: s for s in SOURCES}


def get(name: str) -> Source:
    """The source called `name`. Raises KeyError listing the registered ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r}; registered: {', '.join(BY_NAME)}") from None


# Bulk product sources (sources.contract.BulkSource): loaded into the product store (warehouse.bulk)
# by their own job, one partition per year and HS revision, not by build_warehouse.

BULK_SOURCES: tuple[BulkSource, ...] = (BACI,)
BULK_BY_NAME: dict[str, BulkSource] = {s.name: s for s in BULK_SOURCES}
