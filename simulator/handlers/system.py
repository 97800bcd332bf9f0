"""``/api/system/*`` and ``/api/me`` (reference §1 and §5 "Async")."""

from __future__ import annotations

import random
from typing import Any

from simulator.builder import random_uid
from simulator.handlers.common import Ctx
from simulator.http import SimResponse, json_response, text_response
from simulator.state import fmt_metadata_ts

# (revision, buildTime) of the recorded servers; other versions get a synthetic pair.
KNOWN_BUILDS = {
    36: ("2b88079", "2022-12-21T19:59:50.000"),
    37: ("aec9de0", "2023-04-14T13:37:57.000"),
    38: ("56cd710", "2024-06-25T13:19:58.000"),
    39: ("7e7e8db", "2024-04-08T19:35:06.000"),
    40: ("a1aa81b", "2024-07-04T09:08:32.000"),
    41: ("70b4a8f", "2024-06-25T12:38:41.000"),
    42: ("eb1c3d5", "2025-01-14T10:21:07.000"),
}
SYSTEM_ID = "eed3d451-4ff5-4193-b951-ffcc68954299"


def system_info(ctx: Ctx) -> SimResponse:
    """Built on the openhexa recordings (``system-info-<ver>.json``): key set and order per
    version family (2.36/2.37 add jasperReportsVersion, environmentVariable, clusterHostname,
    metadataSyncEnabled; 2.41+ put ``databaseInfo`` (with ``time``) before ``version``)."""
    v = ctx.version
    now = fmt_metadata_ts(ctx.sim.now())
    revision, build_time = KNOWN_BUILDS.get(v.major, ("0000000", "2024-01-01T00:00:00.000"))
    info: dict[str, Any] = {
        "contextPath": ctx.base_url,
        "userAgent": ctx.request.headers.get("user-agent", ""),
        "calendar": "iso8601",
        "dateFormat": "yyyy-mm-dd",
        "serverDate": now,
        "serverTimeZoneId": "Etc/UTC",
        "serverTimeZoneDisplayName": "Coordinated Universal Time",
        "lastAnalyticsTableSuccess": now,
        "intervalSinceLastAnalyticsTableSuccess": "0 h, 0 m, 0 s",
        "lastAnalyticsTableRuntime": "00:00:01.000",
        "lastSystemMonitoringSuccess": "2019-03-26T17:07:15.418",
    }
    if v.major >= 41:
        info["databaseInfo"] = {"spatialSupport": True, "time": now}
    info["version"] = v.raw
    info["revision"] = revision
    info["buildTime"] = build_time
    if v.major <= 37:
        info["jasperReportsVersion"] = "6.3.1"
        info["environmentVariable"] = "DHIS2_HOME"
    if v.major <= 40:
        info["databaseInfo"] = {"spatialSupport": True}
    info.update(
        {
            "encryption": False,
            "emailConfigured": False,
            "redisEnabled": False,
            "systemId": SYSTEM_ID,
            "systemName": f"DHIS 2 Simulator ({ctx.sim.dataset})",
        }
    )
    if v.major <= 37:
        info["clusterHostname"] = ""
    info["isMetadataVersionEnabled"] = True
    if v.major <= 37:
        info["metadataSyncEnabled"] = False
    fields = ctx.request.param("fields")
    if fields:
        wanted = [f.strip() for f in fields.split(",") if f.strip()]
        info = {k: info[k] for k in wanted if k in info}
    return json_response(info)


def ping(ctx: Ctx) -> SimResponse:
    return text_response("pong")


def system_id(ctx: Ctx) -> SimResponse:
    """``/api/system/id?limit=N`` → ``{"codes": [...]}`` (limit capped at 10000)."""
    try:
        limit = max(1, min(int(ctx.request.param("limit") or "1"), 10000))
    except ValueError:
        limit = 1
    rng = random.Random()
    return json_response({"codes": [random_uid(rng) for _ in range(limit)]})


def me(ctx: Ctx) -> SimResponse:
    user = ctx.user
    body = {
        "id": user.uid,
        "username": user.username,
        "name": user.name,
        "displayName": user.name,
        "authorities": list(user.authorities),
        "organisationUnits": [{"id": ou} for ou in user.organisation_units],
        "userCredentials": {"username": user.username},
    }
    fields = ctx.request.param("fields")
    if fields:
        wanted = [f.split("[")[0].strip() for f in fields.split(",") if f.strip()]
        if "*" not in wanted and ":all" not in wanted:
            body = {k: body[k] for k in wanted if k in body}
    return json_response(body)


def tasks(ctx: Ctx) -> SimResponse:
    """``/api/system/tasks/{type}/{id}``: notifications newest first, ``[]`` before start."""
    job = ctx.sim.jobs.get(ctx.groups["id"], ctx.groups["type"])
    if job is None or not job.done:
        return json_response([])
    return json_response(job.notifications)


def tasks_by_type(ctx: Ctx) -> SimResponse:
    """``/api/system/tasks/{type}``: job id → notifications."""
    jt = ctx.groups["type"]
    out = {j.id: j.notifications for j in list(ctx.sim.jobs.jobs.values()) if j.job_type == jt}
    return json_response(out)


def task_summary(ctx: Ctx) -> SimResponse:
    """``/api/system/taskSummaries/{type}/{id}``: bare summary; 200 with an empty body until
    the job is done or for an unknown id (``SystemController#getTaskSummaryJson``)."""
    job = ctx.sim.jobs.get(ctx.groups["id"], ctx.groups["type"])
    if job is None or not job.done:
        return SimResponse(status=200, headers={"Content-Type": "application/json"}, body=b"")
    return json_response(job.summary)
