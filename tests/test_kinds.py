"""Value kinds: inference, checking, and the create-exclusive `_schema.json`."""

from __future__ import annotations

import math
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from hfdata.errors import InvalidMetadata, InvalidValue, SchemaMismatch
from hfdata.kinds import check_metadata, infer_kind, json_value
from hfdata.log.schema import load_schema, store_schema


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (1, "float"),
        (1.5, "float"),
        (np.float32(1), "float"),
        (np.int64(3), "float"),
        (True, "bool"),
        (np.bool_(False), "bool"),
        ("x", "string"),
        ({"a": 1}, "json"),
        ([1, 2], "json"),
        (None, None),
    ],
)
def test_infer_kind(value: object, kind: str | None) -> None:
    assert infer_kind(value) == kind


def test_infer_refuses_other_types() -> None:
    with pytest.raises(InvalidValue, match="bytes"):
        infer_kind(b"raw")
    with pytest.raises(InvalidValue):
        infer_kind(object())


def test_float_kind_spells_nonfinite_as_text() -> None:
    assert json_value("float", math.nan, "v") == "NaN"
    assert json_value("float", math.inf, "v") == "Infinity"
    assert json_value("float", -math.inf, "v") == "-Infinity"
    assert json_value("float", 3, "v") == 3.0
    assert json_value("float", None, "v") is None


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("float", "3.5"),
        ("float", True),
        ("int", 1.0),
        ("int", True),
        ("bool", 1),
        ("string", 1),
        ("json", "text"),
    ],
)
def test_wrong_kind_is_schema_mismatch(kind: str, value: object) -> None:
    with pytest.raises(SchemaMismatch, match="first write"):
        json_value(kind, value, "v")  # type: ignore[arg-type]


def test_int_kind_range() -> None:
    assert json_value("int", 2**63 - 1, "v") == 2**63 - 1
    with pytest.raises(InvalidValue, match="64 bits"):
        json_value("int", 2**63, "v")


def test_json_values_must_be_json() -> None:
    assert json_value("json", {"a": [1, None]}, "v") == {"a": [1, None]}
    with pytest.raises(InvalidValue):
        json_value("json", {"a": object()}, "v")
    with pytest.raises(InvalidValue, match="NaN"):
        json_value("json", [1.0, math.nan], "v")


@pytest.mark.parametrize(
    "metadata",
    [["list"], "text", {1: "int key"}, {"x": object()}, {"x": math.nan}, {"x": {"y": [math.inf]}}],
    ids=repr,
)
def test_bad_metadata(metadata: object) -> None:
    with pytest.raises(InvalidMetadata):
        check_metadata(metadata)


def test_schema_file_first_writer_wins(tmp_path: Path) -> None:
    assert load_schema(tmp_path) is None
    results: list[str] = []

    def race(kind: str) -> None:
        results.append(store_schema(tmp_path, kind))  # type: ignore[arg-type]

    threads = [threading.Thread(target=race, args=(k,)) for k in ("float", "string") * 8]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winner = load_schema(tmp_path)
    assert winner in ("float", "string")
    assert set(results) == {winner}
    assert [p.name for p in tmp_path.iterdir()] == ["_schema.json"]


def test_schema_survives_short_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.write

    def one_byte(fd: int, data: bytes) -> int:
        return real(fd, bytes(data[:1]))

    monkeypatch.setattr("hfdata.log.schema.os.write", one_byte)
    assert store_schema(tmp_path, "string") == "string"
    monkeypatch.undo()
    assert load_schema(tmp_path) == "string"
