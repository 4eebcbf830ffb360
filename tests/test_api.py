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


MODULES = [
    info.name
    for info in pkgutil.walk_packages(hfdata.__path__, prefix="hfdata.")
    if info.name != "hfdata.__main__"  # the `python -m hfdata` script
]


def test_the_walk_sees_every_stage() -> None:
    assert {"hfdata.log.writer", "hfdata.compact.journal", "hfdata.tools.cli"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_every_module_declares_sorted_all(name: str) -> None:
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    assert list(module.__all__) == sorted(module.__all__, key=_isort_key)
    for attr in module.__all__:
        assert hasattr(module, attr), f"{name}.{attr}"


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
