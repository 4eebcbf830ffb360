"""Trial family 5: corrupted closed segments and Parquet files.

Segments: each case is one closed segment of 30 unique lines with one injected
corruption (bit flips, truncation, junk inside a line or as lines of its own, a
run of NUL bytes, a lost or doubled newline). Ten cases share a store and one
compaction. Afterwards, for every case:

- compaction did not raise, and nothing is left in the log;
- every intact line (its exact bytes still a complete line) is a Parquet row;
- every other complete line is either a row (a damaged line that still parses)
  or a quarantine record naming the segment and the line's byte offset;
- a torn tail (no newline) is quarantined at the offset where it starts;
- rows + quarantined lines = the segment's complete lines, nothing invented.

Parquet: a file of a compacted partition gets the same kinds of damage; reading
the variable must either return rows equal to the model or raise a typed
`HfdataError` naming the damaged file, never crash with a bare library error.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
import pytest

import hfdata
from hfdata.errors import HfdataError
from hfdata.layout import encode_name

from .conftest import Figures
from .model import FULL, point_ns, torture_count

VAR = "sensor/corrupt"
LINES_PER_CASE = 30
CASES_PER_STORE = 10


def line_for(point_id: float, with_meta: bool) -> bytes:
    from hfdata.timeparse import format_ns

    obj: dict[str, Any] = {"timestamp": format_ns(point_ns(point_id)), "value": point_id}
    if with_meta:
        obj["metadata"] = {"case": int(point_id) // 1000, "note": "x"}
    return orjson.dumps(obj) + b"\n"


KINDS = ["flip", "flips", "truncate", "junk", "junk_line", "nul", "newline", "dup_nl"]
JUNK = b'{}[]":,0123456789abc \x00\xff'


def corrupt(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One random corruption of a segment's bytes."""
    kind = rng.choice(
        ["flip", "flips", "truncate", "junk", "junk_line", "nul", "newline", "dup_nl"]
    )
    n = len(data)
    if kind == "flip":
        i = rng.randrange(n)
        return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1 :], kind
    if kind == "flips":
        out = bytearray(data)
        for _ in range(rng.randint(2, 20)):
            i = rng.randrange(n)
            out[i] ^= 1 << rng.randrange(8)
        return bytes(out), kind
    if kind == "truncate":
        return data[: rng.randrange(n)], kind
    if kind == "junk":
        i = rng.randrange(n)
        junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        return data[:i] + junk + data[i:], kind
    if kind == "junk_line":
        starts = [0, *[i + 1 for i, b in enumerate(data) if b == 10][:-1]]
        i = rng.choice(starts)
        junk = bytes(
            rng.choice(b'{}[]":,0123456789abc \x00\xff') for _ in range(rng.randint(0, 60))
        )
        return data[:i] + junk + b"\n" + data[i:], kind
    if kind == "nul":
        i = rng.randrange(n)
        k = rng.randint(1, 200)
        return data[:i] + b"\x00" * min(k, n - i) + data[i + k :], kind
    if kind == "newline":  # a newline lost: two lines become one
        nls = [i for i, b in enumerate(data) if b == 10]
        i = rng.choice(nls)
        return data[:i] + data[i + 1 :], kind
    i = rng.randrange(n)  # a stray newline: one line becomes two
    return data[:i] + b"\n" + data[i:], kind


def complete_lines(data: bytes) -> list[tuple[int, bytes]]:
    """(offset, line) for each newline-terminated line."""
    out: list[tuple[int, bytes]] = []
    offset = 0
    while True:
        stop = data.find(b"\n", offset)
        if stop < 0:
            return out
        out.append((offset, data[offset:stop]))
        offset = stop + 1


def quarantine_records(root: Path) -> list[dict[str, Any]]:
    base = root / "_quarantine"
    records: list[dict[str, Any]] = []
    if base.is_dir():
        for path in base.rglob("*.jsonl"):
            records.extend(orjson.loads(x) for x in path.read_bytes().splitlines())
    return records


