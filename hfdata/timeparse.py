"""Every accepted timestamp form to UTC nanoseconds since the epoch, and back. Pure.

Accepted: `datetime` (aware converted to UTC; naive taken in the store's
`naive_timezone`), `pandas.Timestamp`, `numpy.datetime64`, unambiguous ISO-8601 /
RFC 3339 strings (see `ISO_FORMS`; the original module's `isoformat()` output
included), strings in a caller's strftime `timestamp_format`, and bare numbers only
when an `epoch_unit` is given. Nothing is guessed: any other string is an
`InvalidTimestamp`. A naive time that does not exist in the zone (the spring-forward
gap) or exists twice (the autumn fold) is refused unless the store chose pandas'
`tz_localize` rule for it (`nonexistent=`, `ambiguous=`); scalars and columns share
one implementation (`localize_ns`), so both give the same nanoseconds. Anything
outside the int64 nanosecond range (1677-09-21 .. 2262-04-11) is an `InvalidTimestamp`.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt
import pandas as pd

from hfdata.errors import InvalidTimestamp

__all__ = [
    "AMBIGUOUS_CHOICES",
    "EPOCH_UNITS",
    "ISO_FORMS",
    "NONEXISTENT_CHOICES",
    "NS_MAX",
    "NS_MIN",
    "Ambiguous",
    "EpochUnit",
    "Nonexistent",
    "Spelling",
    "TimeRules",
    "check_dst_options",
    "epoch_text_ns",
    "format_ns",
    "localize_ns",
    "resolve_timezone",
    "to_ns",
    "to_ns_array",
]

EpochUnit = Literal["s", "ms", "us", "ns"]
Nonexistent = str | timedelta  # "raise", "shift_forward", "shift_backward" or a timedelta
Ambiguous = str | bool  # "raise", "infer", True (daylight time) or False (standard time)
Spelling = Literal["python", "cli"]  # whose terms error messages use
EPOCH_UNITS: Final = ("s", "ms", "us", "ns")
NONEXISTENT_CHOICES: Final = ("raise", "shift_forward", "shift_backward")
AMBIGUOUS_CHOICES: Final = ("raise", "infer")
ISO_FORMS: Final = (
    "YYYY-MM-DD, or YYYY-MM-DD HH:MM[:SS[.fraction]] with 'T' or a space between date "
    "and time and 1-9 fractional digits after '.' or ',', optionally followed by 'Z' or "
    "a UTC offset +HH:MM, +HHMM or +HH"
)
_UNIT_NS: Final = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
NS_MIN: Final = -(2**63) + 1  # -2**63 is NaT
NS_MAX: Final = 2**63 - 1
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE: Final = datetime(1970, 1, 1)
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?"
)
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_OPTIONS: Final = {  # how an option is named in each caller's terms
    "python": {
        "epoch_unit": "epoch_unit='s'|'ms'|'us'|'ns' (append_many, or open_store at creation)",
        "timestamp_format": "timestamp_format= (strftime, e.g. '%d/%m/%Y %H:%M')",
        "nonexistent": "open_store(..., nonexistent='shift_forward'|'shift_backward'|a "
        "timedelta) when the store is created",
        "ambiguous": "open_store(..., ambiguous=True (daylight time)|False (standard time)|"
        "'infer' (batches in time order)) when the store is created",
    },
    "cli": {
        "epoch_unit": "--epoch-unit s|ms|us|ns",
        "timestamp_format": "--timestamp-format FMT (strftime, e.g. '%d/%m/%Y %H:%M')",
        "nonexistent": "a store created by 'hfdata init --nonexistent shift_forward|"
        "shift_backward|DURATION'",
        "ambiguous": "a store created by 'hfdata init --ambiguous dst|standard|infer'",
    },
}


def check_dst_options(nonexistent: object, ambiguous: object) -> None:
    """`ValueError` unless both are values pandas' `tz_localize` takes that keep every
    point ("NaT" is refused: it would store missing timestamps)."""
    if nonexistent == "NaT" or ambiguous == "NaT":
        raise ValueError(
            "nonexistent='NaT' and ambiguous='NaT' are not accepted: they would store "
            "missing timestamps. Use 'raise' (the default) or a rule that picks a time"
        )
    if isinstance(nonexistent, timedelta):
        if not nonexistent:
            raise ValueError("nonexistent as a timedelta must not be zero")
    elif nonexistent not in NONEXISTENT_CHOICES:
        raise ValueError(
            f"nonexistent must be one of {NONEXISTENT_CHOICES} or a timedelta, got {nonexistent!r}"
        )
    if not isinstance(ambiguous, bool) and ambiguous not in AMBIGUOUS_CHOICES:
        raise ValueError(
            f"ambiguous must be one of {AMBIGUOUS_CHOICES}, True (daylight time) or False "
            f"(standard time), got {ambiguous!r}"
        )


class TimeRules:
    """How a store interprets naive times and bare numbers, plus a call's own options
    (`epoch_unit`, `timestamp_format`) and whose terms (`spelling`) errors speak.

    `takes_format` says whether the caller has a `timestamp_format` option at all
    (`append_many`, `hfdata ingest`); only then does an unparsable string's error point
    to it. A read's `start`, `end` or `as_of`, or a single `append`, has none."""

    __slots__ = (
        "ambiguous",
        "epoch_unit",
        "naive_is_utc",
        "naive_tz",
        "nonexistent",
        "spelling",
        "takes_format",
        "timestamp_format",
        "zone_name",
    )

    def __init__(
        self,
        naive_timezone: str = "UTC",
        epoch_unit: EpochUnit | None = None,
        *,
        nonexistent: Nonexistent = "raise",
        ambiguous: Ambiguous = "raise",
        timestamp_format: str | None = None,
        spelling: Spelling = "python",
        takes_format: bool = False,
    ) -> None:
        self.naive_tz: tzinfo = resolve_timezone(naive_timezone)
        self.zone_name = naive_timezone
        self.naive_is_utc: bool = self.naive_tz is UTC
        check_dst_options(nonexistent, ambiguous)
        self.nonexistent = nonexistent
        self.ambiguous = ambiguous
        self.spelling: Spelling = spelling
        self.takes_format = takes_format or timestamp_format is not None
        self.epoch_unit: EpochUnit | None = None
        self.timestamp_format: str | None = None
        self._set_call_options(epoch_unit, timestamp_format)

    def _set_call_options(self, epoch_unit: object, timestamp_format: object) -> None:
        if epoch_unit is not None and epoch_unit not in EPOCH_UNITS:
            raise ValueError(f"epoch_unit must be one of {EPOCH_UNITS} or None, got {epoch_unit!r}")
        if timestamp_format is not None and (
            not isinstance(timestamp_format, str) or "%" not in timestamp_format
        ):
            raise ValueError(
                "timestamp_format must be a strftime format string such as '%d/%m/%Y %H:%M', "
                f"got {timestamp_format!r}"
            )
        self.epoch_unit = epoch_unit
        self.timestamp_format = timestamp_format

    def with_call(
        self, *, epoch_unit: EpochUnit | None = None, timestamp_format: str | None = None
    ) -> TimeRules:
        """These rules for a call that takes `epoch_unit` / `timestamp_format` (None: the
        store's): `takes_format` is set, so an unparsable string's error names the option."""
        rules = object.__new__(TimeRules)
        for name in TimeRules.__slots__:
            setattr(rules, name, getattr(self, name))
        rules.takes_format = True
        rules._set_call_options(
            epoch_unit or self.epoch_unit, timestamp_format or self.timestamp_format
        )
        return rules

    def option(self, name: str) -> str:
        """How to name option `name` in this caller's terms (for error messages)."""
        return _OPTIONS[self.spelling][name]


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


