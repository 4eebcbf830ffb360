"""The parsed-segment cache of `hfdata.read.tail`: a reused inode never serves another
segment's rows.

Every variable's segments of one writer session share their names
(`<writer>-000001.jsonl`), and an inode number is reused as soon as its file is deleted:
the upgrade kill trials copy one store for each trial and delete it after, and a read of
one trial's `plant/line 1` got the rows another trial's `temp` segment had cached under
the same (device, inode, name, kind). These tests make the reuse certain: every file
reports one inode, or one file's bytes are replaced in place.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import hfdata
from hfdata.layout import log_dir
from hfdata.log.parse import parse_log_bytes
from hfdata.read.query import clear_cache

T0 = datetime(2026, 5, 28, tzinfo=UTC)


def write(root: Path, points: dict[str, list[float]]) -> None:
    """One writer session appending `points` to each variable (so their segments share
    one name), closed."""
    with hfdata.open_store(root) as store:
        for name, values in points.items():
            for i, value in enumerate(values):
                store.append(name, T0 + timedelta(seconds=i), value)


def values(root: Path, name: str) -> list[Any]:
    with hfdata.open_store(root) as store:
        return list(store.read(name, output="arrow").column("value").to_pylist())


def segment(root: Path, name: str) -> Path:
    (found,) = log_dir(root, name).glob("*.jsonl")
    return found


@pytest.fixture(autouse=True)
def cold_cache() -> None:
    clear_cache()


def test_a_reused_inode_in_another_variable_is_not_served_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two variables' segments of one session with the same name and kind, reported as
    one inode (as a deleted segment's inode is given to the next file created): each
    read gives its own variable's rows (it gave the first one's, then a garbled mix)."""
    write(tmp_path, {"a": [1.0, 2.0], "b": [10.0, 20.0, 30.0, 40.0]})
    assert segment(tmp_path, "a").name == segment(tmp_path, "b").name
    real_fstat = os.fstat

    def one_inode(fd: int) -> os.stat_result:
        st = real_fstat(fd)
        fields = list(st)
        fields[1] = 4242  # st_ino
        extra = {name: getattr(st, name) for name in ("st_mtime_ns", "st_ctime_ns", "st_atime_ns")}
        return os.stat_result(fields, extra)  # the ns times too: the log's legacy arrival

    monkeypatch.setattr(os, "fstat", one_inode)  # while reading only
    assert values(tmp_path, "a") == [1.0, 2.0]
    assert values(tmp_path, "b") == [10.0, 20.0, 30.0, 40.0]
    assert values(tmp_path, "a") == [1.0, 2.0]


def test_a_segment_replaced_under_its_cached_inode_is_parsed_again(tmp_path: Path) -> None:
    """A segment whose bytes are replaced by other lines under the same path, name and
    inode (a store deleted and copied again in place): its read gives the new rows, not
    the cached prefix with the new file's bytes after it."""
    write(tmp_path, {"a": [1.0, 2.0]})
    path = segment(tmp_path, "a")
    assert values(tmp_path, "a") == [1.0, 2.0]
    inode = path.stat().st_ino
    other = tmp_path / "other"
    write(other, {"a": [5.0, 6.0, 7.0, 8.0]})
    path.write_bytes(segment(other, "a").read_bytes())  # truncated and rewritten in place
    assert path.stat().st_ino == inode
    assert values(tmp_path, "a") == [5.0, 6.0, 7.0, 8.0]


def test_a_growing_segment_is_parsed_from_where_the_last_read_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache still does its job: lines appended to a cached segment are parsed on
    their own (the cached prefix is kept), and the read has every row."""
    write(tmp_path, {"a": [1.0, 2.0]})
    path = segment(tmp_path, "a")
    assert values(tmp_path, "a") == [1.0, 2.0]
    before = path.stat().st_size
    more = tmp_path / "more"
    write(more, {"a": [1.0, 2.0, 3.0]})
    extra = segment(more, "a").read_bytes().splitlines(keepends=True)[2]
    with path.open("ab") as out:
        out.write(extra)
    parsed: list[int] = []

    def spy(data: bytes, *args: Any, **kwargs: Any) -> Any:
        parsed.append(len(data))
        return parse_log_bytes(data, *args, **kwargs)

    monkeypatch.setattr("hfdata.read.tail.parse_log_bytes", spy)
    assert values(tmp_path, "a") == [1.0, 2.0, 3.0]
    assert parsed == [path.stat().st_size - before]
