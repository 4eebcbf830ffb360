"""The vectorised log parser: numpy and Arrow over whole segments, no Python loop per line.

It vouches only for lines in the exact shapes hfdata's writers produce: batch lines
`{"timestamp":"YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+00:00)","value":<v>[,"metadata":{…}]}`,
single-append lines, the same after a 31-byte prefix `{"arrived":<19 digits>,`, and
marker lines `{"arrived":<19 digits>}`. The prefix is checked in numpy and its digits
cast by Arrow, on the lines that start `{"a` only; a prefixed line is then parsed as
the batch line that starts at its comma. Each line's first 64 bytes are checked against a
template with 64-bit word (SWAR) operations on a numpy byte matrix, one row per line;
timestamps and numbers are cast by Arrow (correctly rounded, like orjson) and the
metadata tail is validated and made canonical once per distinct text. Any line it does
not vouch for (another shape, a rejected cast, a number JSON forbids such as `01` or
`.5`) goes to the per-line reference parser (tombstone lines always do), so results are
identical to `parse_reference` by construction (and by property test). Each block of
lines comes out with its rows' own arrivals and its markers, and `parse_fast` applies
the reader rule (`lineparse.resolve_arrival`) to the blocks in line order.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from numpy.lib.stride_tricks import sliding_window_view

from hfdata.kinds import Kind
from hfdata.log.lineformat import (
    ARRIVED_KEY,
    LINE_PREFIX,
    METADATA_KEY,
    VALUE_KEY,
    canonical_json,
    column_value,
    table_schema,
)
from hfdata.log.lineparse import Lines, Resolved, parse_reference, resolve_arrival, tombstone_table

__all__ = ["BLOCK_LINES", "THREADS", "parse_fast"]

_TS_TYPE: Final = pa.timestamp("ns", tz="UTC")
_BINARY: Final = pa.large_binary()
_MIN_LINE: Final = len(LINE_PREFIX) + 20 + len(VALUE_KEY) + 2
# `…SSZ` is 20 characters, `…SS+00:00` 25; a fraction adds 1 + 1..9. Both are written.
_TS_FORMS: Final = (
    *((size, b"Z") for size in (20, *range(22, 31))),
    *((size, b"+00:00") for size in (25, *range(27, 36))),
)
_TS_LENGTHS: Final = tuple(sorted({size for size, _ in _TS_FORMS}))
_SWAR_ADD: Final = np.uint64(0x7676_7676_7676_7676)
_ALL: Final = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
_NONFINITE: Final = {b'"NaN"': np.nan, b'"Infinity"': np.inf, b'"-Infinity"': -np.inf}
_MIN_BISECT: Final = 32
_YEAR_MIN: Final = int.from_bytes(b"1678", "big")
_YEAR_MAX: Final = int.from_bytes(b"2261", "big")
_WINDOW: Final = 64  # bytes read at each line's start: prefix, timestamp, value key
# `{"arrived":` and 19 digits: the comma (a point follows) or the brace (a marker) is byte 30
_DIGITS: Final = 19
_PREFIX: Final = len(ARRIVED_KEY) + _DIGITS
_ARRIVED_WORD: Final = np.frombuffer(ARRIVED_KEY[:8], "<u8")[0]  # `{"arrive`
# Lines are parsed in blocks of this many (their temporaries stay in the CPU caches),
# by up to THREADS threads at once.
THREADS: int = min(2, os.cpu_count() or 1)
BLOCK_LINES: int = 1 << 16

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class _Bytes:
    """Byte gathers on one buffer, clipped so that no index leaves it."""

    def __init__(self, data: bytes, end: int) -> None:
        self.arr = np.frombuffer(data, np.uint8, count=end)
        self.last = end - 1
        self.buf = pa.py_buffer(data)

    def at(self, pos: IntArray) -> npt.NDArray[np.uint8]:
        return self.arr[np.minimum(pos, self.last)]

    def is_(self, pos: IntArray, char: bytes) -> BoolArray:
        return np.asarray(self.at(pos) == char[0], np.bool_)

    def slices(self, begin: IntArray, finish: IntArray, typ: pa.DataType = _BINARY) -> pa.Array:
        """Array of data[begin[i]:finish[i]] (ordered, non-overlapping), not UTF-8 checked."""
        m = len(begin)
        offsets = np.empty(2 * m + 1, np.int64)
        offsets[0] = 0
        offsets[1::2] = begin
        offsets[2::2] = finish
        both = pa.Array.from_buffers(typ, 2 * m, [None, pa.py_buffer(offsets), self.buf])
        return both.take(pa.array(np.arange(1, 2 * m, 2, dtype=np.int64)))


def _template(size: int, suffix: bytes) -> tuple[npt.NDArray[np.uint64], ...]:
    """Word masks for a line start `{"timestamp":"<ts of this length>","value":`.

    (literal bytes, literal mask, digit-lane high bits), eight little-endian words.
    """
    digits = size - 20 - len(suffix)  # fractional digits (the '.' comes on top)
    ts = b"dddd-dd-ddTdd:dd:dd" + (b"." + b"d" * digits if digits > 0 else b"") + suffix
    head = LINE_PREFIX + ts + VALUE_KEY
    lit, mask, digit = (np.zeros(_WINDOW, np.uint8) for _ in range(3))
    for i, char in enumerate(head):
        if char == ord("d"):
            digit[i], lit[i] = 0x80, ord("0")
        else:
            lit[i], mask[i] = char, 0xFF
    return lit.view("<u8"), mask.view("<u8"), digit.view("<u8")


def _timestamp_length(window: npt.NDArray[np.uint8]) -> IntArray:
    """Length of the timestamp string (20-35) up to its first closing quote, else 0."""
    lo, hi = len(LINE_PREFIX) + _TS_LENGTHS[0], len(LINE_PREFIX) + _TS_LENGTHS[-1] + 1
    quote = window[:, lo:hi] == ord('"')
    return np.where(quote.any(axis=1), _TS_LENGTHS[0] + quote.argmax(axis=1), 0)


def _line_heads(block: npt.NDArray[np.uint8], size: int, suffix: bytes) -> BoolArray:
    """Rows whose first bytes match the template for this timestamp length and suffix.

    SWAR on 64-bit words: literal bytes must be equal, digit lanes must hold '0'-'9'.
    A carry between lanes can only make a row fail, never pass (it then takes the
    reference path). Years outside 1678-2261 are left to the reference too.
    """
    lit, mask, digit = _TEMPLATES[size, suffix]
    words = block.view("<u8")
    bad = np.zeros(len(block), np.uint64)
    x = np.empty(len(block), np.uint64)
    t = np.empty(len(block), np.uint64)
    for k in range(len(lit)):  # in place: no fresh pages per step
        if not (mask[k] or digit[k]):
            continue
        np.bitwise_xor(words[:, k], lit[k], out=x)  # literal lanes 0 if equal, digits 0-9
        if digit[k]:
            np.add(x, _SWAR_ADD, out=t)
            t |= x
            t &= digit[k]
            bad |= t
        if mask[k] != _ALL:
            x &= mask[k]
        bad |= x
    ok: BoolArray = bad == 0
    # the year's four digits as one big-endian number compare like the year itself
    year = np.ascontiguousarray(block[:, len(LINE_PREFIX) : len(LINE_PREFIX) + 4]).view(">u4")[:, 0]
    ok &= (year >= _YEAR_MIN) & (year <= _YEAR_MAX)  # well inside the int64 ns range
    return ok


def _fixed_width(block: npt.NDArray[np.uint8]) -> pa.Array:
    """Each row of a byte matrix as one string of an Arrow string array."""
    data = np.ascontiguousarray(block)
    size = block.shape[1]
    offsets = np.arange(len(block) + 1, dtype=np.int64) * size
    return pa.Array.from_buffers(
        pa.large_string(), len(block), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def _cast(values: pa.Array, to: pa.DataType) -> tuple[pa.Array, BoolArray]:
    """Cast, bisecting around elements Arrow refuses; returns (result, refused mask)."""
    try:
        return pc.cast(values, to), np.zeros(len(values), np.bool_)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    if len(values) <= _MIN_BISECT:
        return pa.nulls(len(values), to), np.ones(len(values), np.bool_)
    half = len(values) // 2
    left, lbad = _cast(values.slice(0, half), to)
    right, rbad = _cast(values.slice(half), to)
    return pa.concat_arrays([left, right]), np.concatenate([lbad, rbad])


def _try_cast(values: pa.Array, to: pa.DataType) -> pa.Array | None:
    """The cast of every element, or None if Arrow refuses any of them."""
    try:
        return pc.cast(values, to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _digit(c: npt.NDArray[np.uint8]) -> BoolArray:
    return np.asarray((c - np.uint8(48)) < 10, np.bool_)


def _find(text: pa.Array, pattern: str) -> IntArray:
    """Index of the first `pattern` in each string, -1 where there is none."""
    return np.asarray(pc.find_substring(text, pattern).to_numpy(zero_copy_only=False), np.int64)


def _number_shape(b: _Bytes, vs: IntArray, text: pa.Array, integer: bool) -> BoolArray:
    """JSON number grammar where Arrow is laxer: sign, leading zero, '.' placement.

    `text` holds data[vs:ve] where data[ve] is ',' or '}' on any line that can be
    accepted, so a byte read just past a number is never a digit.
    """
    c0, c1, c2 = b.arr[vs], b.arr[vs + 1], b.arr[vs + 2]  # inside the line's window
    neg = c0 == ord("-")
    lead = np.where(neg, c1, c0)
    ok: BoolArray = _digit(lead) & ~((lead == ord("0")) & _digit(np.where(neg, c2, c1)))
    dot = _find(text, ".")
    has_dot = dot >= 0
    if integer:
        ok &= ~has_dot & (_find(text, "e") < 0) & (_find(text, "E") < 0)
    else:  # a digit before the '.' follows from the digit lead and Arrow's grammar
        ok &= ~has_dot | _digit(b.arr[vs + np.where(has_dot, dot + 1, 0)])  # at most ve
    return ok


def _equal(text: pa.Array, first: npt.NDArray[np.uint8], word: str) -> BoolArray:
    """Rows whose text is `word` (compared only where the first byte already matches)."""
    maybe: BoolArray = np.asarray(first == ord(word[0]), np.bool_)
    if not maybe.any():
        return maybe
    same: BoolArray = np.asarray(pc.equal(text, word).to_numpy(zero_copy_only=False), np.bool_)
    return same & maybe


def _values(
    b: _Bytes, kind: Kind | None, vs: IntArray, stops: IntArray
) -> tuple[pa.Array, IntArray, BoolArray]:
    """Parse the value after `"value":` for float/int/bool/string; (values, value end, ok)."""
    n = len(vs)
    typ = table_schema(kind).field("value").type
    if kind == "string":
        ok = b.is_(vs, b'"')
        after = b.slices(vs + 1, stops)
        quote = np.asarray(pc.find_substring(after, '"').to_numpy(zero_copy_only=False), np.int64)
        ok &= quote >= 0
        ve = np.where(ok, vs + 2 + quote, vs)
        raw = b.slices(vs + 1, np.maximum(ve - 1, vs + 1))
        ok &= np.asarray(pc.find_substring(raw, "\\").to_numpy(zero_copy_only=False)) < 0
        text, refused = _cast(raw, pa.large_string())
        ok &= ~refused
        printable = pc.fill_null(pc.utf8_is_printable(text), False)
        ok &= np.asarray(printable.to_numpy(zero_copy_only=False), np.bool_)
        values: pa.Array = text.cast(pa.string())
    else:
        # a number, null, true or false holds no comma; without one the value ends at the
        # final brace (anything else is refused by the cast or by the tail check)
        ve = np.maximum(stops - 1, vs)
        text = b.slices(vs, ve, pa.large_string())
        # numbers only (the usual block): Arrow accepts no comma in a number, so there is
        # nothing to search for. A refused cast costs several times a good one, so it is
        # tried only if every line ends in a digit and a brace, as a number line does.
        numbers_only = kind != "bool" and bool(_digit(b.arr[np.maximum(stops - 2, 0)]).all())
        direct = _try_cast(text, typ) if numbers_only else None
        if direct is None:
            comma = _find(text, ",")
            if (comma >= 0).any():  # metadata follows (or a bad line)
                ve = np.where(comma >= 0, vs + comma, ve)
                text = b.slices(vs, ve, pa.large_string())
        ok = ve > vs
        first = b.arr[vs]
        is_null = _equal(text, first, "null")
        if kind == "bool":
            true = _equal(text, first, "true")
            false = _equal(text, first, "false")
            ok &= true | false | is_null
            values = pa.array(true, pa.bool_(), mask=is_null)
        else:
            special = np.zeros(n, np.bool_)
            fill = np.zeros(n, np.float64)
            if kind != "int":
                for spelling, number in _NONFINITE.items():
                    hit = _equal(text, first, spelling.decode())
                    special |= hit
                    fill[hit] = number
            plain = ok & ~is_null & ~special
            shaped = plain & _number_shape(b, vs, text, kind == "int")
            ok &= ~plain | shaped
            idx = np.flatnonzero(shaped)
            if len(idx) == n:  # every row a plain number: the cast is the column
                if direct is None:
                    parsed, refused = _cast(text, typ)
                else:
                    parsed, refused = direct, np.zeros(n, np.bool_)
                if kind != "int":  # 1e400: orjson refuses it
                    refused |= ~np.isfinite(pc.fill_null(parsed, 0).to_numpy())
                ok &= ~refused
                return parsed, ve, ok
            parsed, refused = _cast(text.take(pa.array(idx)), typ)
            numbers = pc.fill_null(parsed, 0).to_numpy(zero_copy_only=False)
            if kind == "int":
                out: npt.NDArray[Any] = np.zeros(n, np.int64)
                out[idx] = np.where(refused, 0, numbers)
            else:
                out = fill
                out[idx] = numbers
                refused |= ~np.isfinite(numbers)  # 1e400: orjson refuses it
            ok[idx[refused]] = False
            values = pa.array(out, typ, mask=is_null)
    return values, ve, ok


def _tails(
    b: _Bytes, begin: IntArray, stops: IntArray, kind: Kind | None
) -> tuple[pa.Array, pa.Array | None, BoolArray]:
    """The text after the value (or after `"value":` for json), checked once per distinct text.

    Returns (metadata, json values or None, ok).
    """
    encoded = b.slices(begin, stops + 1).dictionary_encode()
    meta: list[str | None] = []
    vals: list[Any] = []
    good: list[bool] = []
    for raw in encoded.dictionary.to_pylist():
        m, v, accepted = _tail(raw, kind)
        meta.append(m)
        vals.append(v)
        good.append(accepted)
    codes = encoded.indices
    metadata = pa.array(meta, pa.string()).take(codes)
    values = None if kind != "json" else pa.array(vals, pa.string()).take(codes)
    ok = np.asarray(pa.array(good, pa.bool_()).take(codes).to_numpy(zero_copy_only=False))
    return metadata, values, ok


def _tail(raw: bytes, kind: Kind | None) -> tuple[str | None, Any, bool]:
    """One distinct tail text: (canonical metadata, json value, accepted)."""
    if kind == "json":
        try:
            obj = orjson.loads(b'{"value":' + raw)
            if "timestamp" in obj or "arrived" in obj:  # a second key: the reference decides
                return None, None, False
            value = column_value(kind, obj["value"])
        except (orjson.JSONDecodeError, ValueError):
            return None, None, False
        meta = obj.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            return None, None, False
        return (canonical_json(meta) if meta else None), value, True
    if raw == b"}\n":
        return None, None, True
    if not (raw.startswith(METADATA_KEY) and raw.endswith(b"}\n")):
        return None, None, False
    try:
        meta = orjson.loads(raw[len(METADATA_KEY) : -2])
    except orjson.JSONDecodeError:
        return None, None, False
    if meta is not None and not isinstance(meta, dict):
        return None, None, False
    return (canonical_json(meta) if meta else None), None, True


def _forms(window: npt.NDArray[np.uint8]) -> tuple[IntArray, IntArray]:
    """Each row's timestamp length and form code, 2 * length + (1 if it ends with 'Z')."""
    ts_len = _timestamp_length(window)
    last = window[np.arange(len(window)), len(LINE_PREFIX) + ts_len - 1]
    return ts_len, 2 * ts_len + (last == ord("Z"))


