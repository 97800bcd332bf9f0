"""Admin of assessments (read-only results, "Run again"), their items (a filtered changelist,
with accept/reject for reviewers), profile mappings (admins edit and delete) and import errors."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from jobs.faces import LaunchAdminMixin

from . import services
from .models import AssessmentItem, MetadataAssessment, MetadataImportError, ProfileMapping


@admin.register(MetadataAssessment)
class MetadataAssessmentAdmin(LaunchAdminMixin, admin.ModelAdmin[MetadataAssessment]):
    list_display = ["id", "profile", "status", "run", "created", "created_by", "items_link"]
    list_filter = ["status", "profile"]
    list_select_related = ["profile", "run", "created_by"]
    readonly_fields = [
        "profile", "types", "run", "status", "counts", "defaults", "created", "created_by",
        "items_link",
    ]  # fmt: skip
    actions = ["run_again"]

    @admin.display(description="Items")
    def items_link(self, obj: MetadataAssessment) -> str:
        url = reverse("admin:metadata_sync_assessmentitem_changelist")
        return format_html('<a href="{}?assessment__id__exact={}">browse items</a>', url, obj.pk)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # started from the metadata page or the API (it is a run)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description="Run again", permissions=["launch"])
    def run_again(self, request: HttpRequest, queryset: QuerySet[MetadataAssessment]) -> None:
        self.start_runs(
            request, queryset, services.start_metadata_assessment, name=_assessment_name
        )


def _assessment_name(assessment: MetadataAssessment) -> str:
    return f"Assessment {assessment.pk}"


@admin.register(AssessmentItem)
class AssessmentItemAdmin(admin.ModelAdmin[AssessmentItem]):
    list_display = [
        "source_name", "source_code", "source_id", "type", "status", "destination_name",
        "destination_id", "score", "decision",
    ]  # fmt: skip
    list_filter = ["status", "type", "decision"]
    search_fields = ["source_name", "source_code", "=source_id", "destination_name"]
    list_select_related = ["assessment"]
    show_full_result_count = False  # 50,000 items: skip the second COUNT
    actions = ["accept", "reject"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("metadata_sync.review_assessment")

    def _decide(
        self, request: HttpRequest, queryset: QuerySet[AssessmentItem], accept: bool
    ) -> None:
        by_assessment: dict[int, list[int]] = {}
        for pk, assessment_id in queryset.values_list("pk", "assessment_id"):
            by_assessment.setdefault(assessment_id, []).append(pk)
        for assessment in MetadataAssessment.objects.filter(pk__in=by_assessment):
            ids = by_assessment[assessment.pk]
            try:
                if accept:
                    services.accept_items(assessment, ids, user=request.user)
                else:
                    services.reject_items(assessment, ids, user=request.user)
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
                continue
            verb = "accepted" if accept else "rejected"
            self.message_user(request, f"{len(ids)} item(s) {verb}.", messages.SUCCESS)

    @admin.action(description="Accept the selected matches", permissions=["review"])
    def accept(self, request: HttpRequest, queryset: QuerySet[AssessmentItem]) -> None:
        self._decide(request, queryset, accept=True)

    @admin.action(description="Reject the selected matches", permissions=["review"])
    def reject(self, request: HttpRequest, queryset: QuerySet[AssessmentItem]) -> None:
        self._decide(request, queryset, accept=False)


class ProfileMappingForm(forms.ModelForm[ProfileMapping]):
    class Meta:
        model = ProfileMapping
        fields = ["destination_id"]

    def clean(self) -> dict[str, Any]:
        # A model form's `clean()` returns `cleaned_data`, never None (the stubs say a form's may).
        data = cast(dict[str, Any], super().clean())
        try:
            services.validate_mapping(
                type=self.instance.type,
                source_id=self.instance.source_id,
                destination_id=data.get("destination_id", ""),
            )
        except ValidationError as exc:
            raise ValidationError(exc.message_dict.get("destination_id", exc.messages)) from exc
        return data


@admin.register(ProfileMapping)
class ProfileMappingAdmin(admin.ModelAdmin[ProfileMapping]):
    form = ProfileMappingForm
    list_display = ["profile", "type", "source_id", "destination_id", "accepted_by", "accepted_at"]
    list_filter = ["type", "profile"]
    search_fields = ["=source_id", "=destination_id"]
    list_select_related = ["profile", "accepted_by"]
    readonly_fields = ["profile", "type", "source_id", "assessment", "accepted_by", "accepted_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # mappings come from accepted review decisions


@admin.register(MetadataImportError)
class MetadataImportErrorAdmin(admin.ModelAdmin[MetadataImportError]):
    list_display = ["run", "mode", "error_code", "type", "object_id", "object_name", "message"]
    list_filter = ["mode", "error_code"]
    list_select_related = ["run"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
