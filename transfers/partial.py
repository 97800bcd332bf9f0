"""A run that stopped midway, holding what it had done: the failure both transfer engines
raise (aggregate values in `transfers.engine`, events in `tracker.engine`). Plain Python."""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["StoppedMidway"]

R = TypeVar("R")


class StoppedMidway(Exception, Generic[R]):
    """The run stopped midway; `result` holds what was done so far (its engine's result)."""

    def __init__(self, message: str, result: R) -> None:
        super().__init__(message)
        self.result = result