def _form(code: int) -> tuple[int, bytes] | None:
    key = (code // 2, b"Z" if code % 2 else b"+00:00")
    return key if key in _TEMPLATES else None


def _stamps(window: npt.NDArray[np.uint8]) -> tuple[IntArray, IntArray, BoolArray]:
    """(timestamp length, nanoseconds, head ok) of each row of line heads.

    The form most common among the first rows is checked on every row first (a row
    whose head matches a template has its first closing quote where the template
    says); only the rows it does not fit are sorted into forms one by one.
    """
    m = len(window)
    ts_len = np.zeros(m, np.int64)
    ns = np.zeros(m, np.int64)
    ok = np.zeros(m, np.bool_)

    def fill(rows: IntArray | None, size: int, suffix: bytes) -> None:
        cols = slice(len(LINE_PREFIX), len(LINE_PREFIX) + size)
        text = _fixed_width(window[:, cols] if rows is None else window[rows, cols])
        stamps, refused = _cast(text, _TS_TYPE)
        at = slice(None) if rows is None else rows
        ns[at] = pc.fill_null(stamps.cast(pa.int64()), 0).to_numpy()
        ts_len[at] = size
        ok[at] = ~refused

    rest: IntArray = np.arange(m)
    top = _form(int(np.bincount(_forms(window[:64])[1]).argmax()))
    if top is not None:
        fits = _line_heads(window, *top)
        rest = np.flatnonzero(~fits)
        fill(None if len(rest) == 0 else np.flatnonzero(fits), *top)
    if len(rest):
        sub = window[rest]
        _, codes = _forms(sub)
        for code in np.unique(codes).tolist():
            form = _form(code)
            if form is None:
                continue
            inside = np.flatnonzero(codes == code)
            rows = rest[inside[_line_heads(sub[inside], *form)]]
            if len(rows):
                fill(rows, *form)
    return ts_len, ns, ok


def parse_fast(
    data: bytes,
    end: int,
    starts: IntArray,
    stops: IntArray,
    kind: Kind | None,
    source: str,
    arrived: int,
) -> Resolved:
    """What the given lines hold, identical to the reference parser's answer, the reader
    rule applied (`arrived`: see `lineparse.resolve_arrival`).

    Large inputs are cut into blocks of consecutive lines parsed in threads (numpy and
    Arrow release the GIL); the blocks are then resolved in line order, each inheriting
    the last marker of the blocks before it, and joined.
    """
    n = len(starts)
    if n <= BLOCK_LINES:
        return resolve_arrival(_parse_run(data, end, starts, stops, kind, source), arrived)
    cuts = [*range(0, n, BLOCK_LINES), n]

    def run(i: int) -> Lines:
        lines = slice(cuts[i], cuts[i + 1])
        return _parse_run(data, end, starts[lines], stops[lines], kind, source)

    if THREADS < 2:
        parts = [run(i) for i in range(len(cuts) - 1)]
    else:
        with ThreadPoolExecutor(min(THREADS, len(cuts) - 1)) as pool:
            parts = list(pool.map(run, range(len(cuts) - 1)))
    done: list[Resolved] = []
    for part in parts:
        done.append(resolve_arrival(part, arrived))
        arrived = arrived if done[-1].marker is None else done[-1].marker
    tombstones = [r.tombstones for r in done if r.tombstones.num_rows]
    return Resolved(
        table=pa.concat_tables([r.table for r in done]).combine_chunks(),
        tombstones=pa.concat_tables(tombstones) if tombstones else _NO_TOMBSTONES,
        bad=[b for r in done for b in r.bad],
        markers=sum(r.markers for r in done),
        marker=next((r.marker for r in reversed(done) if r.marker is not None), None),
    )


def _arrivals(b: _Bytes, starts: IntArray, stops: IntArray) -> tuple[IntArray, IntArray, BoolArray]:
    """The lines that start `{"arrived":<19 digits>` followed by `,` or, ending the line,
    `}`: (their line numbers, their arrival, True where the line is a marker).

    Nineteen digits without a leading zero are a valid JSON int of 10**18 or more; it
    must fit in int64. Any other spelling goes to the reference parser.
    """
    cand = np.flatnonzero(b.is_(starts + 2, b"a"))  # `{"a`: usually none or all
    if len(cand):
        cand = cand[(stops - starts)[cand] >= _PREFIX + 1]
    if len(cand) == 0:
        return cand, cand, np.zeros(0, np.bool_)
    head = sliding_window_view(b.arr, _PREFIX + 1)[starts[cand]]
    ok = np.ascontiguousarray(head[:, :8]).view("<u8")[:, 0] == _ARRIVED_WORD
    for i in range(8, len(ARRIVED_KEY)):
        ok &= head[:, i] == ARRIVED_KEY[i]
    digits = head[:, len(ARRIVED_KEY) : _PREFIX]
    ok &= (digits[:, 0] - np.uint8(49)) < 9  # 1-9: no sign, no leading zero
    # Arrow's cast refuses any other non-digit, and anything past int64 (9223372036854775808)
    number, refused = _cast(_fixed_width(digits), pa.int64())
    ok &= ~refused
    last = head[:, _PREFIX]
    marker = (last == ord("}")) & ((stops - starts)[cand] == _PREFIX + 1)
    ok &= marker | (last == ord(","))
    values = np.asarray(pc.fill_null(number, 0).to_numpy(zero_copy_only=False), np.int64)
    return cand[ok], values[ok], marker[ok]


def _parse_run(
    data: bytes,
    end: int,
    starts: IntArray,
    stops: IntArray,
    kind: Kind | None,
    source: str,
) -> Lines:
    """`parse_fast` on one run of lines."""
    b = _Bytes(data, end)
    n = len(starts)
    own: IntArray | None = None  # each line's own arrival (0: none), if any line has one
    heads = starts  # where each line's batch-line shape starts: its comma if prefixed
    prefixed, numbers, is_marker = _arrivals(b, starts, stops)
    markers = prefixed[is_marker]
    points = prefixed[~is_marker]
    if len(points):
        own = np.zeros(n, np.int64)
        own[points] = numbers[~is_marker]
        heads = starts.copy()
        heads[points] += _PREFIX
    ok = ((stops - heads) >= _MIN_LINE) & (heads + _WINDOW <= end)
    ok[markers] = False
    idx = np.flatnonzero(ok)
    if end >= _WINDOW and len(idx):
        window = sliding_window_view(b.arr, _WINDOW)[heads[idx]]  # a copy: may be written
        if own is not None:
            window[own[idx] != 0, 0] = ord("{")  # the prefix's comma opens the batch line
        ts_len, ns, shape_ok = _stamps(window)
        del window
        idx, ts_len, ns = idx[shape_ok], ts_len[shape_ok], ns[shape_ok]
    else:
        idx, ts_len, ns = idx[:0], np.zeros(0, np.int64), np.zeros(0, np.int64)
    stamps = pa.Array.from_buffers(_TS_TYPE, len(ns), [None, pa.py_buffer(ns)])
    s_stops = stops[idx]
    s_vs = heads[idx] + len(LINE_PREFIX) + ts_len + len(VALUE_KEY)
    good = s_vs < s_stops
    if kind == "json":
        metadata, values, tail_ok = _tails(b, s_vs, s_stops, kind)
        assert values is not None
        good &= tail_ok
    else:
        values, ve, value_ok = _values(b, kind, s_vs, s_stops)
        good &= value_ok & (ve <= s_stops)
        # a value ending at the line's final brace has no metadata: only the others'
        # tails are looked at
        bare = (ve == s_stops - 1) & (b.arr[ve] == ord("}"))
        others = np.flatnonzero(~bare)
        if len(others) == 0:
            metadata = pa.nulls(len(ve), pa.string())
        else:
            meta, _, tail_ok = _tails(b, np.minimum(ve, s_stops)[others], s_stops[others], kind)
            good[others] &= tail_ok
            where = np.zeros(len(ve), np.int64)
            where[others] = np.arange(len(others))
            metadata = meta.take(pa.array(where, mask=bare))
    keep = np.flatnonzero(good)
    columns = [stamps, values, metadata]
    if len(keep) < len(good):
        columns = [column.take(keep) for column in columns]
    fast = pa.table(columns, schema=table_schema(kind))
    fast_lines = idx[keep]
    rest = np.ones(n, np.bool_)
    rest[fast_lines] = False
    rest[markers] = False
    slow_idx = np.flatnonzero(rest)
    marker_ns = numbers[is_marker]
    fast_own = None if own is None else own[fast_lines]
    if len(slow_idx) == 0:
        return Lines(fast, fast_lines, fast_own, markers, marker_ns, _NO_TOMBSTONES, [])
    slow = parse_reference(data, starts[slow_idx], stops[slow_idx], kind, source)
    if len(slow.markers):
        markers = np.concatenate([markers, slow_idx[slow.markers]])
        marker_ns = np.concatenate([marker_ns, slow.marker_ns])
        order = np.argsort(markers, kind="stable")
        markers, marker_ns = markers[order], marker_ns[order]
    if slow.table.num_rows == 0:
        return Lines(fast, fast_lines, fast_own, markers, marker_ns, slow.tombstones, slow.bad)
    slow_lines = slow_idx[slow.rows]
    merged = pa.concat_tables([fast, slow.table])
    lines = np.concatenate([fast_lines, slow_lines])
    if fast_own is None and slow.own is None:
        arrived = None
    else:
        fill = np.zeros(len(fast_lines), np.int64) if fast_own is None else fast_own
        rest_own = np.zeros(len(slow_lines), np.int64) if slow.own is None else slow.own
        arrived = np.concatenate([fill, rest_own])
    if len(fast_lines) and fast_lines[-1] > slow_lines[0]:  # interleaved: restore line order
        order = np.argsort(lines, kind="stable")
        merged = merged.take(pa.array(order))
        lines = lines[order]
        arrived = None if arrived is None else arrived[order]
    merged = merged.combine_chunks() if merged.num_rows < 1 << 16 else merged
    return Lines(merged, lines, arrived, markers, marker_ns, slow.tombstones, slow.bad)


_NO_TOMBSTONES: Final = tombstone_table([], [], [])
_TEMPLATES: Final = {(size, suffix): _template(size, suffix) for size, suffix in _TS_FORMS}
