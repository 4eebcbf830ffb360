"""Value kinds: what a variable may hold, fixed by its first write in `_schema.json`.

`float` (any int or float, stored float64), `int` (only when asked for, int64),
`bool`, `string`, `json` (dicts and lists, stored as JSON text). `None` is a
missing value in every kind and fixes no kind. Non-finite floats are written as
the strings "NaN", "Infinity" and "-Infinity" so the log stays valid JSON.
"""

from __future__ import annotations

import math
from typing import Any, Final, Literal

import numpy as np
import orjson

from hfdata.errors import InvalidMetadata, InvalidValue, SchemaMismatch

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "KINDS",
    "METADATA_OPTS",
    "NONFINITE_TEXT",
    "Kind",
    "check_metadata",
    "infer_kind",
    "json_value",
    "metadata_too_large",
]

Kind = Literal["float", "int", "bool", "string", "json"]
KINDS: Final[tuple[Kind, ...]] = ("float", "int", "bool", "string", "json")
NONFINITE_TEXT: Final = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
# Metadata may hold numpy scalars (np.float64, np.int32, np.bool_, ...): JSON numbers/booleans.
METADATA_OPTS: Final = orjson.OPT_SERIALIZE_NUMPY


def infer_kind(value: object) -> Kind | None:
    """The kind a first value fixes, or None for a missing value."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int | float | np.integer | np.floating):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict | list):
        return "json"
    raise InvalidValue(
        f"cannot store a value of type {type(value).__name__} ({value!r:.80}); values are "
        "numbers, booleans, strings, None, or dicts/lists of JSON"
    )


def _mismatch(kind: Kind, value: object, variable: str) -> SchemaMismatch:
    return SchemaMismatch(
        f"variable {variable!r} holds {kind} values (fixed by its first write); got "
        f"{type(value).__name__} {value!r:.80}. Use another variable name for this data"
    )


def json_value(kind: Kind, value: Any, variable: str) -> Any:
    """The value as it goes into a JSON line, after checking it against the kind."""
    if value is None:
        return None
    if kind == "float":
        if isinstance(value, bool | np.bool_) or not isinstance(
            value, int | float | np.integer | np.floating
        ):
            raise _mismatch(kind, value, variable)
        number = float(value)
        if math.isfinite(number):
            return number
        return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")
    if kind == "int":
        if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
            raise _mismatch(kind, value, variable)
        number = int(value)
        if not INT64_MIN <= number <= INT64_MAX:
            raise InvalidValue(f"int value {number} does not fit in 64 bits")
        return number
    if kind == "bool":
        if not isinstance(value, bool | np.bool_):
            raise _mismatch(kind, value, variable)
        return bool(value)
    if kind == "string":
        if not isinstance(value, str):
            raise _mismatch(kind, value, variable)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidValue(f"string value is not valid Unicode text: {exc}") from exc
        return value
    if not isinstance(value, dict | list):
        raise _mismatch(kind, value, variable)
    try:
        orjson.dumps({"value": value})  # as deep as it sits in a line
    except TypeError as exc:
        raise InvalidValue(f"json value is not JSON-serializable: {exc}") from exc
    if _has_nonfinite(value):
        raise InvalidValue("json value contains NaN or infinity, which JSON cannot hold")
    return value


def _has_nonfinite(obj: object) -> bool:
    if isinstance(obj, float | np.floating):
        return not math.isfinite(obj)
    if isinstance(obj, np.ndarray):
        return obj.dtype.kind in "fc" and not bool(np.isfinite(obj).all())
    if isinstance(obj, dict):
        return any(_has_nonfinite(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return any(_has_nonfinite(v) for v in obj)
    return False


def check_metadata(metadata: object) -> None:
    """Raise `InvalidMetadata` unless metadata is a JSON object orjson can write faithfully."""
    if not isinstance(metadata, dict):
        raise InvalidMetadata(
            f"metadata must be a dict (a JSON object) or None, got {type(metadata).__name__}"
        )
    try:
        orjson.dumps({"metadata": metadata}, option=METADATA_OPTS)  # as deep as in a line
    except TypeError as exc:
        raise InvalidMetadata(
            f"metadata is not a JSON object with string keys and JSON values: {exc}"
        ) from exc
    if _has_nonfinite(metadata):
        raise InvalidMetadata(
            "metadata contains NaN or infinity, which JSON cannot hold; store it as a string"
        )


def metadata_too_large(size: int, limit: int) -> InvalidMetadata:
    """The error for one point's metadata that encodes to more than `limit` bytes."""
    return InvalidMetadata(
        f"metadata of one point is {size:,} bytes as JSON, over the limit of {limit:,} bytes; "
        "store large data as values of their own variable, or raise the limit with "
        "open_store(max_metadata_bytes=...)"
    )
