"""Metadata pages: start and list assessments, browse and review results, preview and sync, and
a profile's mappings. Every page action calls a service; its `ValidationError` becomes a
message, never a 500."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError as DRFValidationError

from connections.models import ConnectionProfile
from connections.names import names_for
from dhis2.errors import Dhis2Error
from jobs.faces import PROFILE_NAMES, launch_view, searched_page, show_service_errors
from jobs.models import Run
from jobs.services import Busy
from jobs.templatetags.ui import uids_in

from . import services
from .api import filter_items
from .forms import StartAssessmentForm, SyncForm
from .match import Status
from .models import AssessmentItem, MetadataAssessment, ProfileMapping
from .schema import ORDER, SPECS

VIEW = "metadata_sync.view_metadataassessment"
PAGE_SIZE = 100
STATUS_ORDER = [
    Status.MISSING, Status.SUGGESTED, Status.MATCHED_BY_NAME, Status.MATCHED_BY_CODE,
    Status.CONFLICT, Status.MATCHED,
]  # fmt: skip


def _messages_of(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


@login_required
@permission_required(VIEW, raise_exception=True)
def assessment_list(request: HttpRequest) -> HttpResponse:
    form = StartAssessmentForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("jobs.launch_run"):
            raise PermissionDenied
        if form.is_valid():
            try:
                assessment = services.create_assessment(
                    form.cleaned_data["profile"],
                    types=form.cleaned_data["types"],
                    user=request.user,
                )
            except ValidationError as exc:
                show_service_errors(form, exc.message_dict)
            else:
                run = services.start_metadata_assessment(
                    assessment,
                    user=request.user,
                    trigger=Run.Trigger.WEB,
                )
                messages.success(request, f"Assessment queued as run #{run.pk}.")
                return redirect("run-detail", pk=run.pk)
    assessments = MetadataAssessment.objects.select_related(
        "profile", "run", "created_by"
    ).order_by("-created")
    # by profile or instance name, or an assessment's number
    page, q = searched_page(request, assessments, contains=PROFILE_NAMES, numbered=True)
    context = {"form": form, "assessments": page.object_list, "page": page, "q": q}
    return render(request, "metadata_sync/list.html", context)


@login_required
@permission_required(VIEW, raise_exception=True)
def assessment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = get_object_or_404(
        MetadataAssessment.objects.select_related("profile__source", "profile__destination", "run"),
        pk=pk,
    )
    params = request.GET
    status = params.get("status") or ""
    type_ = params.get("type") or ""
    totals = {s.value: 0 for s in STATUS_ORDER}
    counts = assessment.counts or {}
    for per_type in [counts.get(type_, {})] if type_ else counts.values():
        for name, n in per_type.items():
            totals[name] = totals.get(name, 0) + n
    if not status:
        status = next((s for s, n in totals.items() if n and s != Status.MATCHED), "matched")
    try:
        items = filter_items(assessment.items.all(), {**params.dict(), "status": status})
    except DRFValidationError:  # a hand-edited URL with an unknown type or status
        messages.warning(request, "Unknown type or status in the address; showing everything.")
        items, status, type_ = assessment.items.all(), "", ""
    page = Paginator(items, PAGE_SIZE).get_page(params.get("page"))
    query = {k: v for k, v in params.items() if k != "page"}
    return render(
        request,
        "metadata_sync/detail.html",
        {
            "assessment": assessment,
            "page": page,
            "names": _difference_names(assessment, page),
            "status": status,
            "type": type_,
            "search": params.get("search", ""),
            "tabs": [(s, totals.get(s, 0)) for s in totals],
            "types": [(t, SPECS[t].label) for t in ORDER if t in assessment.types],
            "counts": counts,
            "reviewable": status in services.REVIEWABLE,
            "sync_form": SyncForm(),
            "base_query": "&".join(f"{k}={v}" for k, v in query.items()),
            "recent": Run.objects.filter(kind="metadata_apply", params__assessment_id=pk)[:10],
        },
    )


def _difference_names(assessment: MetadataAssessment, items: Any) -> dict[str, str]:
    """Names of the UIDs in the differences shown (a data set's elements and org units, a
    reference that differs), from the assessment's own items: both sides were read by it."""
    uids: set[str] = set().union(*(uids_in(i.differences) for i in items)) if items else set()
    if not uids:
        return {}
    names: dict[str, str] = {}
    rows = assessment.items.filter(Q(source_id__in=uids) | Q(destination_id__in=uids))
    for row in rows.only("source_id", "source_name", "destination_id", "destination_name"):
        if row.destination_id in uids and row.destination_name:
            names.setdefault(row.destination_id, row.destination_name)
        if row.source_id in uids and row.source_name:
            names[row.source_id] = row.source_name
    return names


assessment_rerun = launch_view(
    MetadataAssessment,
    services.start_metadata_assessment,
    perms="jobs.launch_run",
    back="metadata-assessment",
)


def _selected(request: HttpRequest) -> list[str]:
    return request.POST.getlist("items")


