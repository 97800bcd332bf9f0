from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from jobs.models import Run

from .models import Transfer, TransferMapping
from .services import TransferBusy, start_transfer


class TransferMappingInline(admin.TabularInline):
    model = TransferMapping
    extra = 1
    fields = [
        "source_data_element",
        "source_category_option_combo",
        "target_data_element",
        "target_category_option_combo",
    ]


IMPORT_FIELDS = [
    "attribute_option_combo_map",
    "unmapped",
    "id_scheme",
    "import_strategy",
    "mark_complete",
    "chunk_size",
    "async_import",
    "propagate_deletions",
    "continue_on_preflight_problems",
]


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):
    list_display = ["name", "profile", "data_set", "incremental", "mark_complete", "last_status"]
    list_select_related = ["profile", "last_run"]
    list_filter = ["profile", "last_run__status", "incremental"]
    search_fields = ["name", "data_set"]
    readonly_fields = ["watermark", "last_run", "created_at", "updated_at"]
    inlines = [TransferMappingInline]
    actions = ["run_now", "dry_run", "full_run"]
    fieldsets = [
        (None, {"fields": ["name", "profile", "data_set", "target_data_set"]}),
        ("Periods", {"fields": ["periods", "relative_period", "relative_count"]}),
        ("Org units", {"fields": ["org_units", "include_descendants", "org_unit_map"]}),
        ("Mapping and import", {"fields": IMPORT_FIELDS}),
        ("Incremental", {"fields": ["incremental", "watermark"]}),
        ("History", {"fields": ["last_run", "created_at", "updated_at"]}),
    ]

    @admin.display(description="Last run", ordering="last_run__status")
    def last_status(self, obj: Transfer) -> str:
        return obj.last_run.get_status_display() if obj.last_run else "never run"

    def has_launch_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("jobs.launch_run")

    def _start(
        self, request: HttpRequest, queryset: QuerySet[Transfer], dry_run: bool, full: bool = False
    ) -> None:
        for transfer in queryset:
            try:
                run = start_transfer(
                    transfer,
                    user=request.user,
                    trigger=Run.Trigger.ADMIN,
                    dry_run=dry_run,
                    full=full,
                )
            except TransferBusy as exc:
                self.message_user(request, f"{transfer.name}: {exc}", messages.WARNING)
                continue
            self.message_user(
                request, f"{transfer.name}: queued as run #{run.pk}.", messages.SUCCESS
            )

    @admin.action(description="Run now", permissions=["launch"])
    def run_now(self, request: HttpRequest, queryset: QuerySet[Transfer]) -> None:
        self._start(request, queryset, dry_run=False)

    @admin.action(
        description="Dry run (validate on the destination, write nothing)", permissions=["launch"]
    )
    def dry_run(self, request: HttpRequest, queryset: QuerySet[Transfer]) -> None:
        self._start(request, queryset, dry_run=True)

    @admin.action(description="Full run (ignore the incremental watermark)", permissions=["launch"])
    def full_run(self, request: HttpRequest, queryset: QuerySet[Transfer]) -> None:
        self._start(request, queryset, dry_run=False, full=True)
