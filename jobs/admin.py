from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from .models import Run, RunLogEntry
from .services import request_cancel


class RunLogEntryInline(admin.TabularInline):
    model = RunLogEntry
    fields = ["time", "level", "message"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Run | None = None) -> bool:
        return False


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "title",
        "kind",
        "status",
        "progress",
        "trigger",
        "started_by",
        "created_at",
    ]
    list_filter = ["status", "kind", "trigger"]
    list_select_related = ["started_by"]
    search_fields = ["title", "error"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "kind", "title", "status", "trigger", "started_by", "params", "progress",
        "progress_message", "stats", "error", "cancel_requested", "task_id", "created_at",
        "started_at", "finished_at", "heartbeat_at", "page_link",
    ]  # fmt: skip
    inlines = [RunLogEntryInline]
    actions = ["cancel_runs"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs are launched from what they run (a transfer, a schedule...)

    def has_change_permission(self, request: HttpRequest, obj: Run | None = None) -> bool:
        return False

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("jobs.cancel_run")

    @admin.display(description="Live page")
    def page_link(self, obj: Run) -> str:
        return format_html(
            '<a href="{}">Open the run page</a>', reverse("run-detail", args=[obj.pk])
        )

    @admin.action(description="Cancel selected runs", permissions=["cancel"])
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        count = 0
        for run in queryset.filter(status__in=Run.ACTIVE):
            request_cancel(run, user=request.user)
            count += 1
        self.message_user(request, f"Cancellation requested for {count} runs.", messages.SUCCESS)
