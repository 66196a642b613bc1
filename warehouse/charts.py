"""Charts of growth answers (matplotlib, drawn off screen): one line per member or reporter and one
for the group, per basis, with the sources and releases of the figures in the caption. Used by
`tradewh growth --chart` and by the published warehouse's page in the Dagster UI.

matplotlib is imported when a chart is drawn (it costs about 0.4 s); `prepare()` imports it on a
thread ahead of time, while the build's SQL runs.
"""

import io
import threading
from pathlib import Path

import polars as pl

_ready = threading.Event()


def _import() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401

    _ready.set()


def prepare() -> None:
    """Import matplotlib on a background thread, so the first chart does not wait for it."""
    if not _ready.is_set():
        threading.Thread(target=_import, daemon=True).start()


def _period(frame: pl.DataFrame) -> pl.Series:
    """A sortable x value per row: the year, or year + (month - 0.5) / 12 for a single month."""
    months = frame["months"].cast(pl.String)
    single = months.str.contains("-").not_()
    return pl.Series(
        [y + (int(m) - 0.5) / 12 if s else float(y) for y, m, s in zip(frame["year"], months, single)], dtype=pl.Float64
    )


def draw(frame: pl.DataFrame, title: str | None = None) -> bytes:
    """A PNG of a growth answer (warehouse.growth.COLUMNS rows): per basis, the value in millions of
    the answer's currency by period, one line per reporter (the group's line thicker), the sources
    and releases in the caption. Raises ValueError for a frame without values."""
    if frame.filter(pl.col("value").is_not_null()).height == 0:
        raise ValueError("nothing to draw: the answer has no values")
    _import()
    import matplotlib.pyplot as plt

    bases = list(dict.fromkeys(frame["basis"].to_list()))
    fig, axes = plt.subplots(
        len(bases), 1, figsize=(9, 3.6 * len(bases)), squeeze=False, sharex=True, layout="constrained"
    )
    currency = frame["currency"].drop_nulls().first() or "USD"
    partner = frame["partner"].first()
    for ax, basis in zip(axes[:, 0], bases):
        rows = frame.filter(pl.col("basis") == basis).with_columns(x=_period(frame.filter(pl.col("basis") == basis)))
        groups = set(rows.filter(pl.col("coverage").str.contains("members")).get_column("reporter").to_list())
        for reporter in dict.fromkeys(rows["reporter"].to_list()):
            line = rows.filter(pl.col("reporter") == reporter).sort("x")
            ax.plot(
                line["x"],
                line["value"] / 1e6,
                marker="." if line.height < 40 else None,
                linewidth=2.6 if reporter in groups else 1.1,
                label=reporter,
            )
        ax.set_title(f"{title or 'Trade with ' + partner} — {basis} basis", fontsize=10)
        ax.set_ylabel(f"{currency} millions")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=6, loc="upper left")
    with_data = frame.filter(pl.col("value").is_not_null())
    releases = sorted({f"{s} {v}" for s, v in zip(with_data["source"], with_data["vintage"]) if s})
    fig.supxlabel("Sources and releases: " + "; ".join(releases), fontsize=7, ha="left", x=0.01)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=90)
    plt.close(fig)
    return out.getvalue()


def growth_chart(frame: pl.DataFrame, path: str | Path, title: str | None = None) -> Path:
    """Write `draw(frame)` to `path` (PNG). Raises ValueError for a frame without values, OSError if
    the file cannot be written."""
    path = Path(path)
    path.write_bytes(draw(frame, title))
    return path
