from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from . import cron, schedules
from .forms import ScheduleForm
from .models import Run, RunLogEntry, Schedule
from .registry import job_type_choices, kind_choices
from .services import Busy, request_cancel

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldsetSpec


#: The log lines' columns, all read-only.
_LOG_FIELDS = ("time", "level", "message")


class RunLogEntryInline(admin.TabularInline[RunLogEntry, Run]):
    model = RunLogEntry
    fields = _LOG_FIELDS
    readonly_fields = _LOG_FIELDS
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Run | None = None) -> bool:
        return False


class _OperationFilter(admin.SimpleListFilter):
    """A filter on the field `parameter_name`, which holds an operation's key: it offers the
    registry's operations (the schedulable ones with `schedulable_only`), not a DISTINCT over
    every row."""

    parameter_name: str
    schedulable_only = False

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        return job_type_choices() if self.schedulable_only else kind_choices()

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(**{self.parameter_name: value}) if value else queryset


class RunKindFilter(_OperationFilter):
    title = "kind"
    parameter_name = "kind"


@admin.register(Run)
class RunAdmin(admin.ModelAdmin[Run]):
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
    # With 100,000 runs the changelist spent seconds on a full-table COUNT(*) (the "show all"
    # count), SELECT DISTINCT kind and the date hierarchy (SELECT DISTINCT of a truncated date,
    # a Python function per row on SQLite). Kinds come from the registry and dates from a fixed
    # choice of ranges instead: none of them reads the table.
    show_full_result_count = False
    list_filter = [
        "status",
        RunKindFilter,
        "trigger",
        ("created_at", admin.DateFieldListFilter),
        "schedule",
    ]
    list_select_related = ["started_by", "schedule"]
    search_fields = ["title", "error"]
    readonly_fields = [
        "kind", "title", "status", "trigger", "started_by", "schedule", "params", "progress",
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


class JobTypeFilter(_OperationFilter):
    title = "job type"
    parameter_name = "job_type"
    schedulable_only = True


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin[Schedule]):
    form = ScheduleForm
    list_display = [
        "name",
        "job_type_label",
        "cron",
        "cron_description",
        "timezone",
        "status",
        "consecutive_failures",
        "next_run",
        "last_run_link",
    ]
    list_filter = ["status", JobTypeFilter, "enabled"]
    list_select_related = ["last_run"]
    search_fields = ["name", "cron", "notify_emails"]
    state_fields = [
        "status", "consecutive_failures", "next_run", "last_run_link", "created_by", "created_at",
        "updated_at",
    ]  # fmt: skip
    readonly_fields = [*state_fields, "history"]
    fieldsets = [
        (None, {"fields": ["name", "job", "cron", "timezone", "enabled"]}),
        (
            "Failures and notifications",
            {"fields": ["max_consecutive_failures", "notify_emails", "notify_on_success"]},
        ),
        ("State", {"fields": [*state_fields]}),
        ("Execution history", {"fields": ["history"]}),
    ]
    actions = ["pause_schedules", "resume_schedules", "run_schedules_now"]

    def get_fieldsets(self, request: HttpRequest, obj: Schedule | None = None) -> _FieldsetSpec:
        fieldsets = super().get_fieldsets(request, obj)
        return fieldsets if obj is not None else fieldsets[:2]  # no state or history yet

    # --- saving through the services, so django-q2 stays in step ------------------------------
    def save_model(
        self, request: HttpRequest, obj: Schedule, form: ScheduleForm, change: bool
    ) -> None:
        schedules.save_schedule(obj, user=request.user)

    def delete_model(self, request: HttpRequest, obj: Schedule) -> None:
        schedules.delete_schedule(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        for schedule in queryset:
            schedules.delete_schedule(schedule)

    # --- columns and read-only fields -------------------------------------------------------
    @admin.display(description="What to run")
    def job(self, obj: Schedule) -> str:
        target = schedules.job_object(obj)
        label = schedules.job_type_label(obj.job_type)
        return f"{label}: {target}" if target else f"{label} #{obj.job_id} (missing)"

    @admin.display(description="Job type", ordering="job_type")
    def job_type_label(self, obj: Schedule) -> str:
        return schedules.job_type_label(obj.job_type)

    @admin.display(description="Runs")
    def cron_description(self, obj: Schedule) -> str:
        return cron.describe_cron(obj.cron)

    @admin.display(description="Last run")
    def last_run_link(self, obj: Schedule) -> str:
        run = obj.last_run
        if run is None:
            return "never"
        url = reverse("admin:jobs_run_change", args=[run.pk])
        return format_html('<a href="{}">#{} {}</a>', url, run.pk, run.get_status_display())

    @admin.display(description="Recent runs")
    def history(self, obj: Schedule) -> str:
        runs = obj.runs.select_related("started_by")[:25]
        if not runs:
            return "No runs yet."
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">#{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:jobs_run_change", args=[r.pk]),
                    r.pk,
                    r.get_status_display(),
                    r.get_trigger_display(),
                    r.created_at.strftime("%Y-%m-%d %H:%M"),
                    r.error[:120],
                )
                for r in runs
            ),
        )
        return format_html(
            "<table><thead><tr><th>Run</th><th>Status</th><th>Trigger</th><th>Created</th>"
            "<th>Error</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    # --- actions ----------------------------------------------------------------------------
    def has_run_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("jobs.run_schedule")

    @admin.action(description="Pause selected schedules", permissions=["change"])
    def pause_schedules(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        for schedule in queryset:
            schedules.pause(schedule, user=request.user)
        self.message_user(request, f"Paused {len(queryset)} schedules.", messages.SUCCESS)

    @admin.action(description="Resume selected schedules", permissions=["change"])
    def resume_schedules(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        for schedule in queryset:
            schedules.resume(schedule, user=request.user)
        self.message_user(request, f"Resumed {len(queryset)} schedules.", messages.SUCCESS)

    @admin.action(description="Run selected schedules now", permissions=["run"])
    def run_schedules_now(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        for schedule in queryset:
            try:
                run = schedules.run_now(schedule, user=request.user, trigger=Run.Trigger.ADMIN)
            except (Busy, schedules.JobMissing) as exc:
                self.message_user(request, f"{schedule.name}: {exc}", messages.WARNING)
            else:
                self.message_user(
                    request, f"{schedule.name}: started run #{run.pk}.", messages.SUCCESS
                )
