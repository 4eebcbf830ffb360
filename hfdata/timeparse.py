"""Every accepted timestamp form to UTC nanoseconds since the epoch, and back. Pure.

Accepted: `datetime` (aware converted to UTC; naive taken in the store's
`naive_timezone`), `pandas.Timestamp`, `numpy.datetime64`, ISO-8601 / RFC 3339
strings with 0-9 fractional digits (the original module's `isoformat()` output
included), and bare numbers only when an `epoch_unit` is given. Anything outside
the int64 nanosecond range (1677-09-21 .. 2262-04-11) is an `InvalidTimestamp`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt
import pandas as pd

from hfdata.errors import InvalidTimestamp

__all__ = [
    "EPOCH_UNITS",
    "NS_MAX",
    "NS_MIN",
    "EpochUnit",
    "TimeRules",
    "format_ns",
    "resolve_timezone",
    "to_ns",
    "to_ns_array",
]

EpochUnit = Literal["s", "ms", "us", "ns"]
EPOCH_UNITS: Final = ("s", "ms", "us", "ns")
_UNIT_NS: Final = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
NS_MIN: Final = -(2**63) + 1  # -2**63 is NaT
NS_MAX: Final = 2**63 - 1
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE: Final = datetime(1970, 1, 1)
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?"
)


class TimeRules:
    """How a store interprets naive times and bare numbers."""

    __slots__ = ("epoch_unit", "naive_is_utc", "naive_tz")

    def __init__(self, naive_timezone: str = "UTC", epoch_unit: EpochUnit | None = None) -> None:
        self.naive_tz: tzinfo = resolve_timezone(naive_timezone)
        self.naive_is_utc: bool = self.naive_tz is UTC
        if epoch_unit is not None and epoch_unit not in EPOCH_UNITS:
            raise ValueError(f"epoch_unit must be one of {EPOCH_UNITS} or None, got {epoch_unit!r}")
        self.epoch_unit: EpochUnit | None = epoch_unit


def resolve_timezone(name: str) -> tzinfo:
    """`"UTC"` or an IANA zone name to a tzinfo; a clear `ValueError` otherwise."""
    if name.upper() in ("UTC", "Z", "ETC/UTC"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"naive_timezone {name!r} is not a known IANA time zone (e.g. 'UTC', 'Europe/Berlin')"
        ) from exc


def _check(ns: int, original: object) -> int:
    if not NS_MIN <= ns <= NS_MAX:
        raise InvalidTimestamp(
            f"timestamp {original!r} is outside the nanosecond range "
            "1677-09-21 .. 2262-04-11 that pandas and Arrow can hold"
        )
    return ns


def _datetime_ns(dt: datetime, rules: TimeRules) -> int:
    if dt.tzinfo is None or dt.utcoffset() is None:
        if rules.naive_is_utc:
            delta = dt.replace(tzinfo=None) - _EPOCH_NAIVE
        else:
            delta = dt.replace(tzinfo=rules.naive_tz) - _EPOCH
    else:
        delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _parse_string(text: str, rules: TimeRules) -> int:
    m = _RFC3339.fullmatch(text.strip())
    if m is None:
        try:
            ts = pd.Timestamp(text)
        except (ValueError, TypeError, OverflowError) as exc:
            raise InvalidTimestamp(
                f"cannot parse timestamp {text!r}; use ISO-8601 such as "
                "'2026-11-26T11:35:11.123456Z'"
            ) from exc
        if pd.isna(ts):
            raise InvalidTimestamp(f"timestamp {text!r} is NaT (not a time)")
        return _pandas_ns(ts, rules, text)
    year, month, day, hour, minute, second, frac, zone = m.groups()
    try:
        base = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError as exc:
        raise InvalidTimestamp(f"timestamp {text!r} is not a real date or time: {exc}") from exc
    if zone is None:
        ns = _datetime_ns(base, rules)
    else:
        if zone in ("Z", "z"):
            offset = 0
        else:
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            hours, minutes = int(digits[:2]), int(digits[2:] or 0)
            if hours > 23 or minutes > 59:
                raise InvalidTimestamp(f"timestamp {text!r} has an impossible UTC offset")
            offset = sign * (hours * 3600 + minutes * 60)
        delta = base - _EPOCH_NAIVE
        ns = (delta.days * 86_400 + delta.seconds - offset) * 1_000_000_000
    if frac:
        ns += int(frac.ljust(9, "0"))
    return _check(ns, text)


def _pandas_ns(ts: pd.Timestamp, rules: TimeRules, original: object) -> int:
    if ts.tzinfo is None:
        try:
            ts = ts.tz_localize(rules.naive_tz)
        except (ValueError, OverflowError) as exc:
            raise InvalidTimestamp(f"timestamp {original!r}: {exc}") from exc
    try:
        return _check(int(ts.as_unit("ns").value), original)
    except (ValueError, OverflowError) as exc:  # OutOfBoundsDatetime is a ValueError
        raise InvalidTimestamp(
            f"timestamp {original!r} is outside the nanosecond range 1677-09-21 .. 2262-04-11"
        ) from exc


def _datetime64_ns(value: np.datetime64, rules: TimeRules) -> int:
    if np.isnat(value):
        raise InvalidTimestamp("timestamp is NaT (not a time)")
    unit, count = np.datetime_data(value.dtype)
    if unit in ("Y", "M", "W", "D", "h", "m", "s"):
        seconds = int(value.astype("datetime64[s]").astype(np.int64))
        ns = seconds * 1_000_000_000
    else:
        factor = {"ms": 1_000_000, "us": 1_000, "ns": 1}.get(unit)
        if factor is None:  # ps, fs, as: finer than we keep
            ns = int(value.astype("datetime64[ns]").astype(np.int64))
        else:
            ns = int(value.astype(np.int64)) * factor * count
    if not rules.naive_is_utc:
        ns = _pandas_ns(pd.Timestamp(ns, unit="ns"), rules, value)
    return _check(ns, value)


def to_ns(value: object, rules: TimeRules) -> int:
    """One timestamp in any accepted form to UTC nanoseconds, or `InvalidTimestamp`."""
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            raise InvalidTimestamp("timestamp is NaT (not a time)")
        return _pandas_ns(value, rules, value)
    if isinstance(value, datetime):
        return _check(_datetime_ns(value, rules), value)
    if isinstance(value, str):
        return _parse_string(value, rules)
    if isinstance(value, np.datetime64):
        return _datetime64_ns(value, rules)
    if isinstance(value, bool | np.bool_):
        raise InvalidTimestamp(f"a boolean ({value!r}) is not a timestamp")
    if isinstance(value, int | float | np.integer | np.floating):
        if rules.epoch_unit is None:
            raise InvalidTimestamp(
                f"bare number {value!r} is ambiguous as a timestamp; pass a datetime or an "
                "ISO-8601 string, or open the store with epoch_unit='s'|'ms'|'us'|'ns'"
            )
        if isinstance(value, float | np.floating) and not np.isfinite(value):
            raise InvalidTimestamp(f"timestamp {value!r} is not a finite number")
        scaled = (
            int(value) * _UNIT_NS[rules.epoch_unit]
            if isinstance(value, int | np.integer)
            else round(float(value) * _UNIT_NS[rules.epoch_unit])
        )
        return _check(scaled, value)
    raise InvalidTimestamp(
        f"cannot use {type(value).__name__} {value!r} as a timestamp; pass a datetime, "
        "pandas.Timestamp, numpy.datetime64 or ISO-8601 string"
    )


def format_ns(ns: int) -> str:
    """RFC 3339 UTC text for nanoseconds: 0, 3, 6 or 9 fractional digits, `Z` suffix."""
    seconds, frac = divmod(ns, 1_000_000_000)
    text = (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    if frac == 0:
        return text + "Z"
    if frac % 1_000_000 == 0:
        return f"{text}.{frac // 1_000_000:03d}Z"
    if frac % 1_000 == 0:
        return f"{text}.{frac // 1_000:06d}Z"
    return f"{text}.{frac:09d}Z"


def to_ns_array(values: Any, rules: TimeRules) -> npt.NDArray[np.int64]:
    """A column of timestamps (pandas, numpy, Arrow, polars, list) to int64 UTC nanoseconds.

    Vectorised for datetime columns; falls back to `to_ns` per element (with the row
    number in the error) for object columns such as mixed strings.
    """
    import pyarrow as pa

    try:
        import polars as pl

        if isinstance(values, pl.Series):
            values = (
                pd.Series(values.to_list(), dtype=object)
                if values.dtype == pl.Object
                else values.to_arrow()
            )
    except ImportError:  # pragma: no cover - polars is a core dependency
        pass
    if isinstance(values, pa.ChunkedArray | pa.Array):
        if pa.types.is_timestamp(values.type):
            values = pd.Series(values.to_pandas())
        else:
            values = pd.Series(values.to_pylist(), dtype=object)
    if isinstance(values, pd.Index | np.ndarray | list | tuple):
        values = pd.Series(values)
    if not isinstance(values, pd.Series):
        raise InvalidTimestamp(f"cannot read timestamps from {type(values).__name__}")
    dtype = values.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if values.isna().any():
            row = int(np.flatnonzero(values.isna().to_numpy())[0])
            raise InvalidTimestamp(f"timestamp at row {row} is missing (NaT)")
        try:
            series = values.dt.as_unit("ns")
        except (ValueError, OverflowError) as exc:
            raise InvalidTimestamp(
                "a timestamp is outside the nanosecond range 1677-09-21 .. 2262-04-11"
            ) from exc
        if series.dt.tz is None:
            if rules.naive_is_utc:
                return series.to_numpy().view(np.int64).copy()
            try:
                series = series.dt.tz_localize(rules.naive_tz)
            except (ValueError, OverflowError) as exc:
                raise InvalidTimestamp(f"cannot localize naive timestamps: {exc}") from exc
        utc = series.dt.tz_convert("UTC").dt.tz_localize(None)
        return np.asarray(utc.to_numpy().view(np.int64), dtype=np.int64).copy()
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if numeric and rules.epoch_unit is None:
        raise InvalidTimestamp(
            "timestamps are bare numbers, which are ambiguous; convert them to datetimes "
            "or open the store with epoch_unit='s'|'ms'|'us'|'ns'"
        )
    out = np.empty(len(values), dtype=np.int64)
    for row, item in enumerate(values.tolist()):
        try:
            out[row] = to_ns(item, rules)
        except InvalidTimestamp as exc:
            raise InvalidTimestamp(f"timestamp at row {row}: {exc}") from exc
    return out
