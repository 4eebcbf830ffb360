"""Every accepted timestamp form to UTC nanoseconds, and the text written to the log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Literal
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
        to_ns_array(
            pd.Series(pd.to_datetime(["2025-01-01", "2025-01-02", None])),  # type: ignore[arg-type]  # pandas-stubs: no None in a list
            UTC_RULES,
        )
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


# -- strict strings (issue 14): only unambiguous ISO-8601, nothing guessed ------------------------
LOOSE = [
    "2000.5",
    "12:30",
    "now",
    "today",
    "08/09/2009",
    "Aug 24 2009 00:20",
    "20090824",
    "2009/08/24",
    "2009-08-24T00:20:00 UTC",
    "24.08.2009",
    "2009-W35",
    "1683",
]


@pytest.mark.parametrize("text", LOOSE)
def test_loose_strings_are_refused_naming_text_and_forms(text: str) -> None:
    with pytest.raises(InvalidTimestamp) as info:
        to_ns(text, UTC_RULES.with_call())  # a caller with a timestamp_format option
    message = str(info.value)
    assert repr(text) in message
    if text.lstrip("-").replace(".", "", 1).isdigit():  # a number in a string
        assert "epoch_unit=" in message
    else:
        assert "YYYY-MM-DD" in message
        assert "timestamp_format=" in message


@pytest.mark.parametrize(
    "column",
    [
        ["2009-08-24T00:20Z", "08/09/2009"],
        pd.Series(["2009-08-24T00:20Z", "08/09/2009"], dtype="string"),
        pd.Series(["2009-08-24T00:20Z", "08/09/2009"], dtype="string[pyarrow]"),
        pa.array(["2009-08-24T00:20Z", "08/09/2009"]),
        pl.Series(["2009-08-24T00:20Z", "08/09/2009"]),
    ],
    ids=["list", "pandas-string", "pandas-pyarrow-string", "arrow", "polars"],
)
def test_loose_strings_in_columns_are_refused_naming_the_row(column: object) -> None:
    with pytest.raises(InvalidTimestamp, match=r"row 1.*'08/09/2009'.*ISO-8601"):
        to_ns_array(column, UTC_RULES)


def test_cli_rules_speak_cli_flags() -> None:
    rules = TimeRules(spelling="cli")
    with pytest.raises(InvalidTimestamp, match="--epoch-unit s\\|ms\\|us\\|ns") as info:
        to_ns("1683", rules)
    assert "epoch_unit=" not in str(info.value)
    with pytest.raises(InvalidTimestamp, match="--timestamp-format"):
        to_ns("08/09/2009", TimeRules(spelling="cli", takes_format=True))
    with pytest.raises(InvalidTimestamp, match="--epoch-unit"):
        to_ns(1683, rules)


def test_the_format_option_is_advised_only_to_callers_that_take_it() -> None:
    """A read's bounds and a single `append` have no `timestamp_format`; `append_many`
    (`with_call`) and `hfdata ingest` (`takes_format=True`) do."""
    for rules in (UTC_RULES, TimeRules(spelling="cli")):
        with pytest.raises(InvalidTimestamp, match="ISO-8601") as info:
            to_ns("08/09/2009", rules)
        assert "format" not in str(info.value).split("ISO-8601", 1)[1]
    with pytest.raises(InvalidTimestamp, match=r"for another format pass timestamp_format="):
        to_ns("08/09/2009", UTC_RULES.with_call())
    with pytest.raises(InvalidTimestamp, match=r"for another format pass --timestamp-format"):
        to_ns("08/09/2009", TimeRules(spelling="cli", takes_format=True))


_ZONES = st.sampled_from(["", "Z", "+01:00", "-0530", "+02", "-00:00"])


@given(
    st.datetimes(min_value=datetime(1678, 1, 2), max_value=datetime(2261, 12, 30)),
    st.integers(min_value=0, max_value=999_999_999),
    st.integers(min_value=0, max_value=9),
    st.sampled_from(["T", " ", "t"]),
    st.sampled_from([".", ","]),
    _ZONES,
)
def test_every_accepted_iso_form_agrees_with_pandas(
    dt: datetime, nanos: int, digits: int, sep: str, mark: str, zone: str
) -> None:
    frac = f"{nanos:09d}"[:digits]
    text = dt.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + (f"{mark}{frac}" if digits else "") + zone
    reference = pd.Timestamp(text.replace(",", ".").replace("t", "T"))
    if reference.tzinfo is None:
        reference = reference.tz_localize("UTC")
    assert to_ns(text, UTC_RULES) == reference.as_unit("ns").value


def test_hours_and_minutes_forms() -> None:
    expected = to_ns("2009-08-24T00:20:00Z", UTC_RULES)
    for text in (
        "2009-08-24T00:20",
        "2009-08-24 00:20",
        "2009-08-24T02:20+02",
        "2009-08-24T02:20+0200",
    ):
        assert to_ns(text, UTC_RULES) == expected


# -- timestamp_format ------------------------------------------------------------------------------
def test_timestamp_format_day_first_scalar_and_column() -> None:
    rules = TimeRules(timestamp_format="%d/%m/%Y %H:%M")
    expected = to_ns("2009-09-08T10:00Z", UTC_RULES)  # 8 September, not 9 August
    assert to_ns("08/09/2009 10:00", rules) == expected
    got = to_ns_array(pd.Series(["08/09/2009 10:00", "09/09/2009 10:00"], dtype="string"), rules)
    assert got.tolist() == [expected, expected + 86_400 * 10**9]
    with pytest.raises(InvalidTimestamp, match=r"'2009-09-08 10:00' at row 1 does not match"):
        to_ns_array(["08/09/2009 10:00", "2009-09-08 10:00"], rules)
    with pytest.raises(InvalidTimestamp, match="does not match timestamp_format"):
        to_ns("08/09/2009 10:00:00", rules)  # exact: the whole string must match


def test_timestamp_format_honours_offsets_and_nanoseconds() -> None:
    rules = TimeRules("Europe/Berlin", timestamp_format="%d.%m.%Y %H:%M:%S.%f%z")
    texts = ["24.08.2009 02:20:00.123456789+0200", "24.08.2009 00:20:00.5Z"]
    assert to_ns_array(texts, rules).tolist() == [
        to_ns("2009-08-24T00:20:00.123456789Z", UTC_RULES),
        to_ns("2009-08-24T00:20:00.5Z", UTC_RULES),
    ]
    assert to_ns(texts[0], rules) == to_ns("2009-08-24T00:20:00.123456789Z", UTC_RULES)


def test_timestamp_format_naive_results_use_the_zone_and_its_dst_rule() -> None:
    rules = TimeRules("Europe/Berlin", timestamp_format="%d/%m/%Y %H:%M")
    assert to_ns("24/08/2009 02:20", rules) == to_ns("2009-08-24T00:20Z", UTC_RULES)
    with pytest.raises(InvalidTimestamp, match="does not exist in Europe/Berlin"):
        to_ns_array(["27/03/2016 01:30", "27/03/2016 02:30"], rules)


@given(
    st.lists(
        st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
        min_size=1,
        max_size=20,
    )
)
def test_timestamp_format_column_agrees_with_pandas(times: list[datetime]) -> None:
    fmt = "%d/%m/%Y %H:%M:%S.%f"
    texts = [t.strftime(fmt) for t in times]
    reference = pd.to_datetime(pd.Series(texts), format=fmt).dt.as_unit("ns").astype("int64")
    rules = TimeRules(timestamp_format=fmt)
    assert to_ns_array(texts, rules).tolist() == reference.tolist()
    assert [to_ns(t, rules) for t in texts] == reference.tolist()


def test_bad_timestamp_format_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="strftime"):
        TimeRules(timestamp_format="dd/mm/yyyy")


# -- daylight saving: one rule for scalars and columns ------------------------------------------
GAP = "2016-03-27T02:30:00"  # Europe/Berlin skips 02:00-03:00
FOLD = "2016-10-30T02:30:00"  # Europe/Berlin has 02:00-03:00 twice


def _forms(text: str) -> list[object]:
    naive = datetime.fromisoformat(text)
    return [naive, text, text.replace("T", " ")[:-3], np.datetime64(text), pd.Timestamp(text)]


@pytest.mark.parametrize("text,what", [(GAP, "does not exist"), (FOLD, "is ambiguous")])
def test_dst_gap_and_fold_are_refused_on_every_path(text: str, what: str) -> None:
    rules = TimeRules("Europe/Berlin")
    pattern = f"{text[:10]}T02:30:00.* {what} in Europe/Berlin.*open_store"
    for value in _forms(text):
        with pytest.raises(InvalidTimestamp, match=pattern):
            to_ns(value, rules)
    columns = [
        pd.Series(pd.to_datetime(["2016-01-01T00:00:00", text])),
        ["2016-01-01T00:00", text],
        pa.array(pd.to_datetime(["2016-01-01T00:00:00", text]).to_numpy()),
    ]
    for column in columns:
        with pytest.raises(InvalidTimestamp, match=f"row 1.*{what} in Europe/Berlin"):
            to_ns_array(column, rules)


def test_nat_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="missing timestamps"):
        TimeRules("Europe/Berlin", nonexistent="NaT")
    with pytest.raises(ValueError, match="missing timestamps"):
        TimeRules("Europe/Berlin", ambiguous="NaT")
    with pytest.raises(ValueError, match="ambiguous must be"):
        TimeRules("Europe/Berlin", ambiguous="first")


def test_infer_needs_a_batch() -> None:
    rules = TimeRules("Europe/Berlin", ambiguous="infer")
    with pytest.raises(InvalidTimestamp, match=r"ambiguous='infer'.*batch"):
        to_ns(FOLD, rules)
    fold = pd.date_range("2016-10-30 01:30", periods=5, freq="30min").tolist()
    fold = [fold[0], fold[1], fold[2], fold[1], fold[2]]  # 02:00, 02:30 twice (DST, then standard)
    texts = [t.isoformat() for t in fold]
    expected = (
        pd.DatetimeIndex(fold).tz_localize("Europe/Berlin", ambiguous="infer").as_unit("ns").asi8
    )
    assert to_ns_array(texts, rules).tolist() == expected.tolist()
    assert to_ns_array(pd.Series(fold), rules).tolist() == expected.tolist()
    with pytest.raises(InvalidTimestamp, match=r"ambiguous in Europe/Berlin.*infer"):
        to_ns_array([FOLD], rules)


_NONEXISTENT = st.sampled_from(
    ["raise", "shift_forward", "shift_backward", timedelta(hours=1), timedelta(minutes=-90)]
)


@given(
    _NONEXISTENT,
    st.sampled_from(["raise", True, False]),
    st.sampled_from(
        ["2016-03-27T02:00", "2016-10-30T02:00", "2016-07-01T12:00", "2016-03-27T01:00"]
    ),
    st.integers(min_value=0, max_value=2 * 3600 * 10**9 - 1),
)
def test_scalars_and_columns_agree_under_every_rule(
    nonexistent: Literal["raise", "shift_forward", "shift_backward"] | timedelta,
    ambiguous: Literal["raise"] | bool,
    around: str,
    offset: int,
) -> None:
    rules = TimeRules("Europe/Berlin", nonexistent=nonexistent, ambiguous=ambiguous)
    local = pd.Timestamp(around) + pd.Timedelta(offset, unit="ns")
    try:
        reference = int(
            pd.DatetimeIndex([local])
            .as_unit("ns")
            .tz_localize(
                "Europe/Berlin",
                nonexistent=nonexistent,
                ambiguous=np.array([ambiguous]) if isinstance(ambiguous, bool) else ambiguous,
            )
            .asi8[0]
        )
    except ValueError:
        reference = None
    text = local.isoformat()
    results: list[int | None] = []
    for value in (
        text,
        local,
        local.to_datetime64(),
        [text],
        pd.Series([local]),
        pl.from_pandas(pd.Series([local])),
    ):
        try:
            if isinstance(value, list | pd.Series | pl.Series):
                results.append(int(to_ns_array(value, rules)[0]))
            else:
                results.append(to_ns(value, rules))
        except InvalidTimestamp:
            results.append(None)
    if local.nanosecond == 0:  # a datetime holds microseconds
        try:
            results.append(to_ns(local.to_pydatetime(), rules))
        except InvalidTimestamp:
            results.append(None)
    assert results == [reference] * len(results)


def test_the_error_names_the_time_the_rules_refuse() -> None:
    rules = TimeRules("Europe/Berlin", nonexistent="shift_forward")
    with pytest.raises(InvalidTimestamp, match=r"2016-10-30T02:30:00 at row 1 is ambiguous"):
        to_ns_array([GAP, FOLD], rules)  # row 0 is shifted by the rule: not the culprit
    rules = TimeRules("Europe/Berlin", ambiguous=True)
    with pytest.raises(InvalidTimestamp, match=r"2016-03-27T02:30:00 at row 1 does not exist"):
        to_ns_array([FOLD, GAP], rules)
