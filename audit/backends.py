"""django-axes' lock-out check, skipped for `authenticate()` calls without a request.

Every login a client can reach (/login/, /admin/login/, the API token endpoint) passes the
request, so all of them are throttled. Calls without one come from our own code, such as
Django's test `Client.login()` or a shell session; stock axes refuses those with an exception,
which would only break them without stopping any attacker.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class RequestAxesBackend(AxesStandaloneBackend):  # type: ignore[misc]  # axes ships no types
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        # Untyped (Any) in axes; it returns None or raises.
        return super().authenticate(  # type: ignore[no-any-return]
            request, username=username, password=password, **kwargs
        )
