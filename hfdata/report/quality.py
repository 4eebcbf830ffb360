"""`Store.quality`: findings about data that is stored consistently but looks wrong.

Each finding is a row `variable, check, start, end, detail`; the checks (`CHECKS`):

- `stuck`: one value (float and int kinds) repeated by consecutive rows for longer
  than `stuck_for` (from the first to the last of those rows); from the stats' runs,
  joined across pieces;
- `nan_run`: consecutive missing values (null or NaN) for longer than `nan_run`;
- `spike`: a value far from its neighbours: with `x` the variable's values that are
  not missing (float and int kinds, in `read`'s order), `m` their centred rolling
  median over `spike_window` values (fewer at the ends) and `r = x - m`, the robust
  scale `s` is 1.4826 x the centred rolling median of `|r|` (same window), and a
  value is a spike where `s > 0` and `|r| / s > spike_z` (a window where most values
  equal their median has no scale: nothing there is a spike; `stuck` covers flat
  signals). This check reads the points, a piece (a partition at most, or the log
  tail) at a time, carrying `2 x spike_window` values across;
- `conflicting_duplicates`: timestamps holding more than one distinct value (the
  stats count them but keep no positions: `start`/`end` are NaT);
- `before_1970`: points dated before 1970 (`start` the first, `end` the last of them);
- `far_future`: points dated more than `far_future` after `now` (default: the clock);
- `long_span`: points spanning more than `max_span` (a duration; "50y" is 50 Julian
  years).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from hfdata.errors import HfdataError, InvalidArgument
from hfdata.kinds import Kind
from hfdata.parquet.root import PartsRoot
from hfdata.parquet.stats import FileStats
from hfdata.report.gaps import duration_arg
from hfdata.report.merge import Merged, merge
from hfdata.report.pieces import Piece, Pieces, names_of, with_pieces
from hfdata.settings import StoreSettings
from hfdata.timeparse import format_ns, to_ns

__all__ = [
    "CHECKS",
    "COLUMNS",
    "VERIFY_CHECKS",
    "VERIFY_QUALITY",
    "QualityOptions",
    "VerifyQuality",
    "quality",
    "quality_findings",
    "quality_warnings",
]

CHECKS: Final = (
    "stuck",
    "spike",
    "nan_run",
    "conflicting_duplicates",
    "before_1970",
    "far_future",
    "long_span",
)
COLUMNS: Final = ("variable", "check", "start", "end", "detail")
_MAD: Final = 1.4826  # a normal distribution's sigma per median absolute deviation
_YEAR_NS: Final = 365 * 86_400_000_000_000 + 86_400_000_000_000 // 4  # a Julian year
_YEARS: Final = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*(?:y|yr|yrs|year|years)\s*$")
_STUCK_KINDS: Final = ("float", "int")
Run = list[Any]
Finding = tuple[str, str, int | None, int | None, str]


class QualityOptions:
    """The checks' thresholds, checked and in ns (`quality` documents each)."""

    def __init__(
        self,
        settings: StoreSettings,
        *,
        stuck_for: Any = "1h",
        spike_z: float = 8.0,
        spike_window: int = 31,
        nan_run: Any = "10min",
        far_future: Any = "1D",
        max_span: Any = "50y",
        now: Any = None,
        checks: Sequence[str] | None = None,
    ) -> None:
        self.stuck_for = duration_arg(stuck_for, "stuck_for")
        self.nan_run = duration_arg(nan_run, "nan_run")
        self.far_future = duration_arg(far_future, "far_future")
        self.max_span = _span_ns(max_span)
        if isinstance(spike_z, bool) or not isinstance(spike_z, int | float) or spike_z <= 0:
            raise InvalidArgument(
                f"spike_z must be a positive number, got {spike_z!r}", argument="spike_z"
            )
        if isinstance(spike_window, bool) or not isinstance(spike_window, int) or spike_window < 3:
            raise InvalidArgument(
                f"spike_window must be an int of at least 3 values, got {spike_window!r}",
                argument="spike_window",
            )
        self.spike_z = float(spike_z)
        self.spike_window = spike_window
        self.now = time.time_ns() if now is None else to_ns(now, settings.time_rules())
        chosen = CHECKS if checks is None else tuple(checks)
        unknown = [c for c in chosen if c not in CHECKS]
        if unknown:
            raise InvalidArgument(
                f"unknown check {unknown[0]!r}; the checks are {', '.join(CHECKS)}",
                argument="checks",
            )
        self.checks = chosen


