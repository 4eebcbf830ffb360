"""The public surface: `__all__` complete and sorted, errors subclass their built-ins."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import hfdata
from hfdata import errors


def _isort_key(name: str) -> tuple[int, str]:
    """Ruff's RUF022 order: CONSTANTS, then Classes, then functions."""
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name


def test_top_level_all_is_sorted_and_complete() -> None:
    assert hfdata.__all__ == sorted(hfdata.__all__, key=_isort_key)
    for name in hfdata.__all__:
        assert hasattr(hfdata, name), name
    public_errors = {n for n in errors.__all__}
    assert public_errors <= set(hfdata.__all__)


# Every module of the package, in every subpackage; the packages themselves only describe
# their stage (hfdata's own __all__ is checked above) and __main__ is a script.
MODULES = [
    m.name
    for m in pkgutil.walk_packages(hfdata.__path__, "hfdata.")
    if not m.ispkg and m.name != "hfdata.__main__"
]


@pytest.mark.parametrize("name", MODULES, ids=lambda n: n.removeprefix("hfdata."))
def test_every_module_declares_sorted_all(name: str) -> None:
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    assert list(module.__all__) == sorted(module.__all__, key=_isort_key)
    for attribute in module.__all__:
        assert hasattr(module, attribute), f"{name}.{attribute}"


# Every public error and the built-in it resembles (the tree in hfdata/errors.py).
ERRORS_AND_BUILTINS: list[tuple[type[errors.HfdataError], type[Exception]]] = [
    (errors.InvalidVariableName, ValueError),
    (errors.InvalidTimestamp, ValueError),
    (errors.InvalidValue, ValueError),
    (errors.InvalidMetadata, ValueError),
    (errors.InvalidInput, ValueError),
    (errors.InvalidArgument, ValueError),
    (errors.AggregationFailed, RuntimeError),
    (errors.SettingsConflict, ValueError),
    (errors.SchemaMismatch, TypeError),
    (errors.VariableNotFound, KeyError),
    (errors.StoreClosed, RuntimeError),
    (errors.CompactionInProgress, RuntimeError),
    (errors.UpgradeRequired, RuntimeError),
    (errors.DurabilityError, OSError),
    (errors.CompactionFailed, OSError),
    (errors.CorruptFile, OSError),
    (errors.ResultTooLarge, MemoryError),
    (errors.MissingDependency, ImportError),
]


def _public_errors() -> set[type[errors.HfdataError]]:
    """The error classes `hfdata.errors.__all__` exports, the base class aside."""
    found = {getattr(errors, name) for name in errors.__all__}
    return {e for e in found if isinstance(e, type) and issubclass(e, errors.HfdataError)} - {
        errors.HfdataError
    }


def test_every_public_error_is_checked() -> None:
    """The table above cannot drift: it names every error class `errors.__all__` exports."""
    assert {e for e, _ in ERRORS_AND_BUILTINS} == _public_errors()
    assert set(errors.__all__) == {e.__name__ for e in _public_errors()} | {"HfdataError"}


def test_error_tree_in_the_docstring_matches_the_classes() -> None:
    assert errors.__doc__ is not None
    drawn = dict(re.findall(r"── (\w+)\(HfdataError, (\w+)\)", errors.__doc__))
    assert drawn == {e.__name__: b.__name__ for e, b in ERRORS_AND_BUILTINS}


@pytest.mark.parametrize(("error", "builtin"), ERRORS_AND_BUILTINS, ids=lambda x: x.__name__)
def test_errors_subclass_base_and_builtin(error: type[Exception], builtin: type) -> None:
    assert issubclass(error, errors.HfdataError)
    assert issubclass(error, builtin)


def test_variable_not_found_message_is_not_quoted() -> None:
    assert str(errors.VariableNotFound("no variable 'x'")) == "no variable 'x'"
