"""`encode_frame`: both encodings (write_ndjson and formatted lines) mean the same points."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hfdata.log.encode import encode_frame
from hfdata.timeparse import TimeRules, to_ns

RULES = TimeRules()


def decode(data: bytes) -> list[tuple[int, Any, Any]]:
    assert data == b"" or data.endswith(b"\n")
    rows = [orjson.loads(line) for line in data.splitlines()]
    return [(to_ns(r["timestamp"], RULES), r["value"], r.get("metadata")) for r in rows]


def encode(ns: list[int], values: pa.Array, kind: str, metadata: pa.Array | None = None) -> bytes:
    out = io.BytesIO()
    encode_frame(np.array(ns, dtype=np.int64), values, metadata, kind).write_to(out)  # type: ignore[arg-type]
    return out.getvalue()


ns_values = st.integers(min_value=-(2**62), max_value=2**62)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(ns_values, st.text() | st.none()), max_size=30))
def test_strings_round_trip_on_both_paths(rows: list[tuple[int, str | None]]) -> None:
    ns = [t for t, _ in rows]
    values = pa.array([v for _, v in rows], pa.large_string())
    meta = pa.array(['{"k":1}'] * len(rows), pa.string())
    plain = decode(encode(ns, values, "string"))
    with_meta = decode(encode(ns, values, "string", meta))
    assert [(t, v) for t, v, _ in plain] == rows
    assert [(t, v) for t, v, _ in with_meta] == rows
    assert all(m == {"k": 1} for _, _, m in with_meta)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(ns_values, st.floats() | st.none()), max_size=30))
def test_floats_round_trip_exactly(rows: list[tuple[int, float | None]]) -> None:
    ns = [t for t, _ in rows]
    got = decode(encode(ns, pa.array([v for _, v in rows], pa.float64()), "float"))
    text = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
    for (t, v), (gt, gv, _) in zip(rows, got, strict=True):
        assert gt == t
        gv = text.get(gv, gv) if isinstance(gv, str) else gv
        if v is None:
            assert gv is None
        elif math.isnan(v):
            assert math.isnan(gv)
        else:
            assert gv == v and math.copysign(1, gv) == math.copysign(1, v)


@pytest.mark.parametrize(
    ("kind", "values", "expected"),
    [
        ("bool", pa.array([True, None, False]), [True, None, False]),
        ("int", pa.array([1, None, -(2**63)], pa.int64()), [1, None, -(2**63)]),
        ("json", pa.array(['{"a":[1]}', None, "[2]"]), [{"a": [1]}, None, [2]]),
    ],
)
def test_other_kinds(kind: str, values: pa.Array, expected: list[Any]) -> None:
    got = decode(encode([1, 2, 3], values, kind))
    assert [v for _, v, _ in got] == expected
