"""`drop`: a variable removed whole (log with its schema, Parquet, quarantine).

Its Parquet is made invisible and its folders renamed to hidden trash names under the
publish lock, so readers see the variable whole or gone; the trash is deleted after
(an interrupted drop's trash is swept by the next job, `hfdata.compact.recovery`).
Its stats and rollup sidecars go last: once its Parquet is gone they are orphans, which
readers ignore (and `upgrade` sweeps, should a drop be cut short there).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hfdata.compact.derive import forget
from hfdata.compact.quarantine import quarantine_dir
from hfdata.compact.recovery import compact_lock
from hfdata.durable import fsync_dir
from hfdata.errors import VariableNotFound
from hfdata.layout import encode_name, encoded_log_dir, trash_name
from hfdata.locks import PUBLISH_LOCK, flock
from hfdata.parquet.root import PartsRoot
from hfdata.settings import StoreSettings

__all__ = ["drop"]


def drop(root: Path, settings: StoreSettings, variable: str, parts: PartsRoot) -> None:
    """Remove a variable entirely: log (with its schema), Parquet and quarantine.

    Its Parquet is made invisible and its folders renamed to hidden trash names under the
    publish lock (so readers see the variable whole or gone), then deleted.
    """
    encoded = encode_name(variable)
    targets = [encoded_log_dir(root, encoded), quarantine_dir(root, encoded)]
    with compact_lock(root, True, parts):
        present = [t for t in targets if t.exists()]
        held = parts.holds(encoded)
        if not present and not held:
            raise VariableNotFound(f"store {root} has no variable {variable!r}")
        with flock(root / PUBLISH_LOCK):
            trash = parts.drop(encoded) if held else []
            for target in present:
                moved = target.with_name(trash_name(target.name))
                os.rename(target, moved)
                fsync_dir(target.parent)
                trash.append(moved)
        for moved in trash:
            shutil.rmtree(moved, ignore_errors=True)
        forget(parts, settings, encoded)  # its sidecars, orphans now
