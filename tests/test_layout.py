"""Name encoding, partition keys and segment names."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hfdata.errors import InvalidVariableName
from hfdata.layout import (
    MAX_NAME_CHARS,
    PARQUET_DIR,
    compacted_dir,
    decode_name,
    encode_name,
    encoded_log_dir,
    journal_dir,
    kind_folder,
    kind_of_folder,
    log_dir,
    log_root,
    parquet_dir,
    parse_segment_name,
    part_file_name,
    part_rel,
    partition_key,
    partition_key_ns,
    partition_of_folder,
    partition_of_rel,
    quarantine_root,
    segment_name,
    validate_name,
    variable_of_folder,
    variable_rel,
)


@pytest.mark.parametrize(
    "bad",
    ["", ".", "..", "a\x00b", "tab\there", "new\nline", "del\x7f", "c1\x85", "x" * 201, 5, None],
)
def test_invalid_names_are_refused(bad: object) -> None:
    with pytest.raises(InvalidVariableName):
        validate_name(bad)


def test_name_limit_is_200_characters() -> None:
    assert validate_name("x" * MAX_NAME_CHARS) == "x" * MAX_NAME_CHARS


def test_long_non_ascii_name_beyond_path_limit_is_refused() -> None:
    with pytest.raises(InvalidVariableName, match="percent-encoded"):
        validate_name("é" * 150)


def test_lone_surrogate_is_refused() -> None:
    with pytest.raises(InvalidVariableName, match="Unicode"):
        validate_name("a\ud800")


@pytest.mark.parametrize(
    ("name", "encoded"),
    [
        ("sensor_temp_celsius", "sensor_temp_celsius"),
        ("room a/temp", "room%20a%2Ftemp"),
        ("../../etc/passwd", "..%2F..%2Fetc%2Fpasswd"),
        ("100%", "100%25"),
    ],
)
def test_encoding_examples(name: str, encoded: str) -> None:
    assert encode_name(name) == encoded
    assert decode_name(encoded) == name


@given(st.text(max_size=80) | st.sampled_from([".", "..", "../..", "a/../../b", "./x"]))
def test_every_accepted_name_stays_inside_the_root_and_round_trips(name: str) -> None:
    root = Path("/store/root")
    try:
        encoded = encode_name(name)
    except InvalidVariableName:
        return  # refused names never reach a path
    assert "/" not in encoded
    assert encoded not in (".", "..")
    assert decode_name(encoded) == name
    for path in (log_dir(root, name), parquet_dir(root, "float", name, "2026-11-26")):
        resolved = Path(*path.parts)  # no component may climb out
        assert ".." not in resolved.relative_to(root).parts
        assert resolved.is_relative_to(root)


def test_partition_keys() -> None:
    when = datetime(2026, 11, 26, 13, 5, tzinfo=UTC)
    assert partition_key(when, "day") == "2026-11-26"
    assert partition_key(when, "hour") == "2026-11-26T13"
    assert partition_key(when, "month") == "2026-11"
    ns = int(when.timestamp()) * 1_000_000_000 + 5
    assert partition_key_ns(ns, "hour") == "2026-11-26T13"
    assert partition_key_ns(-1, "day") == "1969-12-31"
    with pytest.raises(ValueError, match="partition"):
        partition_key(when, "week")  # type: ignore[arg-type]


def test_segment_names_sort_and_parse() -> None:
    a = segment_name("w1", 2, active=False)
    b = segment_name("w1", 10, active=True)
    assert a == "w1-000002.jsonl"
    assert b == "w1-000010.jsonl.active"
    assert sorted([b, a]) == [a, b]
    assert parse_segment_name(a) == ("w1", 2, False)
    assert parse_segment_name(b) == ("w1", 10, True)
    for other in ("_schema.json", ".w1-000001.jsonl.active.tmp", "compacted", "x.jsonl.tmp"):
        assert parse_segment_name(other) is None


@given(
    name=st.text(min_size=1, max_size=30).filter(lambda n: n.strip() and n not in (".", "..")),
    key=st.sampled_from(["2026-11-26", "2026-11-26T13", "2026-11"]),
    batch=st.from_regex(r"[0-9A-Za-z_]{1,20}", fullmatch=True),
)
def test_parquet_names_round_trip(name: str, key: str, batch: str) -> None:
    """Every Parquet path is built and read back by layout alone (docs/contracts.md)."""
    try:
        encoded = encode_name(name)
    except InvalidVariableName:
        return
    rel = part_rel("float", encoded, key, part_file_name(batch))
    kind, folder, partition, filename = rel.split("/")
    assert kind_of_folder(kind) == "float" and kind_folder("float") == kind
    assert variable_rel("float", encoded) == f"{kind}/{folder}"
    assert variable_of_folder(folder) == encoded
    assert partition_of_folder(partition) == key
    assert partition_of_rel(rel) == key
    assert filename == f"part-{batch}.parquet"
    assert part_file_name(batch, temporary=True) == f".{filename}.tmp"
    assert variable_of_folder(partition) is None and partition_of_folder(folder) is None
    assert parquet_dir(Path("/s"), "float", name, key) == Path(
        "/s", PARQUET_DIR, kind, folder, partition
    )


def test_store_folders_are_named_in_layout() -> None:
    root = Path("/s")
    assert [log_root(root), journal_dir(root), quarantine_root(root)] == [
        root / "log",
        root / "_journal",
        root / "_quarantine",
    ]
    assert encoded_log_dir(root, "a%2Fb") == root / "log" / "a%2Fb"
    assert compacted_dir(root / "log" / "x") == root / "log" / "x" / "compacted"
