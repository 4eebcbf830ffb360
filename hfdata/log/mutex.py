"""The log writer's lock: a plain mutex whose uncontended acquire and release are single C calls.

The lock is taken once per appended point in `flush` mode, so its cost is part of every
append. `threading.Lock.acquire` parses its `blocking`/`timeout` arguments on each call;
a `queue.SimpleQueue` holding one token does not: `acquire` (`get`) takes the token,
blocking while another thread holds it, and `put(None)` puts it back. Not reentrant,
like `Lock`; safe on free-threaded builds too.
"""

from __future__ import annotations

import queue

__all__ = ["Mutex"]


class Mutex(queue.SimpleQueue[None]):
    """A non-reentrant lock: `acquire()`, `release()`, `with mutex:`, `acquire_within(seconds)`.

    The append path releases it with `put(None)`, the C method itself.
    """

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__()
        self.put(None)

    acquire = queue.SimpleQueue.get

    def release(self) -> None:
        self.put(None)

    def acquire_within(self, seconds: float) -> bool:
        """Take the mutex if it frees within `seconds`; False if it did not."""
        try:
            self.get(timeout=seconds)
        except queue.Empty:
            return False
        return True

    def __enter__(self) -> None:
        self.get()

    def __exit__(self, *exc: object) -> None:
        self.put(None)
