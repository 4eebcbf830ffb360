"""The public surface: `__all__` complete and sorted, errors subclass their built-ins."""

from __future__ import annotations

import importlib
import pkgutil

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


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (errors.InvalidVariableName, ValueError),
        (errors.InvalidTimestamp, ValueError),
        (errors.InvalidValue, ValueError),
        (errors.InvalidMetadata, ValueError),
        (errors.SettingsConflict, ValueError),
        (errors.SchemaMismatch, TypeError),
        (errors.VariableNotFound, KeyError),
        (errors.StoreClosed, RuntimeError),
        (errors.CompactionInProgress, RuntimeError),
        (errors.DurabilityError, OSError),
        (errors.CorruptFile, OSError),
    ],
)
def test_errors_subclass_base_and_builtin(error: type[Exception], builtin: type) -> None:
    assert issubclass(error, errors.HfdataError)
    assert issubclass(error, builtin)


def test_variable_not_found_message_is_not_quoted() -> None:
    assert str(errors.VariableNotFound("no variable 'x'")) == "no variable 'x'"
