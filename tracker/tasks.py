"""The `event_transfer` job: load the saved transfer, build the clients, call the engine, keep
its figures, checkpoints and per-event errors on the run.

Outcome: succeeded when every event was stored; warning when the destination refused some
events and stored others (the errors are on the run, with DHIS2's code); failed when it
refused every event it was sent, or the run stopped midway (accepted batches are checkpointed,
so resuming sends only the rest). The incremental watermark moves only after a run in which
everything was accepted, to the source's clock at that run's start.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from connections.services import client_for
from dhis2.client import RetryEvent
from jobs.context import RunContext
from jobs.models import Run
from transfers.runs import load_transfer, resumed_checkpoints, retry_message

from .engine import EventTransferFailed, EventTransferResult, EventTransferSpec, Tuning
from .engine import run_event_transfer as engine_run
from .models import EventBatchCheckpoint, EventTransfer, EventTransferError
from .services import PARAM, effective_mappings, incremental_bound, read_scope
from .write import BatchResult, EventError, Polling


class RunObserver:
    """The engine's observer: log lines and progress on the run, a checkpoint per accepted
    batch. The engine runs on the run's own thread, so no buffering is needed."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx

    def log(self, level: str, message: str) -> None:
        self.ctx.log(level, message)
        self.ctx.heartbeat()

    def progress(self, percent: float, message: str) -> None:
        self.ctx.progress(percent, message)

    def batch_accepted(self, key: str, result: BatchResult) -> None:
        EventBatchCheckpoint.objects.get_or_create(
            run_id=self.ctx.run_id, key=key, defaults={"events": result.sent}
        )
        # Kept as it goes, so a run cancelled or killed later still shows what was stored.
        self.ctx.incr(
            sent=result.sent,
            created=result.created,
            updated=result.updated,
            ignored=result.ignored,
            batches=1,
        )
        self.ctx.heartbeat()


def _tuning() -> Tuning:
    """The run's sizes from the settings (`TRACKER_*`, with their reasons in `config/settings`)."""
    return Tuning(
        polling=Polling(timeout=float(settings.TRACKER_JOB_POLL_TIMEOUT)),
        max_in_flight=int(settings.TRACKER_MAX_IN_FLIGHT),
    )


def run_event_transfer(ctx: RunContext) -> str:
    transfer, dry_run = load_transfer(ctx, EventTransfer, PARAM)
    profile = transfer.profile
    ctx.info(
        f"{'Dry run' if dry_run else 'Event transfer'} of program {transfer.program} from "
        f"{profile.source.name} to {profile.destination.name}."
    )
    _, accepted = resumed_checkpoints(ctx, EventBatchCheckpoint, "batches")
    updated_after = incremental_bound(transfer, full=bool(ctx.params.get("full")))
    if updated_after is not None:
        ctx.info(f"Incremental: events updated since {updated_after:%Y-%m-%d %H:%M:%S %Z}.")
    spec = EventTransferSpec(
        **read_scope(transfer),
        org_units=list(transfer.org_units),
        updated_after=updated_after,
        mappings=effective_mappings(transfer),
        strip_fields=list(transfer.strip_fields),
        dry_run=dry_run,
        batch_size=int(settings.TRACKER_BATCH_SIZE),
        page_size=int(settings.TRACKER_PAGE_SIZE),
        accepted_batches=accepted,
    )

    def on_retry(event: RetryEvent) -> None:
        """Every retried request in the run's log and figures, as aggregate transfers do."""
        ctx.incr(retries=1)
        ctx.warning(retry_message(event))

    with (
        client_for(profile.source, on_retry=on_retry) as source,
        client_for(profile.destination, on_retry=on_retry) as destination,
    ):
        try:
            result = engine_run(source, destination, spec, RunObserver(ctx), tuning=_tuning())
        except EventTransferFailed as exc:
            _keep(ctx, exc.result)
            raise
    _keep(ctx, result)
    stored = result.stats["created"] + result.stats["updated"] + result.stats["ignored"]
    if result.stats["errors"] and not stored and not dry_run:
        raise RuntimeError(
            f"The destination refused all {result.stats['sent']} events it was sent "
            f"({result.stats['errors']} errors); see the errors of this run."
        )
    if result.all_accepted and result.server_time is not None:
        EventTransfer.objects.filter(pk=transfer.pk).update(watermark=result.server_time)
        ctx.info(f"Incremental watermark moved to {result.server_time:%Y-%m-%d %H:%M:%S %Z}.")
    ctx.info(result.message or "Done.")
    return Run.Status.WARNING if result.stats["errors"] else Run.Status.SUCCEEDED


def _keep(ctx: RunContext, result: EventTransferResult) -> None:
    """The engine's figures and the per-event errors on the run (also for a stopped run)."""
    ctx.stats.update(result.stats)
    ctx.stats["source_api"] = result.source_api
    ctx.stats["destination_api"] = result.destination_api
    _save_errors(ctx.run_id, result.errors)
    ctx.save_stats()


def _save_errors(run_id: int, errors: list[EventError]) -> None:
    rows = [
        EventTransferError(
            run_id=run_id,
            event=(e.event or "")[:50],
            org_unit=(e.org_unit or "")[:50],
            error_code=(e.code or "")[:20],
            message=e.message or "",
            object=(e.object or "")[:100],
        )
        for e in errors
    ]
    with transaction.atomic():
        EventTransferError.objects.bulk_create(rows, batch_size=1000)
