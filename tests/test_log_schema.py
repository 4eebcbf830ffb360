"""A variable's `_schema.json` (`hfdata.log.schema`): an unreadable one is a `CorruptFile`."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hfdata
from hfdata.errors import CorruptFile, HfdataError
from hfdata.kinds import KINDS
from hfdata.layout import SCHEMA_FILE, log_dir
from hfdata.log.schema import load_schema, store_schema
from hfdata.tools.cli import main
from hfdata.tools.verify import verify

CORRUPT = [
    pytest.param(b"", id="empty"),
    pytest.param(b'{"kind":"flo', id="truncated"),
    pytest.param(b"\xff\xfe", id="not-utf8"),
    pytest.param(b"[]", id="a-list"),
    pytest.param(b'"float"', id="a-string"),
    pytest.param(b"{}", id="no-kind"),
    pytest.param(b'{"kind":"complex","format_version":1}', id="unknown-kind"),
    pytest.param(b'{"kind":3}', id="kind-not-text"),
    pytest.param(b'{"kind":["float"]}', id="kind-a-list"),
]


def _corrupt_variable(root: Path, variable: str, content: bytes) -> Path:
    directory = log_dir(root, variable)
    directory.mkdir(parents=True)
    path = directory / SCHEMA_FILE
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("content", CORRUPT)
def test_a_corrupt_schema_is_a_corrupt_file_naming_it(tmp_path: Path, content: bytes) -> None:
    path = _corrupt_variable(tmp_path, "v", content)
    with pytest.raises(CorruptFile) as info:
        load_schema(path.parent)
    assert isinstance(info.value, HfdataError)
    assert isinstance(info.value, OSError)
    assert str(path) in str(info.value)
    assert "write it again" in str(info.value)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    content=st.one_of(
        st.binary(max_size=40),
        st.builds(
            lambda kind, extra: orjson.dumps({"kind": kind, **extra}),
            st.one_of(st.sampled_from(KINDS), st.text(max_size=8), st.integers(-9, 9), st.none()),
            st.dictionaries(st.sampled_from(["format_version", "x"]), st.integers(0, 3)),
        ),
        st.builds(orjson.dumps, st.one_of(st.lists(st.integers(-9, 9)), st.text(), st.floats())),
    )
)
def test_load_schema_returns_a_kind_or_raises_corrupt_file(
    tmp_path_factory: pytest.TempPathFactory, content: bytes
) -> None:
    directory = tmp_path_factory.mktemp("schema")
    (directory / SCHEMA_FILE).write_bytes(content)
    try:
        record = orjson.loads(content)
    except orjson.JSONDecodeError:
        record = None
    valid = isinstance(record, dict) and record.get("kind") in KINDS
    if valid:
        assert isinstance(record, dict)
        assert load_schema(directory) == record["kind"]
    else:
        with pytest.raises(CorruptFile, match=str(directory / SCHEMA_FILE)):
            load_schema(directory)


def test_a_missing_schema_is_no_kind_and_a_stored_one_reads_back(tmp_path: Path) -> None:
    assert load_schema(tmp_path) is None
    assert store_schema(tmp_path, "int") == "int"
    assert load_schema(tmp_path) == "int"


def test_appending_to_a_variable_with_a_corrupt_schema_raises_corrupt_file(
    tmp_path: Path,
) -> None:
    with hfdata.open_store(tmp_path) as store:
        path = _corrupt_variable(tmp_path, "v", b"not json")
        with pytest.raises(CorruptFile, match=SCHEMA_FILE):
            store.append("v", "2026-11-26T00:00:00Z", 1.0)
    assert path.read_bytes() == b"not json"  # left for the user to repair, not replaced


def test_cli_reports_a_corrupt_schema_as_a_problem_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "store"
    assert main(["init", str(root)]) == 0
    path = _corrupt_variable(root, "v", b'{"kind":"complex"}')
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    code = main(["append", str(root), "v", "-"])
    err = capsys.readouterr().err
    assert code == 1, err  # a damaged file, not a usage error (2)
    [message] = err.strip().splitlines()
    assert message.startswith("hfdata: error: ")
    assert str(path) in message


def test_verify_reports_a_corrupt_schema_as_a_finding(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append("v", "2026-11-26T00:00:00Z", 1.0)
        store.append("w", "2026-11-26T00:00:00Z", 1.0)
    (log_dir(tmp_path, "v") / SCHEMA_FILE).write_bytes(b"not json")
    findings = verify(tmp_path)
    assert any("_schema.json" in f.message for f in findings)
