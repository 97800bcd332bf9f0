"""Admin: assessments with their results, read-only (they are a run's record, made by the form
or the API, which validate against DHIS2). Actions call the services: "Run again" and
"Export CSV"."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse
from django.utils.html import format_html

from jobs.faces import LaunchAdminMixin

from .api import export_response
from .models import CompletenessAssessment, CompletenessRollup, CompletenessRow
from .results import RowFilter, filter_rows
from .services import start_completeness_assessment


class _ReadOnly:
    """For a `ModelAdmin` (listed before it): nothing is added or changed here."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(CompletenessAssessment)
class CompletenessAssessmentAdmin(
    LaunchAdminMixin, _ReadOnly, admin.ModelAdmin[CompletenessAssessment]
):
    list_display = [
        "__str__", "instance", "assessed", "compliant", "non_compliant", "no_data",
        "average_compliance", "registered", "run_status", "created_by",
    ]  # fmt: skip
    list_select_related = ["instance", "run", "created_by"]
    list_filter = ["instance", "run__status"]
    search_fields = ["data_set", "data_set_name"]
    readonly_fields = [
        "instance", "data_set", "data_set_name", "period_type", "params", "periods", "run",
        "assessed", "compliant", "non_compliant", "no_data", "average_compliance",
        "registered", "element_names", "org_unit_names", "created_at", "created_by", "results",
    ]  # fmt: skip
    actions = ["run_again", "export_csv"]

    @admin.display(description="Run", ordering="run__status")
    def run_status(self, obj: CompletenessAssessment) -> str:
        return obj.run.get_status_display() if obj.run else "—"

    @admin.display(description="Results")
    def results(self, obj: CompletenessAssessment) -> str:
        rows = reverse("admin:completeness_completenessrow_changelist")
        page = reverse("completeness-detail", args=[obj.pk])
        return format_html(
            '<a href="{}?assessment__id__exact={}">{} rows</a> · <a href="{}">results page</a>',
            rows,
            obj.pk,
            obj.rows.count(),
            page,
        )

    @admin.action(description="Run again", permissions=["launch"])
    def run_again(self, request: HttpRequest, queryset: QuerySet[CompletenessAssessment]) -> None:
        self.start_runs(request, queryset, start_completeness_assessment)

    @admin.action(description="Export CSV", permissions=["view"])
    def export_csv(
        self, request: HttpRequest, queryset: QuerySet[CompletenessAssessment]
    ) -> HttpResponseBase | None:
        if queryset.count() != 1:
            self.message_user(request, "Choose one assessment to export.", messages.WARNING)
            return None
        assessment = queryset.select_related("instance").get()
        return export_response(assessment, filter_rows(assessment, RowFilter()), fmt="csv")


def _assessment_first(model: type[models.Model]) -> list[str]:
    """Every field, read-only, with the assessment first (the shared place fields of the
    abstract base would otherwise come before it)."""
    names = [f.name for f in model._meta.fields]
    return ["assessment", *(n for n in names if n != "assessment")]


@admin.register(CompletenessRow)
class CompletenessRowAdmin(_ReadOnly, admin.ModelAdmin[CompletenessRow]):
    list_display = [
        "org_unit_name", "org_unit", "level", "period", "compliance", "compliant", "no_data",
        "registered",
    ]  # fmt: skip
    list_filter = ["compliant", "no_data", "registered", "level"]
    search_fields = ["org_unit", "org_unit_name", "period"]
    readonly_fields = _assessment_first(CompletenessRow)
    list_select_related = ["assessment"]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(CompletenessRollup)
class CompletenessRollupAdmin(_ReadOnly, admin.ModelAdmin[CompletenessRollup]):
    list_display = [
        "org_unit_name", "level", "period", "assessed", "compliant", "non_compliant", "no_data",
        "average_compliance", "compliant_percent",
    ]  # fmt: skip
    list_filter = ["level"]
    search_fields = ["org_unit", "org_unit_name"]
    readonly_fields = _assessment_first(CompletenessRollup)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