@login_required
@permission_required("metadata_sync.review_assessment", raise_exception=True)
@require_POST
def assessment_review(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = get_object_or_404(MetadataAssessment.objects.select_related("profile"), pk=pk)
    ids = _selected(request)
    back = request.POST.get("next") or ""
    try:
        if request.POST.get("action") == "reject":
            done = services.reject_items(assessment, ids, user=request.user)
            messages.success(request, f"{len(done)} match(es) rejected.")
        else:
            picks = {
                i: request.POST.get(f"destination_{i}", "").strip()
                for i in ids
                if request.POST.get(f"destination_{i}", "").strip()
            }
            done = services.accept_items(
                assessment, ids, destinations=picks or None, user=request.user
            )
            messages.success(request, f"{len(done)} match(es) accepted.")
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    except Dhis2Error as exc:
        messages.error(request, f"The destination could not be asked: {exc}")
    url = redirect("metadata-assessment", pk=pk).url
    return redirect(f"{url}?{back}" if back and not back.startswith(("/", "http")) else url)


@login_required
@permission_required(VIEW, raise_exception=True)
@require_POST
def assessment_sync(request: HttpRequest, pk: int) -> HttpResponse:
    """Preview (page or JSON download), validate or apply the selected missing objects."""
    assessment = get_object_or_404(
        MetadataAssessment.objects.select_related("profile__source", "profile__destination"),
        pk=pk,
    )
    action = request.POST.get("action", "preview")
    ids: list[Any] = _selected(request)
    if request.POST.get("all_missing"):
        ids = list(
            assessment.items.filter(status=Status.MISSING).values_list("pk", flat=True)[
                : services.MAX_SELECTION
            ]
        )
    if action in ("preview", "download"):
        try:
            payload = services.build_assessment_payload(assessment, ids)
        except ValidationError as exc:
            messages.error(request, _messages_of(exc))
            return redirect("metadata-assessment", pk=pk)
        except Dhis2Error as exc:
            messages.error(request, f"The source could not be read: {exc}")
            return redirect("metadata-assessment", pk=pk)
        if action == "download":
            response = HttpResponse(
                json.dumps(payload.metadata, indent=2), content_type="application/json"
            )
            response["Content-Disposition"] = (
                f'attachment; filename="metadata-assessment-{pk}.json"'
            )
            return response
        return render(
            request,
            "metadata_sync/payload.html",
            {
                "assessment": assessment,
                "payload": payload,
                "counts": [(SPECS[t].label, n) for t, n in payload.counts.items() if n],
                "ids": ids,
                "json": json.dumps(payload.metadata, indent=2)[:200_000],
                "sync_form": SyncForm(request.POST),
            },
        )
    if not request.user.has_perm("jobs.launch_run"):
        raise PermissionDenied
    dry_run = action != "apply"
    if not dry_run and not request.user.has_perm("metadata_sync.apply_metadata"):
        raise PermissionDenied
    form = SyncForm(request.POST)
    options = form.cleaned_data if form.is_valid() else {}
    try:
        run = services.start_metadata_apply(
            assessment,
            user=request.user,
            trigger=Run.Trigger.WEB,
            items=ids,
            dry_run=dry_run,
            import_strategy=options.get("import_strategy", request.POST.get("import_strategy")),
            atomic_mode=options.get("atomic_mode", request.POST.get("atomic_mode")),
        )
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
        return redirect("metadata-assessment", pk=pk)
    except Busy as exc:
        messages.warning(request, str(exc))
        return redirect("metadata-assessment", pk=pk)
    return redirect("run-detail", pk=run.pk)


@login_required
@permission_required("metadata_sync.view_profilemapping", raise_exception=True)
def profile_mapping_list(request: HttpRequest, pk: int) -> HttpResponse:
    profile = get_object_or_404(
        ConnectionProfile.objects.select_related("source", "destination"), pk=pk
    )
    mappings = ProfileMapping.objects.filter(profile=profile).select_related(
        "accepted_by", "assessment"
    )
    type_ = request.GET.get("type", "")
    if type_:
        mappings = mappings.filter(type=type_)
    page = Paginator(mappings, PAGE_SIZE).get_page(request.GET.get("page"))
    # names of both sides, from the items of the assessments the mappings came from
    keys = {(m.assessment_id, m.source_id) for m in page if m.assessment_id}
    items = AssessmentItem.objects.filter(
        assessment_id__in={a for a, _ in keys}, source_id__in={s for _, s in keys}
    ).only("assessment_id", "source_id", "source_name", "destination_id", "destination_name")
    by_key: dict[tuple[int | None, str], AssessmentItem] = {
        (i.assessment_id, i.source_id): i for i in items
    }
    rows = [(m, by_key.get((m.assessment_id, m.source_id))) for m in page]
    source_names = {m.source_id: i.source_name for m, i in rows if i and i.source_name}
    destination_names = {
        m.destination_id: i.destination_name
        for m, i in rows
        if i and i.destination_id == m.destination_id and i.destination_name
    }
    # a mapping whose assessment is gone: its names from the instances (cached)
    source_names |= names_for(
        profile.source, [m.source_id for m, _ in rows if m.source_id not in source_names]
    )
    destination_names |= names_for(
        profile.destination,
        [m.destination_id for m, _ in rows if m.destination_id not in destination_names],
    )
    return render(
        request,
        "metadata_sync/mappings.html",
        {
            "profile": profile,
            "page": page,
            "rows": rows,
            "type": type_,
            "source_names": source_names,
            "destination_names": destination_names,
        },
    )


@login_required
@permission_required("metadata_sync.delete_profilemapping", raise_exception=True)
@require_POST
def profile_mapping_delete(request: HttpRequest, pk: int) -> HttpResponse:
    mapping = get_object_or_404(ProfileMapping, pk=pk)
    profile_id = mapping.profile_id
    mapping.delete()
    messages.success(request, f"Mapping {mapping} deleted.")
    return redirect("metadata-mappings", pk=profile_id)
