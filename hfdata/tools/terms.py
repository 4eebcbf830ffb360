"""Library messages in the command line's terms: Python argument names become flags.

The library's `InvalidArgument` names its argument (`exc.argument`) and speaks Python
(`window='0s'`, `` `min_points` ``, `read(resample=...)`). A command passes the mapping
from argument names to its own flags; `cli_message` respells the message's first line
with them and names the flag when the message does not. `cli.main` applies `COMMON` to
every command's errors, so `--start` is named whichever command read it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from hfdata.errors import InvalidArgument

__all__ = ["COMMON", "cli_message"]

# The arguments every reading command sets by the same flag.
COMMON: Final[Mapping[str, str]] = {
    "start": "--start",
    "end": "--end",
    "as_of": "--as-of",
}
_CALLS: Final = (  # Python calls a message suggests, as commands
    (re.compile(r"\bread\(resample=\.\.\.\)"), "'hfdata read --resample'"),
    (re.compile(r"\bread\(\)( or around\(\))?"), "'hfdata read'"),
)
# Arguments whose names are not English words, so a bare mention is the argument.
_BARE: Final = frozenset({"agg", "funcs", "min_points", "max_hold", "as_of", "min_gap"})


def cli_message(exc: InvalidArgument, flags: Mapping[str, str] = COMMON) -> str:
    """The first line of `exc` with the Python argument names of `flags` spelled as the
    flags that set them (`window='0s'` -> `--window '0s'`, `start (...)` -> `--start
    (...)`), naming `exc.argument`'s flag first if the message does not."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    names = "|".join(map(re.escape, sorted(flags, key=len, reverse=True)))
    bare = "|".join(sorted(name for name in _BARE if name in flags)) or "(?!)"
    # `name`, name=, a message's first word and a name before its value in parentheses
    # (`end (2026-...)`) are argument names; so is a bare word that is not English.
    spelled = re.compile(  # (?<![-\w]): never inside a flag already spelled (--start)
        rf"`({names})`|(?<![-\w])({names})= ?|^({names})\b|(?<![-\w])({bare})\b"
        rf"|(?<![-\w])({names})(?= \()"
    )

    def flag(match: re.Match[str]) -> str:
        name = match[1] or match[2] or match[3] or match[4] or match[5]
        return flags[name] + (" " if match[2] else "")

    text = spelled.sub(flag, text)
    for call, command in _CALLS:
        text = call.sub(command, text)
    wanted = flags.get(exc.argument, "")
    if wanted and wanted not in text:
        text = f"{wanted}: {text}"
    return text