def _span_ns(value: Any) -> int:
    if isinstance(value, str):
        years = _YEARS.match(value)
        if years:
            return round(float(years[1]) * _YEAR_NS)
    return duration_arg(value, "max_span")


def quality(
    root: Path,
    parts: PartsRoot,
    settings: StoreSettings,
    variables: str | Sequence[str] | None,
    options: QualityOptions,
) -> pd.DataFrame:
    """The findings of `variables` (default: every one), a variable at a time."""
    names = names_of(root, parts, variables)
    found: list[Finding] = []
    for name in names:
        found.extend(
            with_pieces(root, parts, settings, name, lambda p: quality_findings(p, options))
        )
    return pd.DataFrame(
        {
            "variable": pd.Series([f[0] for f in found], dtype=object),
            "check": pd.Series([f[1] for f in found], dtype=object),
            "start": pd.Series([_time(f[2]) for f in found], dtype="datetime64[ns, UTC]"),
            "end": pd.Series([_time(f[3]) for f in found], dtype="datetime64[ns, UTC]"),
            "detail": pd.Series([f[4] for f in found], dtype=object),
        },
        columns=list(COLUMNS),
    )


def _time(ns: int | None) -> Any:
    return pd.NaT if ns is None else pd.Timestamp(ns, tz="UTC")


def _duration(ns: int) -> str:
    return str(pd.Timedelta(ns, unit="ns"))


def quality_findings(pieces: Pieces, options: QualityOptions) -> list[Finding]:
    """One variable's findings, check by check (`CHECKS` order), each in time order."""
    name, kind, chosen = pieces.name, pieces.kind, options.checks
    merged = merge(pieces.pieces)
    out: list[Finding] = []
    if "stuck" in chosen and kind in _STUCK_KINDS:
        for s, e, rows, value in _runs(pieces.pieces, kind, False, options.stuck_for):
            detail = f"value {value!r} repeated by {rows:,} rows for {_duration(e - s)}"
            out.append((name, "stuck", s, e, detail))
    if "spike" in chosen and kind in _STUCK_KINDS:
        out.extend((name, "spike", t, t, d) for t, d in _spikes(pieces.pieces, options))
    if "nan_run" in chosen:
        for s, e, rows, _ in _runs(pieces.pieces, kind, True, options.nan_run):
            out.append((name, "nan_run", s, e, f"{rows:,} missing values for {_duration(e - s)}"))
    if "conflicting_duplicates" in chosen and merged.conflicting_duplicates:
        out.append(
            (
                name,
                "conflicting_duplicates",
                None,
                None,
                f"{merged.conflicting_duplicates:,} timestamps hold more than one distinct "
                "value; read(dedupe='last'|'first') or optimize(dedupe=...) keeps one",
            )
        )
    out.extend(_times(pieces, merged, options))
    return out


# -- times -----------------------------------------------------------------------------------


def _beyond(
    pieces: Sequence[Piece], test: Callable[[npt.NDArray[np.int64]], Any]
) -> tuple[int, int, int]:
    """How many points `test` holds for, and the first and last of them, piece by piece;
    a piece is read only where its span is cut by `test` (monotonic in time)."""
    count = 0
    lows: list[int] = []
    highs: list[int] = []
    for piece in pieces:
        s = piece.stats
        ends = test(np.array([s.first_ts, s.last_ts], np.int64))
        if not ends.any():
            continue
        if ends.all():
            count, lows, highs = count + s.rows, [*lows, s.first_ts], [*highs, s.last_ts]
            continue
        ns = piece.load()[0]
        hit = ns[test(ns)]
        count, lows, highs = count + len(hit), [*lows, int(hit[0])], [*highs, int(hit[-1])]
    return count, min(lows), max(highs)


