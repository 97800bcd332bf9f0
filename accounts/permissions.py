"""One DRF permission class for the whole API.

Stock `DjangoModelPermissions` lets any authenticated user read; here GET needs the model's
`view_` permission too, and custom actions declare the codenames they need with
`@action(..., required_perms=["jobs.launch_run"])`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rest_framework.permissions import BasePermission

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

_METHOD_ACTIONS = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}


def perms_for(view: APIView, method: str) -> list[str]:
    """The codenames a request needs: the action's own, else the model's for the HTTP method."""
    explicit = getattr(view, "required_perms", None)
    if explicit is not None:
        return list(explicit)
    queryset = getattr(view, "queryset", None)
    if queryset is None:
        return []
    opts = queryset.model._meta
    action = _METHOD_ACTIONS.get(method.upper())
    if action is None:
        return ["__no_such_permission__"]
    return [f"{opts.app_label}.{action}_{opts.model_name}"]


class RolePermission(BasePermission):
    message = "Your role does not allow this. Ask an admin if you need it."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        # HttpRequest.method is optional in the stubs; a request that reaches a view has one.
        return user.has_perms(perms_for(view, cast(str, request.method)))
