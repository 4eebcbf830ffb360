"""Every error hfdata raises, in one place.

Each error subclasses both :class:`HfdataError` and the built-in it resembles,
so callers can catch what they already know::

    HfdataError(Exception)
    ├── InvalidVariableName(HfdataError, ValueError)
    ├── InvalidTimestamp(HfdataError, ValueError)
    ├── InvalidValue(HfdataError, ValueError)
    ├── InvalidMetadata(HfdataError, ValueError)
    ├── InvalidInput(HfdataError, ValueError)
    ├── InvalidArgument(HfdataError, ValueError)
    ├── SettingsConflict(HfdataError, ValueError)
    ├── SchemaMismatch(HfdataError, TypeError)
    ├── VariableNotFound(HfdataError, KeyError)
    ├── StoreClosed(HfdataError, RuntimeError)
    ├── AggregationFailed(HfdataError, RuntimeError)
    ├── CompactionInProgress(HfdataError, RuntimeError)
    ├── UpgradeRequired(HfdataError, RuntimeError)
    ├── DurabilityError(HfdataError, OSError)
    ├── CompactionFailed(HfdataError, OSError)
    ├── CorruptFile(HfdataError, OSError)
    ├── ResultTooLarge(HfdataError, MemoryError)
    └── MissingDependency(HfdataError, ImportError)

``UpgradeRequired`` a store of an older format version, opened without `upgrade=True`
(`hfdata upgrade DIR` upgrades it). ``CompactionFailed`` is an I/O failure during
`compact`/`optimize` (rolled back or forward), ``CorruptFile`` a damaged stored file,
``InvalidInput`` input text hfdata would not read whole (a header naming no known column,
keys it would drop), ``InvalidArgument`` an argument a call does not accept: unknown, out
of range, or contradicting another (`fill` without `resample`, an unknown `direction`, a
negative `tolerance`, an empty `at`; `argument` names it, so the command line can name its
flag), ``AggregationFailed`` an aggregation function given as `agg=` that raised (the
message names the aggregation and the bin or window), ``ResultTooLarge`` a resample grid
above `read(max_rows=)` (refused
before it is built), ``MissingDependency`` an optional extra that is not installed. Why each
exists is in docs/decisions.md.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = [
    "AggregationFailed",
    "CompactionFailed",
    "CompactionInProgress",
    "CorruptFile",
    "DurabilityError",
    "HfdataError",
    "InvalidArgument",
    "InvalidInput",
    "InvalidMetadata",
    "InvalidTimestamp",
    "InvalidValue",
    "InvalidVariableName",
    "MissingDependency",
    "ResultTooLarge",
    "SchemaMismatch",
    "SettingsConflict",
    "StoreClosed",
    "UpgradeRequired",
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


class InvalidArgument(HfdataError, ValueError):
    """An argument is outside what the call accepts: unknown, out of range, or
    contradicting another (`fill` without `resample`, a negative `limit`, an unknown
    aggregation or `direction`, a negative `tolerance` or `before`, an empty `at`).
    `argument` is its name (`"fill"`, `"agg"`, `"at"`, ...), so the command line can
    name its flag."""

    def __init__(self, message: str, *, argument: str = "") -> None:
        super().__init__(message)
        self.argument = argument

    def __reduce__(self) -> tuple[Any, tuple[str]]:  # pickles with its argument
        return functools.partial(type(self), argument=self.argument), (str(self.args[0]),)


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


class AggregationFailed(HfdataError, RuntimeError):
    """A function given as `read(agg=...)` raised (or returned more than one value) on
    a bin; the message names the aggregation and the bin's label, `__cause__` is the
    function's own error. `agg` is the aggregation's column name, `label` the bin's."""

    def __init__(self, message: str, *, agg: str = "", label: str = "") -> None:
        super().__init__(message)
        self.agg = agg
        self.label = label

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return functools.partial(type(self), agg=self.agg, label=self.label), (str(self.args[0]),)


class CompactionInProgress(HfdataError, RuntimeError):
    """Another compaction holds the lock and the caller asked not to wait."""


class UpgradeRequired(HfdataError, RuntimeError):
    """The store has an older format version than this hfdata writes; it is upgraded
    once, by `hfdata upgrade DIR` or `open_store(..., upgrade=True)`, and refused until
    then (an upgrade cut short is finished the same way)."""


class DurabilityError(HfdataError, OSError):
    """Writing or fsyncing a segment failed; the segment was closed, not trusted."""


class CompactionFailed(HfdataError, OSError):
    """`compact` or `optimize` hit an I/O error (disk full, a lost connection to the
    object store, ...); the batch was rolled back or forward, so no point is lost or
    doubled. `errno` and the cause (`__cause__`) are the original error's."""

    def __init__(self, message: str, *, errno: int | None = None) -> None:
        # OSError's own shapes: with an errno, `str()` reads "[Errno n] message".
        if errno is None:
            super().__init__(message)
        else:
            super().__init__(errno, message)

    def __reduce__(self) -> tuple[Any, tuple[str]]:  # pickles through the one shape
        message = self.args[0] if self.errno is None else self.strerror
        return functools.partial(type(self), errno=self.errno), (str(message),)


class CorruptFile(HfdataError, OSError):
    """A stored file (a Parquet file, `hfdata.json`) cannot be read or used; the message
    names it and what to do."""


class ResultTooLarge(HfdataError, MemoryError):
    """A read would build more rows than `max_rows` (a resample grid over a long span);
    refused before anything is allocated. `rows` is the count (or an upper bound of
    it), `limit` the `max_rows` it exceeds."""

    def __init__(self, message: str, *, rows: int = 0, limit: int = 0) -> None:
        super().__init__(message)
        self.rows = rows
        self.limit = limit


class MissingDependency(HfdataError, ImportError):
    """An optional feature needs a package that is not installed (e.g. hfdata[s3])."""