def _times(pieces: Pieces, merged: Merged, options: QualityOptions) -> list[Finding]:
    out: list[Finding] = []
    if merged.first is None or merged.last is None:
        return out
    name, chosen = pieces.name, options.checks
    if "before_1970" in chosen and merged.first < 0:
        count, first, last = _beyond(pieces.pieces, lambda ns: ns < 0)
        detail = f"{count:,} points before 1970-01-01 (timestamps parsed with the right rule?)"
        out.append((name, "before_1970", first, last, detail))
    limit = options.now + options.far_future
    if "far_future" in chosen and merged.last > limit:
        count, first, last = _beyond(pieces.pieces, lambda ns: ns > limit)
        detail = (
            f"{count:,} points after {format_ns(limit)} (now + {_duration(options.far_future)})"
        )
        out.append((name, "far_future", first, last, detail))
    if "long_span" in chosen and merged.last - merged.first > options.max_span:
        years = (merged.last - merged.first) / _YEAR_NS
        detail = f"points span {years:,.1f} years, more than {options.max_span / _YEAR_NS:,.1f}"
        out.append((name, "long_span", merged.first, merged.last, detail))
    return out


# -- runs ------------------------------------------------------------------------------------


def _valid(values: pa.Array, kind: Kind | None) -> npt.NDArray[np.bool_]:
    valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), bool)
    if kind in ("float", None):
        floats = np.asarray(values.to_numpy(zero_copy_only=False), np.float64)
        valid &= ~np.isnan(floats)
    return valid


def _point_runs(piece: Piece, kind: Kind | None, nan: bool, longer: int) -> list[Run]:
    """Every run of a piece longer than `longer`, from its points."""
    ns, values = piece.load()
    valid = _valid(values, kind)
    member = ~valid if nan else valid
    if nan:
        keys: npt.NDArray[Any] = np.zeros(len(ns))
    else:
        keys = np.asarray(values.fill_null(0).to_numpy(zero_copy_only=False))
    breaks = np.ones(len(ns), bool)
    breaks[1:] = ~(member[1:] & member[:-1] & (keys[1:] == keys[:-1]))
    starts = np.flatnonzero(breaks)
    ends = np.append(starts[1:], len(ns)) - 1
    keep = member[starts] & (ends > starts) & (ns[ends] - ns[starts] > longer)
    return [
        [int(ns[a]), int(ns[b]), int(b - a + 1), None if nan else values[int(a)].as_py()]
        for a, b in zip(starts[keep].tolist(), ends[keep].tolist(), strict=True)
    ]


def _listed(piece: Piece, kind: Kind | None, nan: bool, longer: int) -> list[Run]:
    """The runs of a piece that may be longer than `longer`: its stats' list, unless it
    was cut at `MAX_LISTED` above that length (then from its points)."""
    s = piece.stats
    runs, truncated = (s.nan_runs, s.nan_runs_truncated) if nan else (s.runs, s.runs_truncated)
    if truncated and runs and min(r[1] - r[0] for r in runs) > longer:
        return _point_runs(piece, kind, nan, longer)
    return [list(r) for r in runs]


def _drop(runs: list[Run], run: Run) -> None:
    """Remove one copy of `run` (identical copies are interchangeable)."""
    for i, r in enumerate(runs):
        if r[:3] == run[:3] and r[3] == run[3]:
            del runs[i]
            return


def _edges(s: FileStats, nan: bool) -> tuple[Run | None, Run | None]:
    return (s.nan_head, s.nan_tail) if nan else (s.head_run, s.tail_run)


def _runs(pieces: Sequence[Piece], kind: Kind | None, nan: bool, longer: int) -> list[Run]:
    """Runs longer than `longer` (time from first to last row) of one value (or of
    missing values), joined where they continue from one piece into the next."""
    out: list[Run] = []
    open_run: Run | None = None  # the run reaching the end of the pieces so far
    for piece in pieces:
        listed = _listed(piece, kind, nan, longer)
        head, tail = _edges(piece.stats, nan)
        whole = head is not None and head[2] == piece.stats.rows
        if open_run is not None and head is not None and open_run[3] == head[3]:
            _drop(listed, head)
            open_run = [open_run[0], head[1], open_run[2] + head[2], open_run[3]]
            if whole:
                out.extend(listed)
                continue
            out.append(open_run)
        elif open_run is not None:
            out.append(open_run)
        open_run = None
        if tail is not None:
            _drop(listed, tail)
            open_run = list(tail)
        out.extend(listed)
    if open_run is not None:
        out.append(open_run)
    kept = [r for r in out if r[2] >= 2 and r[1] - r[0] > longer]
    return sorted(kept, key=lambda r: (r[0], r[1]))


# -- spikes ----------------------------------------------------------------------------------


