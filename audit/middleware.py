"""django-auditlog's middleware, also knowing the user of an API token.

auditlog takes the actor from `request.user` before the view runs; DRF authenticates a token
only inside the view, so an API change would be logged without its author. Here a request
that carries `Authorization: Token ...` is authenticated the way DRF will do it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditlog.middleware import AuditlogMiddleware
from django.http import HttpRequest
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser


class AuditActorMiddleware(AuditlogMiddleware):  # type: ignore[misc]  # auditlog ships no types
    @staticmethod
    def _get_actor(request: HttpRequest) -> AbstractBaseUser | None:
        user: AbstractBaseUser | None = AuditlogMiddleware._get_actor(request)
        if user is not None:
            return user
        try:
            # DRF's Request in the stubs; it reads only the header, which HttpRequest has too.
            found = TokenAuthentication().authenticate(request)  # type: ignore[arg-type]
        except AuthenticationFailed:
            return None  # DRF answers 401 itself; nothing will be changed
        return found[0] if found else None
