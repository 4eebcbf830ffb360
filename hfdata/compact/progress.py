"""The progress bar of a long compaction or optimize (tqdm), shown when someone watches."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["progress_bar"]


def _interactive() -> bool:
    """A terminal or a notebook is watching."""
    try:
        shell = sys.modules["IPython"].get_ipython()
        if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
            return True
    except (KeyError, AttributeError):
        pass
    return sys.stderr is not None and sys.stderr.isatty()


def progress_bar(progress: bool | None, total: int, desc: str, unit: str) -> Any:
    if not (_interactive() if progress is None else progress):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, leave=False)