def _scores(
    x: npt.NDArray[np.float64], window: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Rolling median, residual and robust scale of `x` (centred windows)."""
    series = pd.Series(x)
    median = series.rolling(window, center=True, min_periods=1).median().to_numpy()
    residual = x - median
    scale = (
        _MAD
        * pd.Series(np.abs(residual))
        .rolling(window, center=True, min_periods=1)
        .median()
        .to_numpy()
    )
    return median, residual, scale


def _spikes(pieces: Sequence[Piece], options: QualityOptions) -> list[tuple[int, str]]:
    """`(timestamp, detail)` of every spike, reading a piece at a time."""
    window, z = options.spike_window, options.spike_z
    reach = 2 * (window // 2)  # values either side a score depends on
    out: list[tuple[int, str]] = []
    buf_ns = np.zeros(0, np.int64)
    buf_x = np.zeros(0, np.float64)
    done = 0  # how many values of the buffer are scored

    def score(upto: int) -> None:
        median, residual, scale = _scores(buf_x, window)
        r, sc = residual[done:upto], scale[done:upto]
        with np.errstate(divide="ignore", invalid="ignore"):
            hits = np.flatnonzero((sc > 0) & (np.abs(r) / sc > z)) + done
        for i in hits.tolist():
            out.append(
                (
                    int(buf_ns[i]),
                    f"value {buf_x[i]:g} against a rolling median of {median[i]:g} "
                    f"(robust z {residual[i] / scale[i]:.3g})",
                )
            )

    for piece in pieces:
        ns, values = piece.load()
        valid = _valid(values, "float" if values.type == pa.float64() else "int")
        x = np.asarray(values.filter(pa.array(valid)).to_numpy(zero_copy_only=False), np.float64)
        buf_ns = np.concatenate((buf_ns, ns[valid]))
        buf_x = np.concatenate((buf_x, x))
        upto = len(buf_x) - reach
        if upto > done:
            score(upto)
            keep = max(0, upto - reach)  # values the next scores still depend on
            buf_ns, buf_x = buf_ns[keep:], buf_x[keep:]
            done = upto - keep
    if len(buf_x) > done:
        score(len(buf_x))
    return out


# -- for verify ------------------------------------------------------------------------------

VerifyQuality = Literal["stats", "full"]
VERIFY_QUALITY: Final = ("stats", "full")
VERIFY_CHECKS: Final[dict[str, tuple[str, ...]]] = {
    # verify checks conflicting duplicates and implausible times itself
    "stats": ("stuck", "nan_run"),  # from the stats' runs: no point of a file with stats read
    "full": ("stuck", "spike", "nan_run"),  # spikes read every point (rolling medians)
}


def quality_warnings(
    root: Path,
    parts: PartsRoot,
    settings: StoreSettings,
    variables: Sequence[str],
    mode: VerifyQuality = "stats",
) -> list[str]:
    """`hfdata verify`'s quality warnings: per variable and check (`VERIFY_CHECKS` of
    `mode`, the default thresholds), how many findings and the first one.

    "stats" (verify's default) runs the checks the per-file stats answer: stuck values
    and NaN runs, joined across files from the runs each file's stats list (a file's
    points are read only where its stats are missing or their list was cut). "full"
    adds spikes, which scores every point on rolling medians (some 40 s for 52 M
    points), so verify runs it only when asked (`verify(..., quality="full")`,
    `hfdata verify --quality full`); `Store.quality` runs every check."""
    if mode not in VERIFY_CHECKS:
        raise InvalidArgument(
            f"quality must be one of {', '.join(VERIFY_QUALITY)}, got {mode!r}",
            argument="quality",
        )
    options = QualityOptions(settings, checks=VERIFY_CHECKS[mode])
    out: list[str] = []
    for variable in variables:
        try:
            frame = quality(root, parts, settings, [variable], options)
        except (HfdataError, OSError, pa.ArrowException):
            continue  # an unreadable variable: verify reports why as an error itself
        for (name, check), rows in frame.groupby(["variable", "check"], sort=False):
            first = rows.iloc[0]
            more = f" ({len(rows):,} findings; Store.quality lists them)" if len(rows) > 1 else ""
            out.append(
                f"{name}: {check} from {first['start']} to {first['end']}: {first['detail']}{more}"
            )
    return out
