"""Admin for event transfers: actions "Preview", "Dry run" and "Run now" call the services."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from dhis2.errors import Dhis2Error
from jobs.faces import LaunchAdminMixin

from .models import EventTransfer, EventTransferError
from .services import (
    EDITABLE_FIELDS,
    preview_event_transfer,
    save_event_transfer,
    start_event_transfer,
)


def _name(transfer: EventTransfer) -> str:
    return transfer.name


class EventTransferAdminForm(forms.ModelForm[EventTransfer]):
    """Runs the save service's checks (also on the source) as the admin's validation."""

    class Meta:
        model = EventTransfer
        fields = list(EDITABLE_FIELDS)

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # private ModelForm hook: not in the stubs
        if self.errors:
            return
        data = {name: self.cleaned_data.get(name) for name in EDITABLE_FIELDS}
        original = EventTransfer.objects.filter(pk=self.instance.pk).first()
        try:
            self.saved = save_event_transfer(original, data=data, user=None)
        except ValidationError as exc:
            self._update_errors(exc)  # type: ignore[attr-defined]  # private: not in the stubs

    def save(self, commit: bool = True) -> EventTransfer:
        # The admin calls it after save(commit=False).
        self.save_m2m = lambda: None  # type: ignore[method-assign]
        saved: EventTransfer = getattr(self, "saved", self.instance)
        return saved


@admin.register(EventTransfer)
class EventTransferAdmin(LaunchAdminMixin, admin.ModelAdmin[EventTransfer]):
    form = EventTransferAdminForm
    list_display = ["name", "profile", "program", "incremental", "last_status"]
    list_select_related = ["profile", "last_run"]
    list_filter = ["profile", "incremental"]
    search_fields = ["name", "program"]
    readonly_fields = ["watermark", "last_run", "created_at", "updated_at"]
    actions = ["preview", "dry_run", "run_now"]

    @admin.display(description="Last run", ordering="last_run__status")
    def last_status(self, obj: EventTransfer) -> str:
        return obj.last_run.get_status_display() if obj.last_run else "never run"

    def save_model(
        self,
        request: HttpRequest,
        obj: EventTransfer,
        form: EventTransferAdminForm,
        change: bool,
    ) -> None:
        """The form's save service already saved it (with its checks and watermark reset)."""

    @admin.action(description="Preview (count what a run would read)", permissions=["view"])
    def preview(self, request: HttpRequest, queryset: QuerySet[EventTransfer]) -> None:
        for transfer in queryset:
            try:
                result = preview_event_transfer(transfer, sample_size=1)
            except Dhis2Error as exc:
                self.message_user(request, f"{transfer.name}: {exc}", messages.ERROR)
                continue
            parts = ", ".join(f"{o['name']}: {o['count']}" for o in result.by_org_unit)
            total = "?" if result.count is None else result.count
            self.message_user(request, f"{transfer.name}: {total} events ({parts}).")

    @admin.action(description="Dry run (validate on the destination)", permissions=["launch"])
    def dry_run(self, request: HttpRequest, queryset: QuerySet[EventTransfer]) -> None:
        self.start_runs(request, queryset, start_event_transfer, name=_name, dry_run=True)

    @admin.action(description="Run now", permissions=["launch"])
    def run_now(self, request: HttpRequest, queryset: QuerySet[EventTransfer]) -> None:
        self.start_runs(request, queryset, start_event_transfer, name=_name)


@admin.register(EventTransferError)
class EventTransferErrorAdmin(admin.ModelAdmin[EventTransferError]):
    list_display = ["run", "error_code", "event", "org_unit", "message"]
    list_filter = ["error_code"]
    list_select_related = ["run"]
    readonly_fields = ["run", "event", "org_unit", "error_code", "message", "object"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # errors are what DHIS2 answered a run, never typed in
