"""`with` support for objects that hold a resource and release it in `close()`.

The client (its HTTP connection pool) and the simulator's served mode (its server thread) both
release what they hold on leaving a `with` block, whatever happened inside it; this mixin is that
protocol written once.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

__all__ = ["ClosesOnExit"]


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
