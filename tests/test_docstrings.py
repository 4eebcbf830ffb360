"""The public API is documented once, on `Store` and `open_store`, in numpy style.

Every public method and property of `Store`, and `open_store`, has a docstring with a
one-line summary and the numpydoc sections it needs: `Parameters` naming every
argument of its signature, `Returns` when it returns something other than None, and
`Raises` (a property raises nothing and needs none). No docstring sends the reader into
the internals ("see `hfdata.read...`"). numpydoc is not installed: sections are parsed
here, simply (a title line underlined with dashes).
"""

from __future__ import annotations

import builtins
import inspect
import re
from collections.abc import Callable
from typing import Any

import pytest

import hfdata
from hfdata import Store, open_store

_SECTION = re.compile(r"^(?P<title>[A-Z][A-Za-z ]+)\n-{3,}\n", re.MULTILINE)
_NAME_LINE = re.compile(r"^(?P<names>\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)(?:\s*:.*)?$")


def sections(doc: str) -> dict[str, str]:
    """A numpy-style docstring's sections by title (the text before the first is `""`)."""
    doc = inspect.cleandoc(doc)
    found: dict[str, str] = {}
    matches = list(_SECTION.finditer(doc))
    found[""] = doc[: matches[0].start()] if matches else doc
    ends = [m.start() for m in matches[1:]] + [len(doc)] if matches else []
    for match, end in zip(matches, ends, strict=True):
        found[match["title"]] = doc[match.end() : end]
    return found


def parameter_names(section: str) -> set[str]:
    """The names a `Parameters` section documents: its unindented lines, `a, b : type`."""
    names: set[str] = set()
    for line in section.splitlines():
        if not line or line[0].isspace():
            continue
        match = _NAME_LINE.match(line.strip())
        if match:
            names.update(n.strip().lstrip("*") for n in match["names"].split(","))
    return names


def public_api() -> list[tuple[str, Any]]:
    """`open_store` and every public method and property of `Store`."""
    members: list[tuple[str, Any]] = [("open_store", open_store)]
    for name, member in vars(Store).items():
        if name.startswith("_"):
            continue
        if isinstance(member, property) or inspect.isfunction(member):
            members.append((f"Store.{name}", member))
    return members


def _function(member: Any) -> Callable[..., Any] | None:
    return None if isinstance(member, property) else member


API = public_api()


def test_the_api_list_covers_the_facade() -> None:
    names = {name for name, _ in API}
    expected = {
        "open_store",
        "Store.append",
        "Store.append_many",
        "Store.flush",
        "Store.rotate",
        "Store.close",
        "Store.closed",
        "Store.compact",
        "Store.optimize",
        "Store.prune_log",
        "Store.drop",
        "Store.read",
        "Store.scan",
        "Store.variables",
        "Store.info",
        "Store.to_dask",
    }
    assert expected <= names


@pytest.mark.parametrize(("name", "member"), API, ids=[name for name, _ in API])
def test_public_docstring_has_the_numpy_sections(name: str, member: Any) -> None:
    doc = member.__doc__
    assert doc, f"{name} has no docstring"
    parts = sections(doc)
    summary = parts[""].strip().splitlines()
    assert summary, f"{name}: no one-line summary"
    assert summary[0].endswith("."), f"{name}: the summary line is not one sentence"
    function = _function(member)
    if function is None:  # a property: what it gives
        assert "Returns" in parts, f"{name}: no Returns section"
        return
    signature = inspect.signature(function)
    arguments = [p for p in signature.parameters if p != "self"]
    if arguments:
        assert "Parameters" in parts, f"{name}: no Parameters section"
        documented = parameter_names(parts["Parameters"])
        missing = [a for a in arguments if a not in documented]
        assert not missing, f"{name}: Parameters does not name {missing}"
        unknown = documented - set(arguments)
        assert not unknown, f"{name}: Parameters names {sorted(unknown)}, not in the signature"
    if signature.return_annotation not in (None, "None", inspect.Signature.empty):
        assert "Returns" in parts, f"{name}: returns {signature.return_annotation}, no Returns"
    assert "Raises" in parts, f"{name}: no Raises section"


@pytest.mark.parametrize(("name", "member"), API, ids=[name for name, _ in API])
def test_raises_names_errors_that_exist(name: str, member: Any) -> None:
    """Every error a `Raises` section names is an hfdata error or a built-in one."""
    raises = sections(member.__doc__ or "").get("Raises", "")
    for line in raises.splitlines():
        if not line or line[0].isspace():
            continue
        for error in (e.strip() for e in line.split(",")):
            known = getattr(hfdata, error, None) or getattr(builtins, error, None)
            assert isinstance(known, type), f"{name}: Raises names unknown {error!r}"
            assert issubclass(known, BaseException), f"{name}: {error!r} is not an error"


@pytest.mark.parametrize(("name", "member"), API, ids=[name for name, _ in API])
def test_no_pointer_into_the_internals(name: str, member: Any) -> None:
    """The public docstring is the one place a user reads: no "see hfdata.read..."."""
    doc = member.__doc__ or ""
    assert not re.search(r"\b[Ss]ee `?hfdata\.(read|log|compact|parquet)\b", doc), name


def test_sections_parser() -> None:
    doc = """Summary line.

    More text.

    Parameters
    ----------
    a, b : int
        Two.
    *args
        More.

    Returns
    -------
    int
        The sum.
    """
    parts = sections(doc)
    assert parts[""].strip() == "Summary line.\n\nMore text."
    assert set(parts) == {"", "Parameters", "Returns"}
    assert parameter_names(parts["Parameters"]) == {"a", "b", "args"}
    assert parameter_names(parts["Returns"]) == {"int"}
