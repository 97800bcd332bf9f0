"""User admin for team admins who are not superusers: they manage people and roles, but cannot
hand out superuser status or single permissions that bypass the roles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group, User
from django.http import HttpRequest

from .roles import ROLES

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldsetSpec
    from django.db.models import ManyToManyField, QuerySet
    from django.forms import ModelMultipleChoiceField


admin.site.unregister(User)


@admin.register(User)
class TeamUserAdmin(UserAdmin[User]):
    list_display = ["username", "email", "first_name", "last_name", "is_active", "role_names"]
    list_filter = ["is_active", "groups"]

    @admin.display(description="Roles")
    def role_names(self, obj: User) -> str:
        return ", ".join(g.name for g in obj.groups.all()) or "none"

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("groups")

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # Only a superuser may touch a superuser (this also guards the password form).
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def formfield_for_manytomany(
        self, db_field: ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelMultipleChoiceField[Any] | None:
        """Non-superusers hand out roles, not arbitrary groups."""
        if db_field.name == "groups" and not request.user.is_superuser:
            kwargs["queryset"] = Group.objects.filter(name__in=ROLES)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None) -> _FieldsetSpec:
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser or obj is None:
            return fieldsets
        hidden = {"is_superuser", "user_permissions"}
        return [
            (name, {**opts, "fields": [f for f in opts["fields"] if f not in hidden]})
            for name, opts in fieldsets
        ]
