"""Job kinds by key, as the task runner and older callers look them up.

This is a view of `jobs.registry.OPERATIONS`, which is the one place operations are declared:
adding an operation there makes its kind known here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

from .registry import OPERATIONS, get_operation, kind_choices

if TYPE_CHECKING:
    from .context import RunContext

__all__ = ["KINDS", "JobKind", "get_kind", "kind_choices"]


@dataclass(frozen=True)
class JobKind:
    key: str
    label: str
    handler: str  # "package.module.function"

    def resolve(self) -> Callable[[RunContext], str | None]:
        module, _, name = self.handler.rpartition(".")
        return getattr(import_module(module), name)


KINDS: dict[str, JobKind] = {
    op.key: JobKind(op.key, op.label, op.task) for op in OPERATIONS.values()
}


def get_kind(key: str) -> JobKind:
    op = get_operation(key)
    return KINDS[op.key]
