"""Transfer pages: list with last status, detail with runs, the form with pickers, run buttons,
and the conflicts CSV of a run."""

from __future__ import annotations

import csv
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from jobs.faces import page_run
from jobs.models import Run

from .forms import MappingFormSet, TransferForm
from .models import Transfer, TransferConflict
from .services import (
    TransferInvalid,
    profile_mappings_in_force,
    save_transfer,
    start_transfer,
)


@login_required
@permission_required("transfers.view_transfer", raise_exception=True)
def transfer_list(request: HttpRequest) -> HttpResponse:
    transfers = Transfer.objects.select_related(
        "profile__source", "profile__destination", "last_run"
    )
    return render(request, "transfers/list.html", {"transfers": transfers})


@login_required
@permission_required("transfers.view_transfer", raise_exception=True)
def transfer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    transfer = get_object_or_404(
        Transfer.objects.select_related("profile__source", "profile__destination"), pk=pk
    )
    runs = Run.objects.filter(target=transfer.target).select_related("started_by")[:25]
    context = {
        "transfer": transfer,
        "runs": runs,
        "mappings": transfer.mappings.all(),
        "profile_mappings": profile_mappings_in_force(transfer),
    }
    return render(request, "transfers/detail.html", context)


def _edit(request: HttpRequest, transfer: Transfer) -> HttpResponse:
    """The form and the formset parse; `save_transfer` validates and saves, and what it
    refuses is shown on the inputs."""
    form = TransferForm(request.POST or None, instance=transfer)
    formset = MappingFormSet(request.POST or None, instance=transfer, prefix="mappings")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            saved = save_transfer(
                transfer if transfer.pk else None,
                user=request.user,
                mappings=formset.rows(),
                **form.service_fields(),
            )
        except TransferInvalid as exc:
            form.show_errors(exc)
            formset.show_errors(exc)
        else:
            messages.success(request, f"Transfer {saved.name} saved.")
            return redirect("transfer-detail", pk=saved.pk)
    return render(
        request, "transfers/form.html", {"form": form, "formset": formset, "transfer": transfer}
    )


@login_required
@permission_required("transfers.add_transfer", raise_exception=True)
def transfer_create(request: HttpRequest) -> HttpResponse:
    return _edit(request, Transfer())


@login_required
@permission_required("transfers.change_transfer", raise_exception=True)
def transfer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(request, get_object_or_404(Transfer, pk=pk))


@login_required
@permission_required(["transfers.view_transfer", "jobs.launch_run"], raise_exception=True)
@require_POST
def transfer_run(request: HttpRequest, pk: int) -> HttpResponse:
    transfer = get_object_or_404(Transfer, pk=pk)
    return page_run(request, transfer, start_transfer, back=reverse("transfer-detail", args=[pk]))


_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?")


def _cell(value: str) -> str:
    """Neutralise text a spreadsheet would run as a formula (values come from DHIS2)."""
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


@login_required
@permission_required("transfers.view_transferconflict", raise_exception=True)
def conflicts_csv(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(Run, pk=run_id)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="run-{run.pk}-conflicts.csv"'
    writer = csv.writer(response)
    columns = [
        "error_code", "message", "data_element", "period", "org_unit", "category_option_combo",
        "attribute_option_combo", "value", "object", "property",
    ]  # fmt: skip
    writer.writerow(columns)
    for row in TransferConflict.objects.filter(run=run).values_list(*columns).iterator():
        writer.writerow([_cell(v) for v in row])
    return response
