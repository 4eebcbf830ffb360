"""Import the files the original `store_data_point` module wrote.

That module appended `json.dumps({"timestamp": ts, "value": v, "metadata": m})`
plus a newline to `<base_dir>/<variable>.jsonl`, where `ts` was
`datetime.isoformat()` (naive or with an offset) or whatever string the caller
gave, `metadata` was an object or `null`, and floats could be the bare `NaN` /
`Infinity` literals Python's `json` writes. A name with `/` made a subfolder, so
the variable is the file's path below the source folder, without `.jsonl`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from hfdata.errors import InvalidVariableName
from hfdata.kinds import Kind
from hfdata.layout import JOURNAL_DIR, LOG_DIR, PARQUET_DIR, QUARANTINE_DIR, validate_name
from hfdata.settings import SETTINGS_FILE
from hfdata.store import Store
from hfdata.timeparse import TimeRules
from hfdata.tools.ingest import (
    DEFAULT_BATCH_ROWS,
    IngestReport,
    PointParser,
    ingest,
    jsonl_rows,
    resolve_kind,
)

__all__ = ["LegacyFile", "find_legacy_files", "import_file"]

SUFFIX: Final = ".jsonl"
# Folders of an hfdata store: skipped when the source folder is itself a store (the
# compatibility class opens its store in the original base_dir, next to the old files).
_STORE_DIRS: Final = frozenset({LOG_DIR, PARQUET_DIR, JOURNAL_DIR, QUARANTINE_DIR})


@dataclass(frozen=True, slots=True)
class LegacyFile:
    """One original-format file and the variable its points belong to."""

    path: Path
    variable: str


def find_legacy_files(source: Path) -> tuple[list[LegacyFile], list[str]]:
    """The `<variable>.jsonl` files under `source` (or `source` itself if it is a file).

    Returns the files, sorted by variable, and a note for each file skipped because
    its name is not a legal variable name.
    """
    if source.is_file():
        candidates = [(source, source.name)]
    else:
        is_store = (source / SETTINGS_FILE).exists()
        candidates = []
        for path in sorted(source.rglob(f"*{SUFFIX}")):
            relative = path.relative_to(source)
            parts = relative.parts
            if any(p.startswith(".") for p in parts) or not path.is_file():
                continue
            if is_store and parts[0] in _STORE_DIRS:
                continue
            candidates.append((path, relative.as_posix()))
    files: list[LegacyFile] = []
    skipped: list[str] = []
    for path, name in candidates:
        variable = name.removesuffix(SUFFIX)
        try:
            validate_name(variable)
        except InvalidVariableName as exc:
            skipped.append(f"{path}: skipped, {exc}")
            continue
        files.append(LegacyFile(path, variable))
    files.sort(key=lambda f: f.variable)
    return files, skipped


def import_file(
    store: Store,
    legacy: LegacyFile,
    rules: TimeRules,
    *,
    kind: Kind | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> IngestReport:
    """Append every good line of one legacy file to its variable; report the bad ones.

    Naive timestamps are read in `rules.naive_tz` (the original wrote `datetime.now()`,
    local time, so pass the zone it ran in); numbers need `rules.epoch_unit`.
    """
    parser = PointParser(legacy.variable, resolve_kind(store, legacy.variable, kind), rules)
    with legacy.path.open("rb") as stream:
        return ingest(
            store,
            legacy.variable,
            jsonl_rows(stream),
            parser.json_object,
            parser,
            source=str(legacy.path),
            batch_rows=batch_rows,
            fixed_kind=kind,
        )
