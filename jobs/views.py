"""Pages: dashboard, runs list, run detail (polls `run-poll` for progress and new log lines),
and schedules (list, detail with history, form with live cron preview, pause, resume, run now)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from connections.models import ConnectionProfile, Instance

from . import cron, schedules
from .forms import CRON_PRESETS, ScheduleForm
from .models import Run, Schedule
from .registry import kind_choices
from .services import Busy, request_cancel


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Each section shows only what the user's role may see (a user without a role sees none)."""
    user = request.user
    context: dict = {
        "can_see_runs": user.has_perm("jobs.view_run"),
        "can_see_connections": user.has_perm("connections.view_instance"),
    }
    if context["can_see_runs"]:
        runs = Run.objects.select_related("started_by")
        context.update(
            active_runs=runs.filter(status__in=Run.ACTIVE)[:10],
            recent_runs=runs.exclude(status__in=Run.ACTIVE)[:10],
            counts={
                s: runs.filter(status=s).count() for s in (Run.Status.FAILED, Run.Status.WARNING)
            },
        )
    if context["can_see_connections"]:
        context["instances"] = Instance.objects.all()
        context["profiles"] = ConnectionProfile.objects.select_related("source", "destination")
    return render(request, "jobs/dashboard.html", context)


@login_required
@permission_required("jobs.view_run", raise_exception=True)
def run_list(request: HttpRequest) -> HttpResponse:
    runs = Run.objects.select_related("started_by")
    kind, status = request.GET.get("kind", ""), request.GET.get("status", "")
    if kind:
        runs = runs.filter(kind=kind)
    if status:
        runs = runs.filter(status=status)
    page = Paginator(runs, 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "kind": kind,
        "status": status,
        "kinds": kind_choices(),
        "statuses": Run.Status.choices,
    }
    return render(request, "jobs/run_list.html", context)


@login_required
@permission_required("jobs.view_run", raise_exception=True)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(Run.objects.select_related("started_by"), pk=pk)
    # Lists and tables in stats (e.g. a transfer's unmapped values) get their own section.
    figures = {k: v for k, v in run.stats.items() if not isinstance(v, list | dict)}
    return render(
        request,
        "jobs/run_detail.html",
        {"run": run, "figures": figures, "log": run.log_entries.all()},
    )


@login_required
@permission_required("jobs.view_run", raise_exception=True)
def run_poll(request: HttpRequest, pk: int) -> JsonResponse:
    """Status, progress, stats and the log lines after `after`, for the run page's polling."""
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
    items = Schedule.objects.select_related("last_run")
    status = request.GET.get("status", "")
    if status:
        items = items.filter(status=status)
    rows = [
        {
            "schedule": s,
            "job_label": schedules.job_type_label(s.job_type),
            "job": schedules.job_object(s),
            "description": cron.describe_cron(s.cron),
        }
        for s in items
    ]
    context = {"rows": rows, "status": status, "statuses": Schedule.Status.choices}
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


@login_required
@permission_required("jobs.add_schedule", raise_exception=True)
def schedule_create(request: HttpRequest) -> HttpResponse:
    return _schedule_form(request, None)


@login_required
@permission_required("jobs.change_schedule", raise_exception=True)
def schedule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _schedule_form(request, get_object_or_404(Schedule, pk=pk))


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
        return redirect("run-detail", pk=exc.active.pk)
    except schedules.JobMissing as exc:
        messages.error(request, str(exc))
        return redirect("schedule-detail", pk=pk)
    messages.success(request, f'Started run #{run.pk} of schedule "{schedule.name}".')
    return redirect("run-detail", pk=run.pk)


@login_required
def coming_soon(request: HttpRequest, feature: str) -> HttpResponse:
    return render(request, "coming_soon.html", {"feature": feature})
