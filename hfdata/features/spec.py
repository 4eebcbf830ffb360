"""The arguments of `Store.features`, checked and resolved before anything is read.

`parse_features` turns `funcs` into `Feature`s: each is one of `read`'s window
aggregations (`hfdata.read.windows`: mean, std, quantiles, ...), `twa`, one of the
kernels of `hfdata.features.kernels` (skew, kurt, slope, ...), or a callable taking the
window's values, or `(values, seconds since the window's start)` when it takes two
positional arguments. `parse_duration` reads `window` and `stride`. Every refusal is an
`InvalidArgument` naming the argument, so the command line can name its flag.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, Literal

import pandas as pd
from pandas.tseries.frequencies import to_offset

from hfdata.errors import InvalidArgument
from hfdata.features.kernels import KERNELS
from hfdata.read.windows import NAMED, WindowAgg, parse_window_aggs

__all__ = [
    "HOWS",
    "Feature",
    "How",
    "parse_duration",
    "parse_features",
    "parse_workers",
]

How = Literal["long", "wide"]
HOWS: Final = ("long", "wide")
FEATURE_NAMES: Final = (*NAMED, "twa", *KERNELS)
_HELP: Final = (
    f"use names of {', '.join(FEATURE_NAMES)}, a quantile ('q90' or ('quantile', 0.9)), "
    "or a callable; a list of them, or a dict {column: one of them}"
)


@dataclass(frozen=True, slots=True)
class Feature:
    """One output column: its `name`, and how it is computed: `agg` (one of `read`'s
    window aggregations, `twa` included), `kernel` (a name of `KERNELS`) or `func` (a
    callable; `timed` when it takes the seconds since the window's start as well)."""

    name: str
    agg: WindowAgg | None = None
    kernel: str | None = None
    func: Callable[..., Any] | None = None
    timed: bool = False


def parse_features(funcs: Any) -> tuple[Feature, ...]:
    """The features `funcs` asks for: a name, a quantile, a callable, a list of them or
    a `{column: spec}` dict; column names must be distinct."""
    if isinstance(funcs, Mapping):
        if any(not isinstance(k, str) or not k for k in funcs):
            raise InvalidArgument(
                f"funcs: the keys of a dict are column names (text), got {list(funcs)!r}",
                argument="funcs",
            )
        features = [_one(spec, name) for name, spec in funcs.items()]
    elif isinstance(funcs, list | tuple) and not _quantile_pair(funcs):
        features = [_one(spec, None) for spec in funcs]
    else:
        features = [_one(funcs, None)]
    names = [f.name for f in features]
    if not features or len(set(names)) != len(names):
        raise InvalidArgument(
            f"funcs must name one or more distinct features, got {funcs!r}", argument="funcs"
        )
    return tuple(features)


def _quantile_pair(spec: Any) -> bool:
    return isinstance(spec, tuple) and len(spec) == 2 and spec[0] == "quantile"


def _one(spec: Any, name: str | None) -> Feature:
    if isinstance(spec, str) and spec in KERNELS:
        return Feature(name or spec, kernel=spec)
    if isinstance(spec, str) and spec == "ohlc":
        raise InvalidArgument(
            "funcs: 'ohlc' is four features; ask for 'first', 'max', 'min', 'last'",
            argument="funcs",
        )
    if callable(spec) and not isinstance(spec, str):
        label = name or str(getattr(spec, "__name__", "") or type(spec).__name__)
        if label == "<lambda>":
            raise InvalidArgument(
                "funcs: a lambda needs a column name; pass a dict such as "
                "{'p90': lambda v: np.quantile(v, 0.9)}",
                argument="funcs",
            )
        return Feature(label, func=spec, timed=_takes_two(spec, label))
    try:
        [agg] = parse_window_aggs(spec if name is None else {name: spec})
    except InvalidArgument as exc:
        raise InvalidArgument(
            f"funcs: {spec!r} is not a feature; {_HELP}", argument="funcs"
        ) from exc
    return Feature(agg.name, agg=agg)


def _takes_two(func: Callable[..., Any], name: str) -> bool:
    """Whether `func` takes two positional arguments (values, seconds) rather than one."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # a builtin without a signature: values only
        return False
    positional = [
        p
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    required = [p for p in positional if p.default is p.empty]
    if any(p.kind == p.VAR_POSITIONAL for p in signature.parameters.values()):
        return False
    if len(required) > 2 or not positional:
        raise InvalidArgument(
            f"funcs: {name!r} must take the window's values, or (values, seconds since the "
            f"window's start); it takes {signature}",
            argument="funcs",
        )
    return len(required) == 2


def parse_duration(value: Any, argument: str) -> int:
    """A positive fixed duration ('10s', '1min', '2h', '1D', a timedelta) in ns, or an
    `InvalidArgument` naming `argument` (zero, negative, or a calendar rule)."""
    help_ = "use a fixed duration such as '10s', '500ms', '1min', '1h' or a timedelta"
    if value is None or isinstance(value, bool):
        raise InvalidArgument(f"{argument} is required; {help_}", argument=argument)
    try:
        if isinstance(value, timedelta | pd.Timedelta):
            ns = int(pd.Timedelta(value).value)
        else:
            offset = to_offset(value)
            nanos = None  # fixed-length rules only (a 'D' is 24 h in UTC)
            if isinstance(offset, pd.offsets.Tick):
                nanos = offset.nanos
            elif isinstance(offset, pd.offsets.Day):
                nanos = offset.n * 86_400_000_000_000
            if nanos is None:
                raise InvalidArgument(
                    f"{argument}={value!r} is a calendar rule (its length varies); {help_}",
                    argument=argument,
                )
            ns = int(nanos)
    except (ValueError, TypeError) as exc:
        if isinstance(exc, InvalidArgument):
            raise
        raise InvalidArgument(
            f"{argument}={value!r} is not a duration; {help_}", argument=argument
        ) from exc
    if ns <= 0:
        raise InvalidArgument(f"{argument}={value!r} must be positive; {help_}", argument=argument)
    return ns


def parse_workers(workers: Any, cores: int) -> int:
    """`workers` as a count of processes (None: the cores)."""
    if workers is None:
        return max(1, cores)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidArgument(
            f"workers={workers!r} must be a whole number of processes, at least 1 (or None: "
            "one per core)",
            argument="workers",
        )
    return workers
