"""Health endpoints for load balancers, Docker and compose: `/healthz` and `/readyz`.

* `/healthz`: the web process answers. Always 200 `{"status": "ok"}`; touches no database, so a
  database outage does not make an orchestrator restart healthy web processes.
* `/readyz`: the deployment can do work. 200 when the database answers `SELECT 1` and a worker
  shows a recent sign of life; 503 naming the check that failed otherwise.

The worker signal. django-q2's own liveness record, the cluster `Stat` that the sentinel saves
every guard cycle, lives in the Django cache (`Broker.set_stat`, the `default` cache, a 3-second
expiry), and this project configures no shared cache: each process has its own local-memory
cache, so the web process can never see the worker's `Stat`. Instead a housekeeping django-q2
schedule (`WORKER_HEARTBEAT_NAME`, every minute, registered in `jobs.apps`) runs
`record_worker_heartbeat` through the normal path: the cluster's scheduler queues it, the broker
delivers it, a worker executes it and the monitor saves its result as a `Success` row with its
`stopped` time. A recent such row proves the whole pipeline that runs our jobs works, which a
`Stat` (the sentinel alone) would not. When every worker is busy with long runs the heartbeat
task waits in the queue, so a run in progress whose own heartbeat (`Run.heartbeat_at`) is
within `RUN_STALL_SECONDS` counts as a sign of life too: busy is not down.

Both answer before host validation and the HTTPS redirect (`HealthProbeMiddleware` comes first
in `MIDDLEWARE`): probes call the container by its IP over plain HTTP, and neither body holds
anything but check names and states, never an error text, host name or version.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

WORKER_HEARTBEAT_NAME = "dhis2sync: worker heartbeat"
WORKER_HEARTBEAT_FUNC = "config.health.record_worker_heartbeat"
#: Heartbeat results kept; older ones are deleted so that a result every minute does not push
#: other tasks' results out of django-q2's `save_limit`.
HEARTBEATS_KEPT = 3

OK = "ok"


def record_worker_heartbeat() -> str:
    """The heartbeat task: its saved result is the proof that a worker ran it.

    It deletes all but the newest heartbeat results first (its own result is saved by the
    monitor after it returns).
    """
    from django_q.models import Success

    old = list(
        Success.objects.filter(func=WORKER_HEARTBEAT_FUNC)
        .order_by("-stopped")
        .values_list("pk", flat=True)[HEARTBEATS_KEPT - 1 :]
    )
    if old:
        Success.objects.filter(pk__in=old).delete()
    return "alive"


def database_state() -> str:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any failure means "not ready"; the server log keeps the reason
        logger.warning("Readiness: the database did not answer.", exc_info=True)
        return "unreachable"
    return OK


def worker_state() -> str:
    """Return ok, "no heartbeat" (never seen) or "stale" (seen, but not recently enough)."""
    from django_q.models import Success

    from jobs.models import Run

    now = timezone.now()
    max_age = timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE)
    last = (
        Success.objects.filter(func=WORKER_HEARTBEAT_FUNC)
        .order_by("-stopped")
        .values_list("stopped", flat=True)
        .first()
    )
    if last is not None and now - last <= max_age:
        return OK
    busy_since = now - timedelta(seconds=settings.RUN_STALL_SECONDS)
    if Run.objects.filter(status=Run.Status.RUNNING, heartbeat_at__gte=busy_since).exists():
        return OK
    return "stale" if last is not None else "no heartbeat"


def readiness() -> tuple[bool, dict[str, str]]:
    """Run the readiness checks in order; the worker check needs the database."""
    checks = {"database": database_state()}
    if checks["database"] != OK:
        checks["worker"] = "not checked"
        return False, checks
    try:
        checks["worker"] = worker_state()
    except Exception:  # e.g. tables missing before the first migrate
        logger.warning("Readiness: the worker heartbeat could not be read.", exc_info=True)
        checks["worker"] = "unknown"
    return all(state == OK for state in checks.values()), checks


@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": OK})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    ready, checks = readiness()
    return JsonResponse(
        {"status": OK if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )


PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": healthz,
    "/readyz": readyz,
}


class HealthProbeMiddleware:
    """Answer the probe paths before any other middleware.

    First in `MIDDLEWARE`, so a probe is not refused by `ALLOWED_HOSTS` (it calls
    `127.0.0.1:8000` or the container's address), not redirected to HTTPS, and opens no session.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info.rstrip("/"))
        if probe is not None:
            return probe(request)
        return self.get_response(request)


def main(argv: list[str] | None = None) -> int:
    """`python -m config.health`: the readiness checks from a shell, for the worker container's
    healthcheck (a worker serves no HTTP). Prints the same JSON as `/readyz`; exit 1 if not ready.
    """
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    ready, checks = readiness()
    print(json.dumps({"status": OK if ready else "unavailable", "checks": checks}))
    return 0 if ready else 1


if __name__ == "__main__":
    sys.exit(main())