def run_store(root: Path, rng: random.Random, first_case: int) -> dict[str, int]:
    with hfdata.open_store(root) as store:  # the variable and its kind exist
        store.append(VAR, "2026-11-18T00:00:00Z", -1.0)
        store.rotate()
        store.compact()
    directory = root / "log" / encode_name(VAR)
    cases = []
    for c in range(first_case, first_case + CASES_PER_STORE):
        ids = [float(c * 1000 + k) for k in range(LINES_PER_CASE)]
        original = b"".join(line_for(i, rng.random() < 0.3) for i in ids)
        damaged, kind = corrupt(original, rng)
        name = f"20260101T000000000_1_c0ffee-{c:06d}.jsonl"
        (directory / name).write_bytes(damaged)
        cases.append((name, original, damaged, kind))
    with hfdata.open_store(root) as store:
        report = store.compact()  # must not raise
    import pyarrow.parquet as pq

    values: list[float] = []
    for path in (root / "parquet").glob("kind=*/**/part-*.parquet"):
        values.extend(pq.read_table(path, columns=["value"]).column("value").to_pylist())
    rows = set(values)
    records = quarantine_records(root)
    counts: dict[str, int] = {"cases": len(cases), "quarantined": report.quarantined}
    for name, original, damaged, kind in cases:
        counts[f"kind_{kind}"] = counts.get(f"kind_{kind}", 0) + 1
        rel = f"log/{encode_name(VAR)}/{name}"
        mine = {r["offset"]: r for r in records if r["file"] == rel}
        originals = {line for _, line in complete_lines(original)}
        lines = complete_lines(damaged)
        intact = [line for _, line in lines if line in originals]
        for line in intact:
            assert orjson.loads(line)["value"] in rows, f"{rel}: intact line lost: {line[:80]!r}"
        kept = quarantined = 0
        for offset, line in lines:
            if line in originals:
                kept += 1
                continue
            if offset in mine:
                assert mine[offset]["reason"]
                quarantined += 1
            else:  # a damaged line that still parses: it must be a row
                value = orjson.loads(line)["value"]
                assert value in rows or value is None, (
                    f"{rel}@{offset}: neither row nor quarantined"
                )
                counts["damaged_lines_that_still_parse"] = (
                    counts.get("damaged_lines_that_still_parse", 0) + 1
                )
                kept += 1
        end = damaged.rfind(b"\n") + 1
        if end < len(damaged):  # a torn tail is quarantined where it starts
            assert end in mine, f"{rel}: torn tail at {end} not quarantined"
            quarantined += 1
        unexplained = [o for o in mine if o not in {off for off, _ in lines} and o != end]
        assert unexplained == [], f"{rel}: quarantine records at no line start: {unexplained}"
        counts["intact_lines_kept"] = counts.get("intact_lines_kept", 0) + len(intact)
        counts["bad_lines_reported_with_offset"] = (
            counts.get("bad_lines_reported_with_offset", 0) + quarantined
        )
        counts["intact_lines_lost"] = counts.get("intact_lines_lost", 0)
    left = [p.name for p in directory.glob("*.jsonl")]
    assert left == [], f"segments left uncompacted: {left}"
    return counts


def run_segment_cases(tmp_path: Path, cases: int, seed: int, figures: Figures) -> None:
    rng = random.Random(seed)
    totals: dict[str, int] = {}
    for s in range(max(1, cases // CASES_PER_STORE)):
        counts = run_store(tmp_path / f"s{s}", rng, first_case=1 + s * CASES_PER_STORE)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    figures.add("corruption_segments", **totals)


def test_corrupt_segments_quick(tmp_path: Path, figures: Figures) -> None:
    run_segment_cases(tmp_path, 20, seed=1, figures=figures)


@pytest.mark.slow
def test_corrupt_segments_torture(tmp_path: Path, figures: Figures) -> None:
    run_segment_cases(tmp_path, torture_count(10_000), seed=2, figures=figures)


# -- Parquet ---------------------------------------------------------------------------------


def corrupt_file(path: Path, rng: random.Random) -> str:
    data = path.read_bytes()
    kind = rng.choice(["flip", "flips", "truncate", "junk", "nul", "empty", "footer_flip"])
    n = len(data)
    if kind == "flip":
        i = rng.randrange(n)
        data = data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1 :]
    elif kind == "flips":
        out = bytearray(data)
        for _ in range(rng.randint(2, 20)):
            out[rng.randrange(n)] ^= 1 << rng.randrange(8)
        data = bytes(out)
    elif kind == "truncate":
        data = data[: rng.randrange(n)]
    elif kind == "junk":
        i = rng.randrange(n)
        data = data[:i] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))) + data[i:]
    elif kind == "nul":
        i = rng.randrange(n)
        k = rng.randint(1, 512)
        data = data[:i] + b"\x00" * min(k, n - i) + data[i + k :]
    elif kind == "empty":
        data = b""
    else:  # inside the footer (schema, statistics, offsets)
        i = rng.randrange(max(0, n - 400), n - 8)
        data = data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1 :]
    path.write_bytes(data)
    return kind


