"""Pages: dashboard, runs list, run detail (polls `run-poll` for progress and new log lines),
and schedules (list, detail with history, form with live cron preview, pause, resume, run now)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from connections.models import ConnectionProfile, Instance
from connections.names import names_across
from tracker.models import EventTransfer
from transfers.views import run_conflicts_context

from . import cron, schedules
from .faces import add_and_change_views, searched_page
from .forms import CRON_PRESETS, ScheduleForm
from .labels import run_summary, stat_rows
from .models import Run, Schedule
from .registry import kind_choices
from .services import Busy, request_cancel

#: Rows per page of the lists.
PER_PAGE = 25
#: Days in the dashboard's chart of runs by status.
CHART_DAYS = 7
#: The chart's statuses, bottom to top (the legend says them in words, not by colour alone).
CHART_STATUSES = (
    Run.Status.SUCCEEDED,
    Run.Status.WARNING,
    Run.Status.FAILED,
    Run.Status.CANCELLED,
)
_CHART_HEIGHT = 100
_BAR_WIDTH, _BAR_GAP = 28, 12


def _runs_chart(runs: QuerySet[Run]) -> dict[str, Any]:
    """Runs created on each of the last `CHART_DAYS` days by status, as the bars of an SVG
    drawn by the template (attributes only: the CSP allows no inline style)."""
    today = timezone.localdate()
    first = today - timedelta(days=CHART_DAYS - 1)
    counts: Counter[tuple[date, str]] = Counter()
    since = timezone.make_aware(datetime.combine(first, time.min))
    for created, status in runs.filter(created_at__gte=since).values_list("created_at", "status"):
        counts[(timezone.localdate(created), status)] += 1
    days = [first + timedelta(days=i) for i in range(CHART_DAYS)]
    totals = {d: sum(counts[(d, s)] for s in Run.Status.values) for d in days}
    peak = max([*totals.values(), 1])
    bars = []
    for i, day in enumerate(days):
        y = _CHART_HEIGHT
        segments = []
        for status in CHART_STATUSES:
            n = counts[(day, status)]
            if not n:
                continue
            height = max(1, round(n * _CHART_HEIGHT / peak))
            y -= height
            label = f"{n} {Run.Status(status).label.lower()}"
            segments.append({"status": status, "y": y, "height": height, "label": label})
        bars.append(
            {
                "day": day,
                "x": i * (_BAR_WIDTH + _BAR_GAP),
                "total": totals[day],
                "segments": segments,
            }
        )
    legend = [(s, Run.Status(s).label) for s in CHART_STATUSES]
    return {
        "bars": bars,
        "legend": legend,
        "width": CHART_DAYS * (_BAR_WIDTH + _BAR_GAP),
        "height": _CHART_HEIGHT,
        "bar_width": _BAR_WIDTH,
        "total": sum(totals.values()),
    }


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """What an operator checks first: runs by status this week, what is running, recent
    failures with their first error line, the next scheduled runs and each instance's health.
    Each section shows only what the user's role may see (a user without a role sees none)."""
    user = request.user
    context: dict[str, Any] = {
        "can_see_runs": user.has_perm("jobs.view_run"),
        "can_see_connections": user.has_perm("connections.view_instance"),
        "can_see_schedules": user.has_perm("jobs.view_schedule"),
    }
    if context["can_see_runs"]:
        runs = Run.objects.select_related("started_by")
        failures = list(runs.filter(status=Run.Status.FAILED)[:5])
        for run in failures:
            # Read by the template only; not a field of the model.
            run.first_error_line = next(iter(run.error.strip().splitlines()), "")  # type: ignore[attr-defined]
        context.update(
            active_runs=runs.filter(status__in=Run.ACTIVE)[:10],
            recent_runs=runs.exclude(status__in=Run.ACTIVE)[:10],
            failures=failures,
            chart=_runs_chart(Run.objects.all()),
            counts={
                s: runs.filter(status=s).count() for s in (Run.Status.FAILED, Run.Status.WARNING)
            },
        )
    if context["can_see_schedules"]:
        upcoming = Schedule.objects.filter(
            status=Schedule.Status.ACTIVE, next_run__isnull=False
        ).order_by("next_run")[:5]
        context["upcoming"] = [
            {"schedule": s, "job_label": schedules.job_type_label(s.job_type)} for s in upcoming
        ]
    if context["can_see_connections"]:
        context["instances"] = Instance.objects.all()
        context["profiles"] = ConnectionProfile.objects.select_related("source", "destination")
    return render(request, "jobs/dashboard.html", context)


