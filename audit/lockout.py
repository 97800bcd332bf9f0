"""django-axes hooks: the lock-out answer and the client address.

A locked-out browser gets a page (templates/registration/locked_out.html); the API token
endpoint gets JSON `{"detail": ...}`. Both answer 429 Too Many Requests, axes' default status,
because the client is refused for its number of attempts, not for who it is.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

STATUS = 429


def lockout_message(request: HttpRequest) -> str:
    """The one sentence both faces show, with the cool-off in minutes."""
    cool_off = get_cool_off(request)
    if isinstance(cool_off, timedelta):
        minutes = max(1, math.ceil(cool_off.total_seconds() / 60))
        until = f" for {minutes} minute{'s' if minutes != 1 else ''} after the last failed attempt"
    else:
        until = ""
    return (
        f"Too many failed login attempts ({settings.AXES_FAILURE_LIMIT}): this account is "
        f"locked for this address{until}. Try again then, or ask an admin to unlock it."
    )


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: JSON for the API, the lock-out page for the browser."""
    message = lockout_message(request)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=STATUS)
    return render(request, "registration/locked_out.html", {"message": message}, status=STATUS)


def client_ip(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the address failures are counted for.

    Behind our TLS proxy (BEHIND_TLS_PROXY) it is the last X-Forwarded-For entry, the one the
    proxy appended; earlier entries come from the client and could be made up to dodge the
    lock-out. Otherwise REMOTE_ADDR.
    """
    if settings.AXES_BEHIND_PROXY:
        forwarded: str = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    remote_addr: str | None = request.META.get("REMOTE_ADDR")
    return remote_addr
