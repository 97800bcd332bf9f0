"""Event transfer pages: list, detail with runs, the form with pickers, preview, run buttons,
and the per-event errors of a run as CSV."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from connections.services import ASKING_FAILURES
from jobs.faces import (
    PROFILE_NAMES,
    add_and_change_views,
    launch_view,
    run_rows_csv,
    searched_page,
)
from jobs.models import Run
from jobs.registry import target_for

from .forms import EventTransferForm
from .models import EventTransfer, EventTransferError
from .services import KIND, preview_event_transfer, start_event_transfer

ERROR_COLUMNS = ("error_code", "message", "event", "org_unit", "object")


@login_required
@permission_required("tracker.view_eventtransfer", raise_exception=True)
def transfer_list(request: HttpRequest) -> HttpResponse:
    """Event transfers, searchable by name, profile, instance or program UID, 25 a page."""
    transfers = EventTransfer.objects.select_related(
        "profile__source", "profile__destination", "last_run"
    )
    page, q = searched_page(
        request, transfers, contains=("name", *PROFILE_NAMES), equals=("program",)
    )
    context = {"transfers": page.object_list, "page": page, "q": q}
    return render(request, "tracker/list.html", context)


@login_required
@permission_required("tracker.view_eventtransfer", raise_exception=True)
def transfer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    transfer = get_object_or_404(
        EventTransfer.objects.select_related("profile__source", "profile__destination"), pk=pk
    )
    runs = Run.objects.filter(target=target_for(KIND, transfer.pk)).select_related("started_by")
    return render(request, "tracker/detail.html", {"transfer": transfer, "runs": runs[:25]})


def _edit(request: HttpRequest, transfer: EventTransfer | None) -> HttpResponse:
    transfer = transfer if transfer is not None else EventTransfer()
    form = EventTransferForm(request.POST or None, instance=transfer)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        if saved is not None:
            messages.success(request, f"Event transfer {saved.name} saved.")
            return redirect("tracker-detail", pk=saved.pk)
    return render(request, "tracker/form.html", {"form": form, "transfer": transfer})


transfer_create, transfer_edit = add_and_change_views(EventTransfer, _edit)


@login_required
@permission_required("tracker.view_eventtransfer", raise_exception=True)
def transfer_preview(request: HttpRequest, pk: int) -> HttpResponse:
    transfer = get_object_or_404(EventTransfer.objects.select_related("profile__source"), pk=pk)
    preview, problem = None, ""
    try:
        preview = preview_event_transfer(transfer)
    except ASKING_FAILURES as exc:
        problem = str(exc)
    return render(
        request,
        "tracker/preview.html",
        {"transfer": transfer, "preview": preview, "problem": problem},
    )


transfer_run = launch_view(
    EventTransfer, start_event_transfer, back="tracker-detail", resumable=True
)


errors_csv = run_rows_csv(EventTransferError, ERROR_COLUMNS, "event-errors")
