"""The steps a run of an aggregate transfer (`transfers.tasks`) and of an event transfer
(`tracker.tasks`) share around their engines, written once so both jobs open, resume and log
retries alike: load the transfer with both instances and make a writing run its "last run",
read the keys the runs it resumes checkpointed, and put a retried request in the run's log.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models
from django.db.models import QuerySet

from dhis2.client import RetryEvent
from jobs.context import RunContext
from jobs.models import Run, RunCheckpoint
from jobs.resume import resume_chain

T = TypeVar("T", bound=models.Model)


def load_transfer(ctx: RunContext, model: type[T], param: str) -> tuple[T, bool]:
    """The run's transfer (`param` names its id) with its profile's instances, and whether the
    run is a dry run. A run that writes becomes the transfer's `last_run` at once: the list's
    "last run" is about data actually moved."""
    manager = model._default_manager
    transfer = manager.select_related("profile__source", "profile__destination").get(
        pk=ctx.params[param]
    )
    dry_run = bool(ctx.params.get("dry_run"))
    if not dry_run:
        manager.filter(pk=transfer.pk).update(last_run_id=ctx.run_id)
    return transfer, dry_run


def resumed_checkpoints(
    ctx: RunContext, checkpoints: type[RunCheckpoint], unit: str
) -> tuple[Run | None, frozenset[str]]:
    """The run this one resumes (None for a new run) and the keys of the `unit`s ("chunks",
    "batches") the destination accepted in it and in every run it resumed in turn: those are
    not sent again."""
    if not ctx.params.get("resume_of"):
        return None, frozenset()
    resumed = Run.objects.get(pk=ctx.params["resume_of"])
    chain = resume_chain(resumed)
    # Each operation's checkpoint model adds its own `run` link to the abstract one.
    rows: QuerySet[Any] = checkpoints._default_manager.all()
    accepted = frozenset(rows.filter(run_id__in=chain).values_list("key", flat=True))
    ctx.info(f"Resuming run #{chain[0]}: {len(accepted)} {unit} were already accepted.")
    return resumed, accepted


def retry_message(event: RetryEvent) -> str:
    """A retried request as the run's log shows it (a warning)."""
    return (
        f"Retrying {event.method} {event.url} (attempt {event.attempt + 1} of "
        f"{event.max_attempts}) after {event.reason}; waiting {event.wait_seconds:.1f} s."
    )
