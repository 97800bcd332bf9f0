"""Transfer admin. Its forms parse and show errors; `services.save_transfer` saves the
transfer with its rows at once (in `save_related`, where the rows are known), as every face
does."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import admin
from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest

from jobs.faces import LaunchAdminMixin

from .models import Transfer, TransferMapping
from .services import (
    EDITABLE_FIELDS,
    MAPPING_FIELDS,
    check_mappings,
    save_transfer,
    start_transfer,
)


def _name(transfer: Transfer) -> str:
    return transfer.name


class AdminMappingFormSet(BaseInlineFormSet[TransferMapping, Transfer, ModelForm[TransferMapping]]):
    """Rows are checked by the service's rule (in the transfer's id scheme, duplicates on the
    row that repeats) and saved with the transfer by `TransferAdmin.save_related`, so the row
    forms run no model validation of their own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for form in self.forms:
            form._post_clean = lambda: None  # type: ignore[attr-defined]  # private: not in the stubs

    def _post_clean_rows(self) -> list[Mapping[str, str]]:
        self.row_forms: list[ModelForm[TransferMapping]] = []
        rows: list[Mapping[str, str]] = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or (self.can_delete and self._should_delete_form(form)):  # type: ignore[attr-defined]
                continue
            self.row_forms.append(form)
            rows.append({name: data.get(name) or "" for name in MAPPING_FIELDS})
        return rows

    def clean(self) -> None:
        super().clean()
        self.rows = self._post_clean_rows()
        scheme = getattr(self.instance, "id_scheme", "") or Transfer.IdScheme.UID
        for index, found in check_mappings(self.rows, scheme).items():
            form = self.row_forms[index]
            for name, messages_ in found.items():
                form.add_error(name if name in form.fields else NON_FIELD_ERRORS, messages_)

    def validate_unique(self) -> None:
        """Duplicates are reported by `check_mappings`, on the row that repeats."""


class TransferMappingInline(admin.TabularInline[TransferMapping, Transfer]):
    model = TransferMapping
    formset = AdminMappingFormSet
    extra = 1
    fields = [
        "source_data_element",
        "source_category_option_combo",
        "target_data_element",
        "target_category_option_combo",
    ]


IMPORT_FIELDS = (
    "attribute_option_combo_map",
    "unmapped",
    "id_scheme",
    "import_strategy",
    "mark_complete",
    "chunk_size",
    "async_import",
    "propagate_deletions",
    "continue_on_preflight_problems",
    "use_profile_mappings",
)


@admin.register(Transfer)
class TransferAdmin(LaunchAdminMixin, admin.ModelAdmin[Transfer]):
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
        ("Completeness gate", {"fields": ["min_completeness"]}),
        ("Incremental", {"fields": ["incremental", "watermark"]}),
        ("History", {"fields": ["last_run", "created_at", "updated_at"]}),
    ]

    @admin.display(description="Last run", ordering="last_run__status")
    def last_status(self, obj: Transfer) -> str:
        return obj.last_run.get_status_display() if obj.last_run else "never run"

    def save_model(
        self, request: HttpRequest, obj: Transfer, form: ModelForm[Transfer], change: bool
    ) -> None:
        """Saved with its rows in `save_related` (the rows are not known here yet)."""

    def save_related(
        self,
        request: HttpRequest,
        form: ModelForm[Transfer],
        formsets: list[BaseInlineFormSet[Any, Transfer, Any]],
        change: bool,
    ) -> None:
        """Save the transfer and its rows through the service (which resets the watermark)."""
        rows = None
        for formset in formsets:
            if isinstance(formset, AdminMappingFormSet):
                rows = formset.rows
            # The admin's change message reads what a formset saved: the service saved it.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        fields = {
            name: form.cleaned_data[name] for name in EDITABLE_FIELDS if name in form.cleaned_data
        }
        save_transfer(form.instance, user=request.user, mappings=rows, **fields)

    @admin.action(description="Run now", permissions=["launch"])
    def run_now(self, request: HttpRequest, queryset: QuerySet[Transfer]) -> None:
        self.start_runs(request, queryset, start_transfer, name=_name, dry_run=False)

    @admin.action(
        description="Dry run (validate on the destination, write nothing)", permissions=["launch"]
    )
    def dry_run(self, request: HttpRequest, queryset: QuerySet[Transfer]) -> None:
        self.start_runs(request, queryset, start_transfer, name=_name, dry_run=True)

    @admin.action(description="Full run (ignore the incremental watermark)", permissions=["launch"])
    def full_run(self, request: HttpRequest, queryset: QuerySet[Transfer]) -> None:
        self.start_runs(request, queryset, start_transfer, name=_name, full=True)
