"""Deleting old finished runs: `manage.py prune_runs` and the daily housekeeping task.

A run's log lines and per-run rows (checkpoints, conflicts, event errors) go with it through
their `on_delete=CASCADE` foreign keys; rows that only point at a run (a transfer's `last_run`,
an assessment's `run`) are set to NULL. Queued and running runs are never deleted, whatever
their age. Deletion goes in batches, each in its own transaction, so pruning a table of 100,000
runs never holds one long write lock (on SQLite that would block every worker and web request).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Run, RunLogEntry

logger = logging.getLogger(__name__)

#: Runs deleted per transaction. Small enough for SQLite's bound-parameter limit and a short
#: lock, large enough that 100,000 runs take a few hundred statements.
BATCH_SIZE = 500

_UNITS = {"h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"^\s*(\d+)\s*([hdw])\s*$", re.IGNORECASE)


def parse_age(text: str) -> timedelta:
    """Parse "90d", "12h" or "2w" into a timedelta; raise ValueError with a readable message."""
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(
            f"{text!r} is not an age: use a whole number followed by h (hours), d (days) or "
            "w (weeks), e.g. 90d, 12h, 2w."
        )
    amount = int(match.group(1))
    if amount <= 0:
        raise ValueError(f"{text!r} would delete every finished run: the age must be above 0.")
    return timedelta(**{_UNITS[match.group(2).lower()]: amount})


def prunable_runs(cutoff: datetime) -> QuerySet[Run]:
    """Finished runs that ended before `cutoff` (or, never started, were created before it)."""
    return (
        Run.objects.filter(status__in=Run.FINISHED)
        .alias(ended=Coalesce("finished_at", "created_at"))
        .filter(ended__lt=cutoff)
    )


@dataclass(frozen=True)
class PruneResult:
    runs: int
    log_lines: int
    cutoff: datetime
    dry_run: bool


def prune_runs(
    *, older_than: timedelta, dry_run: bool = False, batch_size: int = BATCH_SIZE
) -> PruneResult:
    """Delete finished runs older than `older_than` with their cascaded rows, in batches.

    Each batch re-selects its ids and re-checks the status inside its own transaction, so a run
    resumed (set back to queued) while pruning goes on is never deleted.
    """
    cutoff = timezone.now() - older_than
    if dry_run:
        candidates = prunable_runs(cutoff)
        return PruneResult(
            runs=candidates.count(),
            log_lines=RunLogEntry.objects.filter(run__in=candidates.values("pk")).count(),
            cutoff=cutoff,
            dry_run=True,
        )
    runs = log_lines = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            ids = list(
                prunable_runs(cutoff)
                .filter(pk__gt=last_pk)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                break
            last_pk = ids[-1]
            _, per_model = Run.objects.filter(pk__in=ids, status__in=Run.FINISHED).delete()
        runs += per_model.get(Run._meta.label, 0)
        log_lines += per_model.get("jobs.RunLogEntry", 0)
    if runs:
        logger.info(
            "Pruned %s runs (and %s log lines) that finished before %s.",
            runs,
            log_lines,
            cutoff.isoformat(),
        )
    return PruneResult(runs=runs, log_lines=log_lines, cutoff=cutoff, dry_run=False)


def prune_expired_runs() -> str:
    """Housekeeping task (daily): apply RUN_RETENTION_DAYS; does nothing while it is 0 (off).

    The schedule always exists and the setting is read here, in the worker, so turning
    retention on or off takes a worker restart and nothing else.
    """
    days = int(getattr(settings, "RUN_RETENTION_DAYS", 0) or 0)
    if days <= 0:
        return "Run retention is off (RUN_RETENTION_DAYS=0)."
    result = prune_runs(older_than=timedelta(days=days))
    return f"Deleted {result.runs} runs that finished more than {days} days ago."
