"""`hfdata.log.segment`: segments and durable directories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hfdata.durable import make_dirs
from hfdata.locks import is_locked
from hfdata.log.segment import LogPolicy, Segment


def test_make_dirs_fsyncs_the_parent_of_every_new_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr("hfdata.log.segment.os.fsync", spy)
    make_dirs(tmp_path / "a" / "b" / "c")
    assert (tmp_path / "a" / "b" / "c").is_dir()
    assert synced == [str(tmp_path), str(tmp_path / "a"), str(tmp_path / "a" / "b")]
    synced.clear()
    make_dirs(tmp_path / "a" / "b")  # nothing new, nothing to fsync
    assert synced == []


def test_segment_is_locked_while_open_and_renamed_on_close(tmp_path: Path) -> None:
    segment = Segment(tmp_path, "w1", 1, LogPolicy())
    assert segment.path.name == "w1-000001.jsonl.active"
    assert is_locked(segment.path)
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
    segment.write(b'{"timestamp":"2026-01-01T00:00:00Z","value":1.0}\n')
    closed = segment.close()
    assert closed.name == "w1-000001.jsonl"
    assert not is_locked(closed)


def test_a_segment_never_replaces_another(tmp_path: Path) -> None:
    first = Segment(tmp_path, "w1", 7, LogPolicy())
    first.write(b"x\n")
    with pytest.raises(FileExistsError):
        Segment(tmp_path, "w1", 7, LogPolicy())
    assert first.path.read_bytes() == b"x\n"
    assert [p.name for p in tmp_path.iterdir()] == ["w1-000007.jsonl.active"]
    first.close()