PARQUET_POINTS = 400


def one_parquet_case(root: Path, rng: random.Random) -> dict[str, int]:
    """Compact 400 points over two days, damage one Parquet file, read the variable back."""
    from hfdata.timeparse import format_ns

    ids = [float(k) for k in range(PARQUET_POINTS)]
    with hfdata.open_store(root) as store:
        for i in ids:
            store.append(VAR, format_ns(point_ns(i * 600)), i)  # every 10 minutes: 3 days
        store.rotate()
        store.compact()
    files = sorted((root / "parquet").glob("kind=*/**/part-*.parquet"))
    victim = rng.choice(files)
    kind = corrupt_file(victim, rng)
    counts = {"cases": 1, f"kind_{kind}": 1}
    with hfdata.open_store(root) as store:
        try:
            frame = store.read(VAR)
        except HfdataError as exc:
            named = victim.name in str(exc)
            counts["typed_error_naming_the_file" if named else "typed_error_without_file"] = 1
            return counts
        except Exception as exc:  # UNTYPED_PARQUET_ERROR
            counts["untyped_error"] = 1
            counts["untyped_error_naming_the_file"] = int(victim.name in str(exc))
            return counts
    got = sorted(frame["value"].tolist())
    if got == ids:
        counts["read_unharmed"] = 1
    else:  # no page checksums: a flipped bit in a data page can change a value
        counts["silently_wrong_rows"] = 1
        counts[f"silently_wrong_rows_after_{kind}"] = 1
    return counts


def run_parquet_cases(tmp_path: Path, cases: int, seed: int, figures: Figures) -> dict[str, int]:
    rng = random.Random(seed)
    totals: dict[str, int] = {}
    for c in range(cases):
        for key, value in one_parquet_case(tmp_path / f"p{c}", rng).items():
            totals[key] = totals.get(key, 0) + value
    figures.add("corruption_parquet", **totals)
    return totals


def test_corrupt_parquet_quick(tmp_path: Path, figures: Figures) -> None:
    totals = run_parquet_cases(tmp_path, 5, seed=1, figures=figures)
    assert totals["cases"] == 5


@pytest.mark.slow
def test_corrupt_parquet_torture(tmp_path: Path, figures: Figures) -> None:
    run_parquet_cases(tmp_path, 500 if FULL else 50, seed=2, figures=figures)


UNTYPED_PARQUET_ERROR = (
    "hfdata/read/query.py: a damaged Parquet file makes Store.read raise pyarrow's own error "
    "(ArrowInvalid / OSError) instead of a typed HfdataError naming the file; wrap the "
    "footer read and the table read per file and raise e.g. CorruptFile(HfdataError, "
    "OSError) with the path and what to do (move it aside, re-run compaction from "
    "log/<var>/compacted/)"
)


def test_a_truncated_parquet_file_is_a_typed_error_naming_it(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append(VAR, "2026-11-26T00:00:00Z", 1.0)
        store.rotate()
        store.compact()
    (victim,) = (tmp_path / "parquet").glob("kind=*/**/part-*.parquet")
    victim.write_bytes(victim.read_bytes()[:100])
    with hfdata.open_store(tmp_path) as store, pytest.raises(HfdataError, match=victim.name):
        store.read(VAR)