@login_required
@permission_required("jobs.view_run", raise_exception=True)
def run_list(request: HttpRequest) -> HttpResponse:
    """Runs, filtered by kind and status, searchable by title, number or user, 50 a page."""
    runs = Run.objects.select_related("started_by")
    kind, status = request.GET.get("kind", ""), request.GET.get("status", "")
    if kind:
        runs = runs.filter(kind=kind)
    if status:
        runs = runs.filter(status=status)
    page, q = searched_page(
        request,
        runs,
        per_page=50,
        contains=("title", "started_by__username"),
        numbered=True,
    )
    context = {
        "page": page,
        "kind": kind,
        "status": status,
        "q": q,
        "kinds": kind_choices(),
        "statuses": Run.Status.choices,
    }
    return render(request, "jobs/run_list.html", context)


@login_required
@permission_required("jobs.view_run", raise_exception=True)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The run in words: a summary sentence, labelled figures, the operation's own sections
    (a transfer's conflicts grouped by cause, paginated) and the log, collapsible."""
    run = get_object_or_404(Run.objects.select_related("started_by"), pk=pk)
    context: dict[str, Any] = {
        "run": run,
        "figures": stat_rows(run.stats, run.kind),
        "log": run.log_entries.all(),
    }
    if run.kind == "transfer":
        context.update(run_conflicts_context(request, run))
    elif run.kind == "event_transfer":
        context["names"] = _event_error_names(run)
    causes = [(g.count, g.cause) for g in context.get("conflict_groups", [])]
    context["summary"] = (
        ""
        if run.is_active
        else run_summary(run.kind, run.stats, causes, dry_run=bool(run.params.get("dry_run")))
    )
    return render(request, "jobs/run_detail.html", context)


def _event_error_names(run: Run) -> dict[str, str]:
    """Org unit names for the refused events shown (the first 500): the destination's names
    first, then the source's (an org unit the destination lacks is why some are refused)."""
    transfer = (
        EventTransfer.objects.select_related("profile__source", "profile__destination")
        .filter(pk=run.params.get("event_transfer_id"))
        .first()
    )
    if transfer is None:
        return {}
    uids = list(run.event_errors.values_list("org_unit", flat=True)[:500])
    known = {u: transfer.name_of(u) for u in uids if transfer.name_of(u) != u}
    todo = [u for u in uids if u not in known]
    profile = transfer.profile
    return {**names_across([profile.destination, profile.source], todo), **known}


@login_required
@permission_required("jobs.view_run", raise_exception=True)
def run_poll(request: HttpRequest, pk: int) -> JsonResponse:
    """Status, progress, labelled stats and the log lines after `after`, for the run page's
    polling (which stops when `active` turns false)."""
    run = get_object_or_404(Run, pk=pk)
    try:
        after = int(request.GET.get("after", 0))
    except ValueError:
        after = 0
    entries = run.log_entries.filter(id__gt=after)[:500]
    return JsonResponse(
        {
            "id": run.pk,
            "status": run.status,
            "status_display": run.get_status_display(),
            "active": run.is_active,
            "progress": run.progress,
            "progress_message": run.progress_message,
            "stats": run.stats,
            "stat_rows": [
                {"key": r.key, "label": r.label, "value": r.shown}
                for r in stat_rows(run.stats, run.kind)
            ],
            "error": run.error,
            "duration_seconds": run.duration_seconds,
            "log": [
                {"id": e.id, "time": e.time.isoformat(), "level": e.level, "message": e.message}
                for e in entries
            ],
        }
    )


@login_required
@permission_required("jobs.cancel_run", raise_exception=True)
@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(Run, pk=pk)
    if run.is_active:
        request_cancel(run, user=request.user)
        messages.info(request, f"Cancellation of run #{run.pk} requested.")
    else:
        messages.warning(request, f"Run #{run.pk} has already finished.")
    return redirect("run-detail", pk=run.pk)


@login_required
@permission_required("jobs.view_schedule", raise_exception=True)
def schedule_list(request: HttpRequest) -> HttpResponse:
    """Schedules, filtered by status and searchable by name, 25 a page."""
    items = Schedule.objects.select_related("last_run")
    status = request.GET.get("status", "")
    if status:
        items = items.filter(status=status)
    page, q = searched_page(request, items, per_page=PER_PAGE, contains=("name",))
    rows = [
        {
            "schedule": s,
            "job_label": schedules.job_type_label(s.job_type),
            "job": schedules.job_object(s),
            "description": cron.describe_cron(s.cron),
        }
        for s in page.object_list
    ]
    context = {
        "rows": rows,
        "page": page,
        "q": q,
        "status": status,
        "statuses": Schedule.Status.choices,
    }
    return render(request, "jobs/schedule_list.html", context)


@login_required
@permission_required("jobs.view_schedule", raise_exception=True)
def schedule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = get_object_or_404(Schedule.objects.select_related("last_run", "created_by"), pk=pk)
    runs = schedule.runs.select_related("started_by")
    context = {
        "schedule": schedule,
        "job_label": schedules.job_type_label(schedule.job_type),
        "job": schedules.job_object(schedule),
        "description": cron.describe_cron(schedule.cron),
        "upcoming": cron.next_runs(schedule.cron, schedule.timezone)
        if schedule.status == Schedule.Status.ACTIVE
        else [],
        "page": Paginator(runs, 25).get_page(request.GET.get("page")),
    }
    return render(request, "jobs/schedule_detail.html", context)


def _schedule_form(request: HttpRequest, schedule: Schedule | None) -> HttpResponse:
    form = ScheduleForm(request.POST or None, instance=schedule)
    if request.method == "POST" and form.is_valid():
        saved = schedules.save_schedule(form.save(commit=False), user=request.user)
        messages.success(request, f'Schedule "{saved.name}" saved.')
        return redirect("schedule-detail", pk=saved.pk)
    context = {"form": form, "schedule": schedule, "presets": CRON_PRESETS}
    return render(request, "jobs/schedule_form.html", context)


schedule_create, schedule_edit = add_and_change_views(Schedule, _schedule_form)


@login_required
@permission_required("jobs.delete_schedule", raise_exception=True)
@require_POST
def schedule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = get_object_or_404(Schedule, pk=pk)
    schedules.delete_schedule(schedule)
    messages.success(request, f'Schedule "{schedule.name}" deleted; its runs stay under Runs.')
    return redirect("schedules")


@login_required
@permission_required("jobs.change_schedule", raise_exception=True)
@require_POST
def schedule_pause(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = schedules.pause(get_object_or_404(Schedule, pk=pk), user=request.user)
    messages.success(request, f'Schedule "{schedule.name}" paused.')
    return redirect("schedule-detail", pk=pk)


@login_required
@permission_required("jobs.change_schedule", raise_exception=True)
@require_POST
def schedule_resume(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = schedules.resume(get_object_or_404(Schedule, pk=pk), user=request.user)
    when = timezone.localtime(schedule.next_run, ZoneInfo(schedule.timezone))
    messages.success(
        request, f'Schedule "{schedule.name}" resumed; next run {when:%Y-%m-%d %H:%M}.'
    )
    return redirect("schedule-detail", pk=pk)


@login_required
@permission_required("jobs.run_schedule", raise_exception=True)
@require_POST
def schedule_run(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = get_object_or_404(Schedule, pk=pk)
    try:
        run = schedules.run_now(schedule, user=request.user, trigger=Run.Trigger.WEB)
    except Busy as exc:
        messages.warning(request, str(exc))
        if exc.active is None:  # `Busy` may not know the active run
            return redirect("schedule-detail", pk=pk)
        return redirect("run-detail", pk=exc.active.pk)
    except schedules.JobMissing as exc:
        messages.error(request, str(exc))
        return redirect("schedule-detail", pk=pk)
    messages.success(request, f'Started run #{run.pk} of schedule "{schedule.name}".')
    return redirect("run-detail", pk=run.pk)


@login_required
def coming_soon(request: HttpRequest, feature: str) -> HttpResponse:
    return render(request, "coming_soon.html", {"feature": feature})
