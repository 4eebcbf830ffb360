"""Every accepted timestamp form to UTC nanoseconds, and the text written to the log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hfdata.errors import InvalidTimestamp
from hfdata.timeparse import NS_MAX, NS_MIN, TimeRules, format_ns, to_ns, to_ns_array

UTC_RULES = TimeRules()
BASE = 1_764_156_911_123_456_789  # 2025-11-26T11:35:11.123456789Z


@pytest.mark.parametrize(
    "value",
    [
        "2025-11-26T11:35:11.123456789Z",
        "2025-11-26T11:35:11.123456789+00:00",
        "2025-11-26 11:35:11.123456789",
        "2025-11-26T12:35:11.123456789+01:00",
        "2025-11-26T06:35:11.123456789-05:00",
        "2025-11-26t11:35:11.123456789z",
        pd.Timestamp("2025-11-26T11:35:11.123456789Z"),
        pd.Timestamp("2025-11-26T12:35:11.123456789").tz_localize("Europe/Berlin"),
        np.datetime64("2025-11-26T11:35:11.123456789"),
    ],
)
def test_forms_agree_to_the_nanosecond(value: object) -> None:
    assert to_ns(value, UTC_RULES) == BASE


def test_datetimes_keep_microseconds() -> None:
    aware = datetime(2025, 11, 26, 11, 35, 11, 123456, tzinfo=UTC)
    naive = aware.replace(tzinfo=None)
    berlin = aware.astimezone(ZoneInfo("Europe/Berlin"))
    expected = BASE - 789
    assert to_ns(aware, UTC_RULES) == expected
    assert to_ns(naive, UTC_RULES) == expected
    assert to_ns(berlin, UTC_RULES) == expected
    assert to_ns(aware.isoformat(), UTC_RULES) == expected
    assert to_ns(naive.isoformat(), UTC_RULES) == expected


def test_naive_timezone_applies_to_naive_inputs_only() -> None:
    rules = TimeRules("Europe/Berlin")
    naive = datetime(2025, 11, 26, 12, 0)
    assert to_ns(naive, rules) == to_ns("2025-11-26T11:00:00Z", UTC_RULES)
    assert to_ns("2025-11-26T12:00:00", rules) == to_ns("2025-11-26T11:00:00Z", UTC_RULES)
    assert to_ns(np.datetime64("2025-11-26T12:00"), rules) == to_ns("2025-11-26T11:00Z", rules)
    assert to_ns("2025-11-26T12:00:00Z", rules) == to_ns("2025-11-26T12:00:00Z", UTC_RULES)


def test_fractional_digits_zero_to_nine() -> None:
    for digits in range(10):
        frac = "123456789"[:digits]
        text = "2025-11-26T11:35:11" + (f".{frac}" if digits else "") + "Z"
        expected = BASE - 123_456_789 + (int(frac.ljust(9, "0")) if digits else 0)
        assert to_ns(text, UTC_RULES) == expected


def test_date_only_and_minutes() -> None:
    assert to_ns("2025-11-26", UTC_RULES) == to_ns("2025-11-26T00:00:00Z", UTC_RULES)
    assert to_ns("2025-11-26T11:35", UTC_RULES) == to_ns("2025-11-26T11:35:00Z", UTC_RULES)


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2025-13-01T00:00:00Z",
        "2025-02-30",
        "",
        "2025-11-26T11:35:11+25:00",
        "1600-01-01T00:00:00Z",
        "2300-01-01T00:00:00Z",
        datetime(1000, 1, 1),
        datetime(9999, 1, 1, tzinfo=UTC),
        pd.NaT,
        np.datetime64("NaT"),
        np.datetime64("3000-01-01"),
        True,
        1.5,
        1_700_000_000,
        [2025, 1, 1],
        None,
    ],
    ids=repr,
)
def test_refused_timestamps(value: object) -> None:
    with pytest.raises(InvalidTimestamp):
        to_ns(value, UTC_RULES)


def test_bare_numbers_need_epoch_unit() -> None:
    with pytest.raises(InvalidTimestamp, match="epoch_unit"):
        to_ns(1_700_000_000, UTC_RULES)
    assert to_ns(1_700_000_000, TimeRules(epoch_unit="s")) == 1_700_000_000 * 10**9
    assert to_ns(1_700_000_000_123, TimeRules(epoch_unit="ms")) == 1_700_000_000_123 * 10**6
    assert to_ns(np.int64(5), TimeRules(epoch_unit="us")) == 5_000
    assert to_ns(1.5, TimeRules(epoch_unit="s")) == 1_500_000_000
    with pytest.raises(InvalidTimestamp, match="range"):
        to_ns(10**20, TimeRules(epoch_unit="s"))
    with pytest.raises(InvalidTimestamp, match="finite"):
        to_ns(float("nan"), TimeRules(epoch_unit="s"))


def test_range_edges() -> None:
    assert to_ns(np.datetime64(NS_MAX, "ns"), UTC_RULES) == NS_MAX
    assert to_ns(np.datetime64(NS_MIN, "ns"), UTC_RULES) == NS_MIN
    assert to_ns(format_ns(NS_MAX), UTC_RULES) == NS_MAX
    assert to_ns(format_ns(NS_MIN), UTC_RULES) == NS_MIN


def test_unknown_timezone_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="IANA"):
        TimeRules("Mars/Olympus")


@given(st.integers(min_value=NS_MIN, max_value=NS_MAX))
def test_format_round_trips_every_nanosecond(ns: int) -> None:
    text = format_ns(ns)
    assert text.endswith("Z")
    assert to_ns(text, UTC_RULES) == ns
    assert pd.Timestamp(text).value == ns


def test_format_uses_shortest_digit_group() -> None:
    assert format_ns(0) == "1970-01-01T00:00:00Z"
    assert format_ns(1_000_000) == "1970-01-01T00:00:00.001Z"
    assert format_ns(1_000) == "1970-01-01T00:00:00.000001Z"
    assert format_ns(1) == "1970-01-01T00:00:00.000000001Z"


@given(
    st.datetimes(
        min_value=datetime(1678, 1, 1),
        max_value=datetime(2261, 12, 31),
        timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=-7, minutes=-30))]),
    )
)
def test_datetime_agrees_with_pandas(dt: datetime) -> None:
    ts = pd.Timestamp(dt)
    expected = (ts.tz_localize("UTC") if ts.tzinfo is None else ts).as_unit("ns").value
    assert to_ns(dt, UTC_RULES) == expected


def test_array_forms() -> None:
    index = pd.date_range("2025-01-01", periods=4, freq="250ms", tz="UTC")
    expected = index.as_unit("ns").asi8
    naive = index.tz_localize(None)
    for column in (
        index,
        pd.Series(index),
        naive,
        index.tz_convert("America/New_York"),
        pl.Series(index),
        pl.Series(index.to_numpy()),  # object dtype
        pa.array(index.to_numpy()),
        [str(t) for t in index],
        list(index.to_pydatetime()),
        np.array(naive.to_numpy()),
    ):
        assert to_ns_array(column, UTC_RULES).tolist() == expected.tolist()


def test_array_with_bad_row_names_the_row() -> None:
    with pytest.raises(InvalidTimestamp, match="row 1"):
        to_ns_array(["2025-01-01", "bogus"], UTC_RULES)
    with pytest.raises(InvalidTimestamp, match="row 2"):
        to_ns_array(pd.Series(pd.to_datetime(["2025-01-01", "2025-01-02", None])), UTC_RULES)
    with pytest.raises(InvalidTimestamp, match="epoch_unit"):
        to_ns_array(pd.Series([1, 2, 3]), UTC_RULES)
    assert to_ns_array(pd.Series([1, 2]), TimeRules(epoch_unit="ms")).tolist() == [
        1_000_000,
        2_000_000,
    ]


def test_array_naive_timezone() -> None:
    naive = pd.date_range("2025-07-01 12:00", periods=2, freq="h")
    got = to_ns_array(naive, TimeRules("Europe/Berlin"))
    assert got.tolist() == (naive - pd.Timedelta(hours=2)).as_unit("ns").asi8.tolist()
