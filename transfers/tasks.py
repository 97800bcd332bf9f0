"""The `transfer` job: load the saved transfer, build the clients, call the engine, keep results."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import date

from django.utils import timezone

from connections.services import client_for
from dhis2.client import Client, RetryEvent
from dhis2.periods import get_period_type, relative_periods
from jobs.context import RunContext
from jobs.models import Run

from .conflicts import Conflict
from .engine import (
    ChunkSummary,
    MappingRow,
    PreflightFailed,
    TransferFailed,
    TransferResult,
    TransferSpec,
)
from .engine import run_transfer as engine_run
from .models import ChunkCheckpoint, Transfer, TransferConflict
from .runs import load_transfer, resumed_checkpoints, retry_message
from .services import incremental_bound, profile_mappings_for


class RunObserver:
    """Bridges the engine's callbacks to the run record.

    The engine fetches on worker threads; database writes from those threads would open extra
    connections, so their log lines are buffered and written by the run's own thread.
    """

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self._owner = threading.get_ident()
        self._pending: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def _flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for level, message in pending:
            self.ctx.log(level, message)

    def log(self, level: str, message: str) -> None:
        if threading.get_ident() != self._owner:
            with self._lock:
                self._pending.append((level, message))
            return
        self._flush()
        self.ctx.log(level, message)
        self.ctx.heartbeat()

    def progress(self, percent: float, message: str) -> None:
        if threading.get_ident() != self._owner:
            return
        self._flush()
        self.ctx.progress(percent, message)

    def chunk_accepted(self, key: str, summary: ChunkSummary) -> None:
        # One INSERT (a key already there, from a retried chunk, is left as it is), not the
        # SELECT-then-INSERT of get_or_create: runs checkpoint after every chunk.
        checkpoint = ChunkCheckpoint(
            run_id=self.ctx.run_id, key=key, values=getattr(summary, "values", 0)
        )
        ChunkCheckpoint.objects.bulk_create([checkpoint], ignore_conflicts=True)
        self.ctx.heartbeat()

    def retry(self, event: RetryEvent) -> None:
        self.log("warning", retry_message(event))


def _source_today(source: Client) -> date:
    """The source server's own date: DHIS2 resolves relative periods on its clock, and a
    schedule firing at 01:00 in Nairobi is still the previous day in UTC."""
    server_date = str(source.system_info().get("serverDate") or "")[:10]
    try:
        return date.fromisoformat(server_date)
    except ValueError:
        return timezone.localdate()


def _periods(transfer: Transfer, source: Client, ctx: RunContext, resumed: Run | None) -> list[str]:
    if transfer.periods:
        return list(transfer.periods)
    if resumed is not None and resumed.params.get("resolved_periods"):
        # A resumed run finishes what the first one started, even across a period boundary.
        ids = list(resumed.params["resolved_periods"])
        ctx.info(f"Periods of the resumed run: {', '.join(ids)}.")
        ctx.set_param("resolved_periods", ids)
        return ids
    data_set = source.get_json(f"dataSets/{transfer.data_set}", {"fields": "id,periodType"})
    period_type = data_set.get("periodType")
    get_period_type(period_type)  # a clear error for a type this version does not know
    today = _source_today(source)
    periods = relative_periods(
        period_type, transfer.relative_period, today=today, n=transfer.relative_count
    )
    ids = [p.id for p in periods]
    ctx.info(
        f"{transfer.relative_period} on a {period_type} data set, as of {today} on the source: "
        f"{', '.join(ids)}."
    )
    ctx.set_param("resolved_periods", ids)
    return ids


def run_transfer(ctx: RunContext) -> str:
    transfer, dry_run = load_transfer(ctx, Transfer, "transfer_id")
    observer = RunObserver(ctx)
    profile = transfer.profile
    ctx.info(
        f"{'Dry run' if dry_run else 'Transfer'} of data set {transfer.data_set} from "
        f"{profile.source.name} to {profile.destination.name}."
    )
    resumed, accepted = resumed_checkpoints(ctx, ChunkCheckpoint, "chunks")
    profile_maps = profile_mappings_for(transfer)
    if transfer.use_profile_mappings:
        counts = ", ".join(f"{len(m)} {kind}" for kind, m in profile_maps.items() if m)
        ctx.info(f"Profile mappings of {profile.name} apply: {counts or 'none accepted yet'}.")
    last_updated = incremental_bound(transfer, full=bool(ctx.params.get("full")))
    if last_updated is not None:
        ctx.info(f"Incremental: values changed since {last_updated:%Y-%m-%d %H:%M:%S %Z}.")
    # The engine relays the clients' retry events to the observer on this thread.
    with client_for(profile.source) as source, client_for(profile.destination) as destination:
        spec = TransferSpec(
            data_set=transfer.data_set,
            target_data_set=transfer.target_data_set or None,
            periods=_periods(transfer, source, ctx, resumed),
            org_units=list(transfer.org_units),
            include_descendants=transfer.include_descendants,
            mappings=[
                MappingRow(
                    source_data_element=m.source_data_element,
                    source_category_option_combo=m.source_category_option_combo or None,
                    target_data_element=m.target_data_element,
                    target_category_option_combo=m.target_category_option_combo or None,
                )
                for m in transfer.mappings.all()
            ],
            attribute_option_combo_map=dict(transfer.attribute_option_combo_map),
            org_unit_map=dict(transfer.org_unit_map),
            unmapped=transfer.unmapped,
            id_scheme=transfer.id_scheme,
            import_strategy=transfer.import_strategy,
            mark_complete=transfer.mark_complete,
            chunk_size=transfer.chunk_size,
            dry_run=dry_run,
            last_updated=last_updated,
            continue_on_preflight_problems=transfer.continue_on_preflight_problems,
            accepted_chunks=accepted,
            async_import={"always": True, "never": False}.get(transfer.async_import, "auto"),
            include_deleted=transfer.propagate_deletions,
            profile_mappings=profile_maps,
            min_completeness=transfer.min_completeness,
        )
        try:
            result = engine_run(source, destination, spec, observer)
        except PreflightFailed as exc:
            # The engine already logged each problem; the run fails with its summary.
            ctx.stats["preflight_problems"] = len(exc.problems)
            raise
        except TransferFailed as exc:
            if exc.result is not None:
                _keep(ctx, exc.result)
            raise
        except Exception as exc:  # e.g. cancelled: record what the destination already stored
            partial = getattr(exc, "partial_result", None)
            if partial is not None:
                _keep(ctx, partial)
            raise
    _keep(ctx, result)
    blocking = [p for p in result.preflight if p.severity != "warning"]
    conflicts = result.stats.get("conflicts", 0)
    # Values skipped by the user's own "skip unmapped" choice are reported but are not a
    # problem of the run; conflicts and preflight problems the user let through are.
    problems = bool(conflicts or blocking)
    # Values left out for another reason than the user's "skip unmapped" (e.g. no code on the
    # source with the CODE scheme) would never be re-read once the watermark passed them.
    left_out = any(
        u.get("action") == "skipped" and u.get("reason") != "no mapping row"
        for u in result.unmapped
    )
    if not dry_run and result.all_chunks_accepted and not (conflicts or blocking or left_out):
        mark = result.server_time or ctx.started_at
        Transfer.objects.filter(pk=transfer.pk).update(watermark=mark)
        ctx.info(f"Incremental watermark moved to {mark:%Y-%m-%d %H:%M:%S %Z}.")
    summary = ", ".join(f"{k} {v}" for k, v in result.stats.items() if isinstance(v, int) and v)
    ctx.info(f"Done: {summary or 'nothing to send'}.")
    return Run.Status.WARNING if problems else Run.Status.SUCCEEDED


def _keep(ctx: RunContext, result: TransferResult) -> None:
    """Put the engine's figures and conflicts on the run (also for a run that stopped midway)."""
    ctx.stats.update(result.stats)
    if result.unmapped:
        ctx.stats["unmapped_detail"] = result.unmapped[:200]
    if result.profile_mappings_used:
        ctx.stats["profile_mapping_detail"] = result.profile_mappings_used[:200]
    if result.held_back:
        # Capped by the engine (`Tuning.max_held_back_listed`); the counts cover them all.
        ctx.stats["held_back_detail"] = result.held_back
    _save_conflicts(ctx.run_id, result.conflicts)


def _save_conflicts(run_id: int, conflicts: Iterable[Conflict]) -> None:
    rows = []
    for conflict in conflicts:
        values = conflict.values or [{}]
        for value in values:
            rows.append(
                TransferConflict(
                    run_id=run_id,
                    error_code=conflict.error_code or "",
                    message=conflict.message,
                    object=conflict.object or "",
                    property=conflict.property or "",
                    data_element=value.get("dataElement", ""),
                    period=value.get("period", ""),
                    org_unit=value.get("orgUnit", ""),
                    category_option_combo=value.get("categoryOptionCombo", "") or "",
                    attribute_option_combo=value.get("attributeOptionCombo", "") or "",
                    value=str(value.get("value", "") or ""),
                )
            )
    TransferConflict.objects.bulk_create(rows, batch_size=1000)