def _delta_ns(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


# -- naive local times: one rule for scalars and columns -----------------------------------------
def _wall(local_ns: int) -> datetime:
    return _EPOCH_NAIVE + timedelta(microseconds=local_ns // 1_000)


def _is_gap(wall: datetime, zone: tzinfo) -> bool:
    """For a wall time whose two folds disagree: True in a gap (offset grows), False in a fold."""
    before = wall.replace(tzinfo=zone).utcoffset()
    after = wall.replace(tzinfo=zone, fold=1).utcoffset()
    assert before is not None and after is not None
    return before < after


def _localize_one(local_ns: int, rules: TimeRules, original: object, wall: datetime | None) -> int:
    """A naive wall time (as nanoseconds) to UTC under the store's rules.

    The common case (the zone's offset is the same in both folds) costs two
    `utcoffset` calls; a gap or fold goes through `localize_ns`, as a column would.
    """
    if rules.naive_is_utc:
        return _check(local_ns, original)
    if wall is None:
        wall = _wall(local_ns)
    zone = rules.naive_tz
    offset = wall.replace(tzinfo=zone).utcoffset()
    assert offset is not None
    if offset == wall.replace(tzinfo=zone, fold=1).utcoffset():
        return _check(local_ns - _delta_ns(offset), original)
    if rules.ambiguous == "infer" and not _is_gap(wall, zone):
        raise InvalidTimestamp(
            f"timestamp {original!r:.60} is ambiguous in {rules.zone_name}: it occurs twice "
            "when daylight saving time ends, and ambiguous='infer' can only tell which from "
            "the neighbouring points of a batch; append it in a batch with its neighbours, "
            "or give it with a UTC offset"
        )
    return int(localize_ns(np.array([local_ns], dtype=np.int64), rules, None)[0])


def localize_ns(
    local: npt.NDArray[np.int64], rules: TimeRules, rows: npt.NDArray[np.int64] | None
) -> npt.NDArray[np.int64]:
    """Naive wall times (nanoseconds) to UTC nanoseconds under the store's zone and its
    `nonexistent` / `ambiguous` rules (pandas' `tz_localize`, which every path uses).

    `rows` numbers the entries for error messages (None: a single point).
    """
    if rules.naive_is_utc:
        return local
    index = pd.DatetimeIndex(local.view("datetime64[ns]"))
    ambiguous: Any = rules.ambiguous
    if isinstance(ambiguous, bool):
        ambiguous = np.full(len(local), ambiguous)
    try:
        nonexistent: Any = rules.nonexistent
        placed = index.tz_localize(rules.naive_tz, ambiguous=ambiguous, nonexistent=nonexistent)
    except (ValueError, OverflowError) as exc:  # pandas' DST and bounds errors are ValueErrors
        raise _dst_error(local, rules, rows, exc) from exc
    return np.asarray(placed.asi8, dtype=np.int64).copy()


def _fails_alone(local_ns: int, rules: TimeRules) -> bool:
    """Whether a time in a gap or fold is one the store's rules refuse (the error names
    it rather than a time its rule placed); "infer" counts as refusing here."""
    if not _is_gap(_wall(local_ns), rules.naive_tz):
        return not isinstance(rules.ambiguous, bool)
    if not isinstance(rules.nonexistent, timedelta):
        return rules.nonexistent == "raise"
    index = pd.DatetimeIndex(np.array([local_ns], dtype="datetime64[ns]"))
    try:
        index.tz_localize(rules.naive_tz, nonexistent=rules.nonexistent)
    except ValueError:
        return True
    return False


def _dst_error(
    local: npt.NDArray[np.int64],
    rules: TimeRules,
    rows: npt.NDArray[np.int64] | None,
    exc: Exception,
) -> InvalidTimestamp:
    """The error naming the first time that could not be placed, and the way out."""
    index = pd.DatetimeIndex(local.view("datetime64[ns]"))
    try:
        probe = index.tz_localize(rules.naive_tz, ambiguous="NaT", nonexistent="NaT")
        bad = np.flatnonzero(probe.isna())
    except (ValueError, OverflowError):
        bad = np.empty(0, dtype=np.int64)
    if len(bad) == 0:
        return InvalidTimestamp(
            f"cannot place naive timestamps in {rules.zone_name}: {exc}; a timestamp may be "
            "outside the nanosecond range 1677-09-21 .. 2262-04-11"
        )
    at = next((int(i) for i in bad if _fails_alone(int(local[i]), rules)), int(bad[0]))
    where = "" if rows is None else f" at row {int(rows[at])}"
    text = format_ns(int(local[at]))[:-1]
    if _is_gap(_wall(int(local[at])), rules.naive_tz):
        if isinstance(rules.nonexistent, timedelta):
            return InvalidTimestamp(
                f"timestamp {text}{where} does not exist in {rules.zone_name}, and shifting it "
                f"by nonexistent={rules.nonexistent} lands on another nonexistent time ({exc})"
            )
        return InvalidTimestamp(
            f"timestamp {text}{where} does not exist in {rules.zone_name}: the clocks skip it "
            "when daylight saving time starts. Give it with a UTC offset, or use "
            + rules.option("nonexistent")
        )
    reason = (
        f"; ambiguous='infer' could not tell which occurrence is meant ({exc})"
        if rules.ambiguous == "infer"
        else ". Give it with a UTC offset, or use " + rules.option("ambiguous")
    )
    return InvalidTimestamp(
        f"timestamp {text}{where} is ambiguous in {rules.zone_name}: it occurs twice when "
        f"daylight saving time ends{reason}"
    )


# -- strings ---------------------------------------------------------------------------------------
def _not_iso(text: str, rules: TimeRules) -> InvalidTimestamp:
    if _NUMBER.fullmatch(text.strip()):
        return _bare_number(text, rules, in_text=True)
    other = (
        f"; for another format pass {rules.option('timestamp_format')}"
        if rules.takes_format
        else ""
    )
    return InvalidTimestamp(
        f"cannot parse timestamp {text!r:.60}: the accepted ISO-8601 forms are {ISO_FORMS}{other}"
    )


def _bare_number(value: object, rules: TimeRules, *, in_text: bool) -> InvalidTimestamp:
    """A number where a time was expected: ambiguous without an epoch unit."""
    how = (
        f"pass a datetime or an ISO-8601 string, or {'numbers (not text)' if in_text else 'it'} "
        f"with {rules.option('epoch_unit')},"
        if rules.spelling == "python"
        else f"pass {rules.option('epoch_unit')}"
    )
    return InvalidTimestamp(
        f"cannot parse timestamp {value!r:.60}: a bare number is ambiguous as a time; {how} "
        "to read it as time since 1970-01-01 UTC"
    )


def _parse_string(text: str, rules: TimeRules) -> tuple[int, bool]:
    """(nanoseconds, naive) for an ISO-8601 string: naive ones are local wall times."""
    m = _ISO.fullmatch(text.strip())
    if m is None:
        raise _not_iso(text, rules)
    year, month, day, hour, minute, second, frac, zone = m.groups()
    try:
        base = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError as exc:
        raise InvalidTimestamp(f"timestamp {text!r} is not a real date or time: {exc}") from exc
    delta = base - _EPOCH_NAIVE
    ns = (delta.days * 86_400 + delta.seconds) * 1_000_000_000
    if frac:
        ns += int(frac.ljust(9, "0"))
    if zone is None:
        return ns, True
    if zone in ("Z", "z"):
        return ns, False
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise InvalidTimestamp(f"timestamp {text!r} has an impossible UTC offset")
    return ns - sign * (hours * 3600 + minutes * 60) * 1_000_000_000, False


def _parse_formatted(
    texts: Sequence[str], rules: TimeRules, rows: npt.NDArray[np.int64] | None
) -> tuple[npt.NDArray[np.int64], bool]:
    """(nanoseconds, naive) for strings in the caller's strftime `timestamp_format`,
    vectorised by pandas (`exact`: the whole string must match). With `%z` every string
    carries its offset and the result is UTC; without, they are local wall times."""
    fmt = rules.timestamp_format
    assert fmt is not None
    name = "--timestamp-format" if rules.spelling == "cli" else "timestamp_format"
    aware = "%z" in fmt or "%Z" in fmt
    try:
        parsed = pd.to_datetime(
            pd.Series(texts, dtype=object), format=fmt, exact=True, errors="coerce", utc=aware
        )
    except (ValueError, TypeError) as exc:
        raise InvalidTimestamp(f"{name} {fmt!r} cannot be used: {exc}") from exc
    missing = np.flatnonzero(parsed.isna().to_numpy())
    if len(missing):
        at = int(missing[0])
        where = "" if rows is None else f" at row {int(rows[at])}"
        raise InvalidTimestamp(
            f"timestamp {texts[at]!r:.60}{where} does not match {name} {fmt!r} "
            "(or is outside 1677-09-21 .. 2262-04-11)"
        )
    try:
        values = parsed.dt.tz_localize(None) if aware else parsed
        ns = values.dt.as_unit("ns").to_numpy().view(np.int64).copy()
    except (ValueError, OverflowError) as exc:
        raise InvalidTimestamp(
            "a timestamp is outside the nanosecond range 1677-09-21 .. 2262-04-11"
        ) from exc
    return ns, not aware


def _parse_formatted_one(text: str, rules: TimeRules) -> tuple[int, bool]:
    """`_parse_formatted` for one string (the per-line CLI parser): the same pandas
    parser with the same arguments, without building a column for each line."""
    fmt = rules.timestamp_format
    assert fmt is not None
    aware = "%z" in fmt or "%Z" in fmt
    try:
        parsed = pd.to_datetime(text, format=fmt, exact=True, utc=aware)
        if pd.isna(parsed):
            raise ValueError("NaT")
        return int(parsed.as_unit("ns").value), not aware
    except (ValueError, TypeError, OverflowError):
        # the column parser words the error (format, range) as for a batch
        ns, naive = _parse_formatted([text], rules, None)
        return int(ns[0]), naive  # pragma: no cover - it raises for what failed here


# -- one value -------------------------------------------------------------------------------------
def _to_local(value: object, rules: TimeRules) -> tuple[int, bool]:
    """(nanoseconds, naive) for one timestamp: naive results are local wall times that
    `_localize_one` / `localize_ns` place in the store's zone."""
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            raise InvalidTimestamp("timestamp is NaT (not a time)")
        try:
            return int(value.as_unit("ns").value), value.tzinfo is None
        except (ValueError, OverflowError) as exc:  # OutOfBoundsDatetime is a ValueError
            raise InvalidTimestamp(
                f"timestamp {value!r} is outside the nanosecond range 1677-09-21 .. 2262-04-11"
            ) from exc
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            return _delta_ns(value.replace(tzinfo=None) - _EPOCH_NAIVE), True
        return _delta_ns(value - _EPOCH), False
    if isinstance(value, str):
        if rules.timestamp_format is not None:
            return _parse_formatted_one(value, rules)
        return _parse_string(value, rules)
    if isinstance(value, np.datetime64):
        return _datetime64_ns(value), True
    if isinstance(value, bool | np.bool_):
        raise InvalidTimestamp(f"a boolean ({value!r}) is not a timestamp")
    if isinstance(value, int | float | np.integer | np.floating):
        return _epoch_ns(value, rules), False
    raise InvalidTimestamp(
        f"cannot use {type(value).__name__} {value!r:.60} as a timestamp; pass a datetime, "
        "pandas.Timestamp, numpy.datetime64 or ISO-8601 string"
    )


def _epoch_ns(value: float | np.integer[Any] | np.floating[Any], rules: TimeRules) -> int:
    if rules.epoch_unit is None:
        raise _bare_number(value, rules, in_text=False)
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        raise InvalidTimestamp(f"timestamp {value!r} is not a finite number")
    return (
        int(value) * _UNIT_NS[rules.epoch_unit]
        if isinstance(value, int | np.integer)
        else round(float(value) * _UNIT_NS[rules.epoch_unit])
    )


_DECIMAL: Final = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
_EXACT: Final = decimal.Context(prec=80, traps=[decimal.InvalidOperation])


def epoch_text_ns(text: str, rules: TimeRules) -> int | None:
    """A decimal number written as text (a CSV cell such as `8.54790319355`) in the rules'
    `epoch_unit`, to the nearest nanosecond of its exact value; None if it is no number.

    Going through a float would move some such times by 1 ns (the product of a binary
    float and the unit is rounded twice); the text holds the exact value, so use it.
    """
    if rules.epoch_unit is None or _DECIMAL.fullmatch(text) is None:
        return None
    exact = _EXACT.multiply(decimal.Decimal(text.strip()), _UNIT_NS[rules.epoch_unit])
    if (
        not exact.is_finite() or exact.adjusted() > 19
    ):  # beyond int64 whatever the digits (and no huge int built)
        return _check(NS_MAX + 1, text)
    return _check(int(exact.to_integral_value(decimal.ROUND_HALF_EVEN)), text)


def _datetime64_ns(value: np.datetime64) -> int:
    if np.isnat(value):
        raise InvalidTimestamp("timestamp is NaT (not a time)")
    unit, count = np.datetime_data(value.dtype)
    if unit in ("Y", "M", "W", "D", "h", "m", "s"):
        return int(value.astype("datetime64[s]").astype(np.int64)) * 1_000_000_000
    factor = {"ms": 1_000_000, "us": 1_000, "ns": 1}.get(unit)
    if factor is None:  # ps, fs, as: finer than we keep
        return int(value.astype("datetime64[ns]").astype(np.int64))
    return int(value.astype(np.int64)) * factor * count


def to_ns(value: object, rules: TimeRules) -> int:
    """One timestamp in any accepted form to UTC nanoseconds, or `InvalidTimestamp`."""
    ns, naive = _to_local(value, rules)
    if not naive:
        return _check(ns, value)
    wall = value.replace(tzinfo=None) if type(value) is datetime else None
    return _localize_one(ns, rules, value, wall)


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

    Vectorised for datetime and numeric columns and for strings in a `timestamp_format`;
    other object and string columns are parsed per element (with the row number in the
    error). Naive times are placed in the store's zone together, by `localize_ns`.
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
            local = series.to_numpy().view(np.int64).copy()
            return localize_ns(local, rules, np.arange(len(local), dtype=np.int64))
        utc = series.dt.tz_convert("UTC").dt.tz_localize(None)
        return np.asarray(utc.to_numpy().view(np.int64), dtype=np.int64).copy()
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if numeric and rules.epoch_unit is None:
        raise InvalidTimestamp(
            "timestamps are bare numbers, which are ambiguous; convert them to datetimes "
            f"or pass {rules.option('epoch_unit')}"
        )
    return _object_ns(values.tolist(), rules)


def _object_ns(items: list[Any], rules: TimeRules) -> npt.NDArray[np.int64]:
    """Per-element parsing of a mixed column; strings in one vectorised call when a
    `timestamp_format` is given; then the naive entries placed in the zone at once."""
    out = np.empty(len(items), dtype=np.int64)
    naive = np.zeros(len(items), dtype=bool)
    texts: list[int] = []
    for row, item in enumerate(items):
        if rules.timestamp_format is not None and isinstance(item, str):
            texts.append(row)
            continue
        try:
            ns, naive[row] = _to_local(item, rules)
            out[row] = _check(ns, item)
        except InvalidTimestamp as exc:
            raise InvalidTimestamp(f"timestamp at row {row}: {exc}") from exc
    if texts:
        rows = np.asarray(texts, dtype=np.int64)
        parsed, local = _parse_formatted([items[r] for r in texts], rules, rows)
        out[rows], naive[rows] = parsed, local
    if naive.any() and not rules.naive_is_utc:
        rows = np.flatnonzero(naive)
        out[rows] = localize_ns(out[rows], rules, rows)
    return out
