"""Pages: dashboard, runs list, run detail (polls `run-poll` for progress and new log lines)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from connections.models import ConnectionProfile, Instance

from .kinds import kind_choices
from .models import Run
from .services import request_cancel


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    runs = Run.objects.select_related("started_by")
    context = {
        "active_runs": runs.filter(status__in=Run.ACTIVE)[:10],
        "recent_runs": runs.exclude(status__in=Run.ACTIVE)[:10],
        "instances": Instance.objects.all(),
        "profiles": ConnectionProfile.objects.select_related("source", "destination"),
        "counts": {
            s: runs.filter(status=s).count() for s in (Run.Status.FAILED, Run.Status.WARNING)
        },
    }
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
    return render(request, "jobs/run_detail.html", {"run": run, "log": run.log_entries.all()})


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
def coming_soon(request: HttpRequest, feature: str) -> HttpResponse:
    return render(request, "coming_soon.html", {"feature": feature})
