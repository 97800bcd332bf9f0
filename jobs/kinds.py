"""The one explicit map of job kinds to their handlers.

A handler takes a `RunContext` and returns a `Run.Status` (succeeded or warning) or None
(succeeded); raising ends the run as failed. Handlers are named by dotted path so that this module
imports no app code and any app can be added with one line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .context import RunContext


@dataclass(frozen=True)
class JobKind:
    key: str
    label: str
    handler: str  # "package.module.function"

    def resolve(self) -> Callable[[RunContext], str | None]:
        module, _, name = self.handler.rpartition(".")
        return getattr(import_module(module), name)


KINDS: dict[str, JobKind] = {
    k.key: k
    for k in (
        JobKind("connection_check", "Connection check", "connections.tasks.check_connection"),
        JobKind("transfer", "Aggregate data transfer", "transfers.tasks.run_transfer"),
    )
}


def get_kind(key: str) -> JobKind:
    try:
        return KINDS[key]
    except KeyError:
        raise ValueError(
            f"Unknown job kind {key!r}; known kinds: {', '.join(sorted(KINDS))}."
        ) from None


def kind_choices() -> list[tuple[str, str]]:
    return [(k.key, k.label) for k in KINDS.values()]
