"""Completeness pages: the list, the form with name pickers, the results page (summary cards,
heat map, charts per level, the filtered and paginated table, mark buttons) and downloads.

Every action calls the services (`create_and_start_assessment`, `start_completeness_assessment`,
`start_completeness_mark`); the results share `results.filter_rows` with the API and exports.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from jobs.faces import launch_view, page_launch, searched_page
from jobs.models import Run

from .api import export_response
from .forms import AssessmentForm
from .models import CompletenessAssessment
from .results import STATUSES, RowFilter, filter_rows, heat_map, level_charts, levels, parse_filter
from .services import (
    create_and_start_assessment,
    start_completeness_assessment,
    start_completeness_mark,
)

VIEW = "completeness.view_completenessassessment"
LAUNCH = [VIEW, "jobs.launch_run"]
PAGE_SIZE = 50
HEAT_UNITS = 40


@login_required
@permission_required(VIEW, raise_exception=True)
def assessment_list(request: HttpRequest) -> HttpResponse:
    """Assessments, searchable by data set (name or UID) or instance, 25 a page."""
    assessments = CompletenessAssessment.objects.select_related("instance", "run")
    page, q = searched_page(
        request,
        assessments,
        contains=("data_set_name", "instance__name"),
        equals=("data_set",),
    )
    context = {"assessments": page.object_list, "page": page, "q": q}
    return render(request, "completeness/list.html", context)


@login_required
@permission_required(LAUNCH, raise_exception=True)
def assessment_create(request: HttpRequest) -> HttpResponse:
    form = AssessmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            assessment, run = create_and_start_assessment(
                form.to_input(), user=request.user, trigger=Run.Trigger.WEB
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Assessment queued as run #{run.pk}.")
            return redirect("completeness-detail", pk=assessment.pk)
    return render(request, "completeness/form.html", {"form": form})


def _filter_from(request: HttpRequest) -> tuple[RowFilter, list[str]]:
    try:
        return parse_filter(request.GET), []
    except ValidationError as exc:
        return RowFilter(), [m for ms in exc.message_dict.values() for m in ms]


@login_required
@permission_required(VIEW, raise_exception=True)
def assessment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = get_object_or_404(
        CompletenessAssessment.objects.select_related("instance", "run", "created_by"), pk=pk
    )
    rows_filter, problems = _filter_from(request)
    rows = filter_rows(assessment, rows_filter)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    names = assessment.element_names or {}
    table = [
        {
            "row": r,
            "present_names": [(de, names.get(de, de)) for de in r.present],
            "missing_names": [(de, names.get(de, de)) for de in r.missing],
        }
        for r in page
    ]
    try:
        heat_offset = max(0, int(request.GET.get("hpage", "1")) - 1) * HEAT_UNITS
    except ValueError:
        heat_offset = 0
    heat = heat_map(assessment, rows_filter, max_units=HEAT_UNITS, offset=heat_offset)
    keep = {k: v for k, v in request.GET.items() if k not in ("page", "hpage") and v}
    runs = Run.objects.filter(
        target__in=[f"completeness_assessment:{pk}", f"completeness_mark:{pk}"]
    ).select_related("started_by")[:20]
    p = assessment.params or {}
    context = {
        "a": assessment,
        "p": p,
        "required": [(de, names.get(de, de)) for de in p.get("required_data_elements") or []],
        "org_units": [
            (ou, (assessment.org_unit_names or {}).get(ou, ou)) for ou in p.get("org_units") or []
        ],
        "page": page,
        "table": table,
        "filter": rows_filter,
        "problems": problems,
        "statuses": list(zip(STATUSES, ("Compliant", "Non-compliant", "No data"), strict=True)),
        "levels": levels(assessment),
        "query": urlencode(keep),
        "heat": heat,
        "heat_page": heat_offset // HEAT_UNITS + 1,
        "heat_pages": max(1, -(-heat.total_units // HEAT_UNITS)),
        "charts": level_charts(assessment),
        "runs": runs,
        "active": assessment.run is not None and assessment.run.status in Run.ACTIVE,
    }
    return render(request, "completeness/detail.html", context)


assessment_run = launch_view(
    CompletenessAssessment, start_completeness_assessment, back="completeness-detail"
)


@login_required
@permission_required(LAUNCH, raise_exception=True)
@require_POST
def assessment_mark(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = get_object_or_404(CompletenessAssessment.objects.select_related("run"), pk=pk)
    rows = []
    for token in request.POST.getlist("row"):
        org_unit, _, period = token.partition("|")
        if org_unit and period:
            rows.append((org_unit, period))
    return page_launch(
        request,
        start_completeness_mark,
        assessment,
        back=reverse("completeness-detail", args=[pk]),
        action=request.POST.get("action", ""),
        rows=rows,
        compliant=request.POST.get("compliant") == "1",
    )


@login_required
@permission_required(VIEW, raise_exception=True)
def assessment_export(request: HttpRequest, pk: int) -> HttpResponse | StreamingHttpResponse:
    assessment = get_object_or_404(CompletenessAssessment.objects.select_related("instance"), pk=pk)
    fmt = request.GET.get("format", "csv")
    part = request.GET.get("part", "rows")
    if fmt not in ("csv", "json", "xlsx") or part not in ("rows", "missing"):
        return HttpResponse("Choose format csv, json or xlsx and part rows or missing.", status=400)
    rows_filter, problems = _filter_from(request)
    if problems:
        return HttpResponse(" ".join(problems), status=400)
    return export_response(assessment, filter_rows(assessment, rows_filter), fmt=fmt, part=part)
