from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from .forms import ConnectionProfileForm, InstanceForm
from .models import ConnectionProfile, Instance
from .services import save_instance, save_profile, test_connection

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldsetSpec


@admin.register(Instance)
@method_decorator(sensitive_post_parameters("password", "token"), name="changeform_view")
class InstanceAdmin(admin.ModelAdmin[Instance]):
    form = InstanceForm
    list_display = [
        "name",
        "base_url",
        "auth_type",
        "version",
        "last_check_ok",
        "version_checked_at",
    ]
    list_filter = ["auth_type", "last_check_ok"]
    search_fields = ["name", "base_url"]
    readonly_fields = ["version", "version_checked_at", "last_check_ok", "last_check_message"]
    actions = ["test_connections"]
    fieldsets = [
        (None, {"fields": ["name", "base_url", "verify_tls", "timeout_seconds"]}),
        ("Authentication", {"fields": ["auth_type", "username", "password", "token"]}),
        (
            "Last connection test",
            {"fields": ["version", "version_checked_at", "last_check_ok", "last_check_message"]},
        ),
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Instance | None = None) -> _FieldsetSpec:
        fieldsets = super().get_fieldsets(request, obj)
        if not self.has_change_permission(request, obj):
            # Read-only viewers (operators) never get the secret inputs at all.
            return [fs for fs in fieldsets if fs[0] != "Authentication"] + [
                ("Authentication", {"fields": ["auth_type", "username"]})
            ]
        return fieldsets

    def has_test_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("connections.test_instance")

    def save_model(
        self, request: HttpRequest, obj: Instance, form: InstanceForm, change: bool
    ) -> None:
        """Saved by the service, which the form's validation already ran."""
        save_instance(obj, user=request.user, **form.service_fields())

    @admin.action(description="Test connection", permissions=["test"])
    def test_connections(self, request: HttpRequest, queryset: QuerySet[Instance]) -> None:
        for instance in queryset:
            result = test_connection(instance)
            level = messages.SUCCESS if result.ok else messages.ERROR
            self.message_user(request, f"{instance.name}: {result.message}", level)


@admin.register(ConnectionProfile)
class ConnectionProfileAdmin(admin.ModelAdmin[ConnectionProfile]):
    form = ConnectionProfileForm
    list_display = ["name", "source", "destination"]
    list_select_related = ["source", "destination"]
    list_filter = ["source", "destination"]
    search_fields = ["name", "description"]

    def save_model(
        self,
        request: HttpRequest,
        obj: ConnectionProfile,
        form: ConnectionProfileForm,
        change: bool,
    ) -> None:
        """Saved by the service (which also resets watermarks when the pair changed)."""
        save_profile(obj, user=request.user, **form.service_fields())
