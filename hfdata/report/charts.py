"""The HTML report's pictures (issue 19): PNG images drawn by matplotlib's Agg canvas.

PNG bytes rather than SVG so that the report embeds them as `data:` URIs with no XML
namespaces or fonts to carry, and a picture's size does not grow with the number of
points (a coverage grid of 2,000 bins by 100 variables is one image). No pyplot: a
`Figure` on its own `FigureCanvasAgg` touches no global backend or state, so building
a report in a program that plots interactively changes nothing there.

Variable names are drawn as plain text: a `$` would otherwise start matplotlib's math
mode, so it is escaped (`plain_label`).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

from hfdata.errors import MissingDependency

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["DPI", "coverage_png", "plain_label", "require_matplotlib", "series_png"]

DPI: Final = 100
_WIDTH_IN: Final = 8.0
_LABEL_CHARS: Final = 40
_LINE: Final = "#1f5fa8"


def require_matplotlib() -> None:
    """Raise MissingDependency (saying what to install) when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise MissingDependency(
            "the report's plots need matplotlib: install hfdata[plot], or build the "
            "report without plots (plots=False, `hfdata report --no-plots`)"
        ) from exc


def plain_label(name: str, limit: int = _LABEL_CHARS) -> str:
    """`name` as matplotlib draws it literally: `$` escaped, at most `limit` characters."""
    if len(name) > limit:
        name = name[: limit - 1] + "\u2026"
    return name.replace("$", r"\$")


def _png(fig: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def _naive_utc(index: pd.Index) -> np.ndarray:
    """Bin starts as naive UTC datetime64, which matplotlib places on a date axis."""
    return pd.DatetimeIndex(index).tz_convert("UTC").tz_localize(None).to_numpy()


def _date_axis(ax: Axes) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def series_png(frame: pd.DataFrame, freq: pd.Timedelta, freq_text: str) -> bytes:
    """A mean line over a min-max band: `frame` indexed by the starts (UTC) of bins
    `freq` long, float columns `mean`, `min`, `max` (empty bins NaN: the line and the
    band break there). Each bin is drawn at its middle, as the heatmap's cells span it."""
    from matplotlib.figure import Figure

    half = (freq / 2).to_timedelta64()
    x = _naive_utc(frame.index) + half
    mean = frame["mean"].to_numpy(dtype=float)
    low = frame["min"].to_numpy(dtype=float)
    high = frame["max"].to_numpy(dtype=float)
    fig = Figure(figsize=(_WIDTH_IN, 2.8), layout="constrained")
    ax = fig.subplots()
    ax.fill_between(x, low, high, color=_LINE, alpha=0.22, linewidth=0, label="min-max")
    few = int(np.count_nonzero(~np.isnan(mean))) < 3
    ax.plot(x, mean, color=_LINE, linewidth=1.2, marker="o" if few else None, label="mean")
    ax.set_ylabel("value")
    ax.set_xlabel(f"time (UTC), {freq_text} bins")
    ax.grid(True, linewidth=0.4, alpha=0.5)
    if len(x):  # the bins' own span, not matplotlib's default years around one point
        ax.set_xlim(x[0] - half, x[-1] + half)
    ax.legend(loc="upper right", fontsize="small", frameon=False)
    _date_axis(ax)
    return _png(fig)


def coverage_png(coverage: pd.DataFrame, freq: pd.Timedelta) -> bytes:
    """A heatmap of covered shares: a row per column of `coverage` (a variable), a
    column per bin (its index, UTC bin starts), 0 (dark) to 1 (bright)."""
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    names = [str(c) for c in coverage.columns]
    grid = coverage.to_numpy(dtype=float).T  # variables x bins
    starts = _naive_utc(coverage.index)
    left = mdates.date2num(starts[0])  # type: ignore[no-untyped-call]
    right = mdates.date2num(starts[-1] + freq.to_timedelta64())  # type: ignore[no-untyped-call]
    height = 1.2 + 0.24 * len(names)
    fig = Figure(figsize=(_WIDTH_IN, height), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(
        grid,
        aspect="auto",
        interpolation="nearest",
        cmap="viridis",
        vmin=0.0,
        vmax=1.0,
        extent=(left, right, len(names) - 0.5, -0.5),
    )
    ax.xaxis_date()
    _date_axis(ax)
    ax.set_yticks(range(len(names)), labels=[plain_label(n) for n in names], fontsize="small")
    ax.set_xlabel("time (UTC)")
    fig.colorbar(image, ax=ax, label="covered share", fraction=0.04, pad=0.01)
    return _png(fig)
