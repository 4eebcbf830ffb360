"""Every error hfdata raises, in one place.

Each error subclasses both :class:`HfdataError` and the built-in it resembles,
so callers can catch what they already know::

    HfdataError(Exception)
    ├── InvalidVariableName(HfdataError, ValueError)
    ├── InvalidTimestamp(HfdataError, ValueError)
    ├── InvalidValue(HfdataError, ValueError)
    ├── InvalidMetadata(HfdataError, ValueError)
    ├── InvalidInput(HfdataError, ValueError)
    ├── SettingsConflict(HfdataError, ValueError)
    ├── SchemaMismatch(HfdataError, TypeError)
    ├── VariableNotFound(HfdataError, KeyError)
    ├── StoreClosed(HfdataError, RuntimeError)
    ├── CompactionInProgress(HfdataError, RuntimeError)
    ├── DurabilityError(HfdataError, OSError)
    ├── CompactionFailed(HfdataError, OSError)
    ├── CorruptFile(HfdataError, OSError)
    └── MissingDependency(HfdataError, ImportError)

``InvalidValue``, ``InvalidMetadata``, ``InvalidInput``, ``SettingsConflict``, ``DurabilityError``,
``CompactionFailed`` (an I/O failure during `compact`/`optimize`, rolled back or
forward), ``CorruptFile`` (a damaged Parquet file) and ``MissingDependency`` (an optional extra
is not installed) are additions to the
design's list (see docs/decisions.md).
"""

from __future__ import annotations

__all__ = [
    "CompactionFailed",
    "CompactionInProgress",
    "CorruptFile",
    "DurabilityError",
    "HfdataError",
    "InvalidInput",
    "InvalidMetadata",
    "InvalidTimestamp",
    "InvalidValue",
    "InvalidVariableName",
    "MissingDependency",
    "SchemaMismatch",
    "SettingsConflict",
    "StoreClosed",
    "VariableNotFound",
]


class HfdataError(Exception):
    """Base class of every error hfdata raises on purpose."""


class InvalidVariableName(HfdataError, ValueError):
    """A variable name is empty, too long, `.`/`..`, or has control characters."""


class InvalidTimestamp(HfdataError, ValueError):
    """A timestamp cannot be parsed, is out of the nanosecond range, or is a bare number."""


class InvalidValue(HfdataError, ValueError):
    """A value is not a JSON number, boolean, string, null, object or array."""


class InvalidMetadata(HfdataError, ValueError):
    """Metadata is not a JSON object with string keys and finite numbers."""


class InvalidInput(HfdataError, ValueError):
    """Input text cannot be read as points as described, e.g. a CSV header that names
    neither `timestamp` nor the columns given with `--timestamp-column`."""


class SettingsConflict(HfdataError, ValueError):
    """An `open_store` argument contradicts what the store was created with."""


class SchemaMismatch(HfdataError, TypeError):
    """A value's kind differs from the kind fixed by the variable's first write."""


class VariableNotFound(HfdataError, KeyError):
    """The store has no variable of that name."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class StoreClosed(HfdataError, RuntimeError):
    """The store was closed; open a new one with `hfdata.open_store`."""


class CompactionInProgress(HfdataError, RuntimeError):
    """Another compaction holds the lock and the caller asked not to wait."""


class DurabilityError(HfdataError, OSError):
    """Writing or fsyncing a segment failed; the segment was closed, not trusted."""


class CompactionFailed(HfdataError, OSError):
    """`compact` or `optimize` hit an I/O error (disk full, a lost connection to the
    object store, ...); the batch was rolled back or forward, so no point is lost or
    doubled. `errno` and the cause (`__cause__`) are the original error's."""


class CorruptFile(HfdataError, OSError):
    """A stored Parquet file cannot be read; the message names it and what to do."""


class MissingDependency(HfdataError, ImportError):
    """An optional feature needs a package that is not installed (e.g. hfdata[s3])."""
