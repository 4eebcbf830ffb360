"""The log writer's lock: a plain mutex whose uncontended acquire and release are single C calls.

The lock is taken once per appended point in `flush` mode, so its cost is part of every
append. `threading.Lock.acquire` parses its `blocking`/`timeout` arguments on each call;
a one-token `queue.SimpleQueue` does not: `acquire` takes the token (blocking while
another thread holds it) and `release` puts it back. Not reentrant, like `Lock`; safe on
free-threaded builds too.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from functools import partial

__all__ = ["Mutex"]


class Mutex:
    """A non-reentrant lock: `acquire()`, `release()`, `with mutex:`, `acquire_within(seconds)`."""

    __slots__ = ("_token", "acquire", "release")

    def __init__(self) -> None:
        token: queue.SimpleQueue[None] = queue.SimpleQueue()
        token.put(None)
        self._token = token
        self.acquire: Callable[[], None] = token.get
        self.release: Callable[[], None] = partial(token.put, None)

    def acquire_within(self, seconds: float) -> bool:
        """Take the mutex if it frees within `seconds`; False if it did not."""
        try:
            self._token.get(timeout=seconds)
        except queue.Empty:
            return False
        return True

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
