"""`with` support for objects that hold a resource and release it in `close()`.

The client (its HTTP connection pool) and the simulator's served mode (its server thread) both
release what they hold on leaving a `with` block, whatever happened inside it; this mixin is that
protocol written once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Self

__all__ = ["ClosesOnExit", "ClosesPool"]


class ClosesOnExit:
    """Mixin: `with obj:` gives `obj` and calls `obj.close()` on the way out, error or not.

    Exceptions raised in the block are never swallowed.
    """

    __slots__ = ()

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class ClosesPool(ClosesOnExit):
    """Mixin for an object that runs work on its thread pool `self.pool`: `close()` waits for
    the tasks already running and drops the queued ones, so read-ahead or imports that nobody
    will collect (the run failed or was cancelled) do not go on sending requests."""

    __slots__ = ()

    pool: ThreadPoolExecutor

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
