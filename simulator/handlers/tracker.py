"""Event programs: legacy ``/api/events`` (2.36-2.41) and the new ``/api/tracker`` (reference §8).

* Legacy GET pager: SlimPager ``{page,pageSize,isLastPage}`` on 2.38-2.41, a full pager with
  ``total: 0`` and ``page`` clamped to 1 on 2.36-2.37 (``Pager`` constructor), the real pager
  with ``totalPages=true``, none with ``skipPaging=true``. 404 on 2.42 (removed).
* Legacy POST: WebMessage wrapping ImportSummaries (409 when WARNING/ERROR).
* ``GET /api/tracker/events``: flat pager + ``instances`` (2.36-2.40), ``pager`` + flat copies +
  ``events`` (2.41), ``pager`` only (2.42+); ``paging=false``/``skipPaging=true`` → no pager.
* ``POST /api/tracker``: async by default → ``Tracker job added``; the job completes after
  ``tracker_job_delay`` seconds; ``/api/tracker/jobs/{id}`` lists notifications newest first,
  ``/report`` is 404 until done. ``async=false`` → bare ImportReport, 409 on ERROR.
  Validation codes from ``TrackerErrorCode``: E1010, E1011, E1013, E1029, E1030, E1031, E1032,
  E1089, E1123, E1302, E1304, E1305. An event whose UID exists is updated, never duplicated.
"""

from __future__ import annotations

from typing import Any

from simulator.events import event_timestamp, legacy_view, select_events, tracker_view
from simulator.handlers.common import Ctx, conflict, parse_strategy, read_json, response_type
from simulator.handlers.metadata import build_pager
from simulator.http import SimResponse, error_response, json_response, web_message
from simulator.state import fmt_metadata_ts
from simulator.valuetypes import check, normalise_boolean

TRACKER_TYPES = ("TRACKED_ENTITY", "ENROLLMENT", "RELATIONSHIP", "EVENT")


def _int(ctx: Ctx, name: str, default: int) -> int:
    try:
        return max(1, int(ctx.request.param(name) or default))
    except ValueError:
        return default


# --- validation and writing (shared) --------------------------------------------------------


def validate_event(ctx: Ctx, ev: dict[str, Any], strategy: str) -> list[tuple[str, str]]:
    """Errors ``(code, message)`` for one event in tracker vocabulary."""
    st = ctx.state
    uid = ev.get("event") or ""
    errors: list[tuple[str, str]] = []
    exists = uid in st.events and not st.events[uid].get("deleted")
    if strategy == "CREATE" and exists:
        return [("E1030", f"Event: `{uid}`, already exists.")]
    if strategy in ("UPDATE", "DELETE") and not exists:
        return [("E1032", f"Event: `{uid}`, do not exist.")]
    if strategy == "DELETE":
        return []
    for prop in ("program", "orgUnit"):
        if not ev.get(prop):
            errors.append(("E1123", f"Missing required event property: `{prop}`."))
    if errors:
        return errors
    program = st.get("programs", ev["program"])
    if program is None:
        return [("E1010", f"Could not find Program: `{ev['program']}`, linked to Event.")]
    if st.get("organisationUnits", ev["orgUnit"]) is None:
        return [("E1011", f"Could not find OrganisationUnit: `{ev['orgUnit']}`, linked to Event.")]
    stage_uid = ev.get("programStage") or (
        program["programStages"][0]["id"]
        if program.get("programType") == "WITHOUT_REGISTRATION" and program.get("programStages")
        else None
    )
    if not stage_uid:
        return [("E1123", "Missing required event property: `programStage`.")]
    stage = st.get("programStages", stage_uid)
    if stage is None:
        return [("E1013", f"Could not find ProgramStage: `{stage_uid}`, linked to Event.")]
    if (stage.get("program") or {}).get("id") != program["id"]:
        errors.append(
            (
                "E1089",
                f"Event: `{uid}`, references a Program Stage `{stage_uid}` that "
                f"does not belong to Program `{program['id']}`.",
            )
        )
    if ev["orgUnit"] not in {o["id"] for o in program.get("organisationUnits", [])}:
        errors.append(
            (
                "E1029",
                f"Event OrganisationUnit: `{ev['orgUnit']}`, and Program: "
                f"`{program['id']}`, don't match.",
            )
        )
    if ev.get("status", "ACTIVE") in ("ACTIVE", "COMPLETED") and not ev.get("occurredAt"):
        errors.append(("E1031", "Event OccurredAt date is missing."))
    stage_des = {p["dataElement"]["id"] for p in stage.get("programStageDataElements", [])}
    for dv in ev.get("dataValues") or []:
        de_uid = dv.get("dataElement")
        de = st.get("dataElements", de_uid or "")
        if de is None:
            errors.append(("E1304", f"DataElement `{de_uid}` is not a valid data element"))
            continue
        if de_uid not in stage_des:
            errors.append(
                ("E1305", f"DataElement `{de_uid}` is not part of `{stage_uid}` program stage")
            )
            continue
        value = dv.get("value")
        if value not in (None, ""):
            problem = check(normalise_boolean(str(value), de["valueType"]), de["valueType"])
            if problem:
                errors.append(("E1302", f"DataElement `{de_uid}` is not valid: `{problem}`"))
    return errors


def write_event(ctx: Ctx, ev: dict[str, Any], strategy: str) -> str:
    """Store (create/update/soft-delete) a validated event; returns the action."""
    st = ctx.state
    uid = ev["event"]
    now = fmt_metadata_ts(ctx.sim.now())
    existing = st.events.get(uid)
    if strategy == "DELETE":
        if existing is not None:
            existing["deleted"] = True
            existing["updatedAt"] = now
        return "deleted"
    program = st.objects["programs"][ev["program"]]
    stage = ev.get("programStage") or program["programStages"][0]["id"]
    old_values = {v["dataElement"]: v for v in (existing or {}).get("dataValues", [])}
    values = []
    for dv in ev.get("dataValues") or []:
        de = st.objects["dataElements"][dv["dataElement"]]
        old = old_values.get(dv["dataElement"], {})
        if dv.get("value") in (None, ""):
            continue
        values.append(
            {
                "dataElement": dv["dataElement"],
                "value": normalise_boolean(str(dv["value"]), de["valueType"]),
                "providedElsewhere": bool(dv.get("providedElsewhere", False)),
                "storedBy": dv.get("storedBy") or ctx.user.username,
                "createdAt": old.get("createdAt", now),
                "updatedAt": now,
            }
        )
    stored = {
        "event": uid,
        "program": program["id"],
        "programStage": stage,
        "orgUnit": ev["orgUnit"],
        "status": ev.get("status") or "ACTIVE",
        "occurredAt": event_timestamp(ev.get("occurredAt")),
        "scheduledAt": event_timestamp(ev.get("scheduledAt") or ev.get("occurredAt")),
        "createdAt": (existing or {}).get("createdAt", now),
        "updatedAt": now,
        "completedAt": event_timestamp(
            ev.get("completedAt")
            or (ev.get("occurredAt") if ev.get("status") == "COMPLETED" else None)
        ),
        "storedBy": ev.get("storedBy") or ctx.user.username,
        "attributeOptionCombo": ev.get("attributeOptionCombo") or st.derived.default_coc,
        "attributeCategoryOptions": ev.get("attributeCategoryOptions") or "xYerKDKCefk",
        "deleted": False,
        "geometry": ev.get("geometry"),
        "notes": ev.get("notes") or [],
        "dataValues": values,
    }
    st.events[uid] = stored
    return "updated" if existing is not None and not existing.get("deleted") else "created"


# --- event lists: both APIs ---------------------------------------------------------------------

# ``select_events`` date filter -> its query parameter in each API (the same filters, renamed)
_LEGACY_DATE_PARAMS = {
    "occurred_after": "startDate",
    "occurred_before": "endDate",
    "updated_after": "lastUpdatedStartDate",
    "updated_before": "lastUpdatedEndDate",
}
_TRACKER_DATE_PARAMS = {
    "occurred_after": "occurredAfter",
    "occurred_before": "occurredBefore",
    "updated_after": "updatedAfter",
    "updated_before": "updatedBefore",
}


def _select_events(
    ctx: Ctx, date_params: dict[str, str], *, ou_mode: str, event_ids: set[str] | None
) -> list[dict[str, Any]]:
    """The events a list request asks for: the filters both APIs name alike, the date filters
    by ``date_params``; the caller reads the org unit mode and event ids, which differ more."""
    r = ctx.request
    return select_events(
        ctx.state,
        program=r.param("program"),
        program_stage=r.param("programStage"),
        org_unit=r.param("orgUnit"),
        ou_mode=ou_mode,
        status=r.param("status"),
        include_deleted=r.flag("includeDeleted"),
        event_ids=event_ids,
        **{keyword: r.param(name) for keyword, name in date_params.items()},
    )


# --- legacy /api/events ---------------------------------------------------------------------


def legacy_get(ctx: Ctx) -> SimResponse:
    if not ctx.version.legacy_events:
        return error_response(404, f"No handler found for GET {ctx.path}")
    r = ctx.request
    if not (r.param("program") or r.param("orgUnit") or r.param("event")):
        return conflict(
            "At least one of the following query parameters are required: orgUnit, "
            "program, trackedEntityInstance or event."
        )
    with ctx.state.lock:
        events = _select_events(
            ctx,
            _LEGACY_DATE_PARAMS,
            ou_mode=r.param("ouMode") or "SELECTED",
            event_ids=set((r.param("event") or "").split(";")) - {""} or None,
        )
        rendered = [legacy_view(e) for e in events]
    if r.flag("skipPaging") or (r.param("paging") or "").lower() == "false":
        return json_response({"events": rendered})
    page, size = _int(ctx, "page", 1), _int(ctx, "pageSize", 50)
    chunk = rendered[(page - 1) * size : page * size]
    if r.flag("totalPages"):
        pager = build_pager(ctx, "events", page, size, len(rendered))
    elif ctx.version.major <= 37:
        pager = {"page": 1, "total": 0, "pageSize": size, "pageCount": 0}
    else:
        pager = {"page": page, "pageSize": size, "isLastPage": len(rendered) <= page * size}
    return json_response({"pager": pager, "events": chunk})


def legacy_get_one(ctx: Ctx) -> SimResponse:
    """``GET /api/events/{uid}``: one event, 404 ``Event not found for ID <uid>``
    (``core@2.40.0:.../webapi/controller/event/EventController.java`` ``getEvent``)."""
    if not ctx.version.legacy_events:
        return error_response(404, f"No handler found for GET {ctx.path}")
    uid = ctx.groups["uid"]
    with ctx.state.lock:
        event = ctx.state.events.get(uid)
        rendered = legacy_view(event) if event and not event.get("deleted") else None
    if rendered is None:
        return error_response(404, f"Event not found for ID {uid}")
    return json_response(rendered)


def _legacy_event(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "event": raw.get("event"),
        "program": raw.get("program"),
        "programStage": raw.get("programStage"),
        "orgUnit": raw.get("orgUnit"),
        "status": raw.get("status") or "ACTIVE",
        "occurredAt": raw.get("eventDate"),
        "scheduledAt": raw.get("dueDate"),
        "completedAt": raw.get("completedDate"),
        "storedBy": raw.get("storedBy"),
        "attributeOptionCombo": raw.get("attributeOptionCombo"),
        "geometry": raw.get("geometry"),
        "notes": raw.get("notes"),
        "dataValues": raw.get("dataValues") or [],
    }


def _legacy_conflicts(
    errors: list[tuple[str, str]], ev: dict[str, Any]
) -> tuple[str | None, list[dict[str, str]]]:
    """Legacy texts: a description for event-level errors, ``{object,value}`` conflicts for
    data values (``value`` is the i18n key, as in recorded responses)."""
    description = None
    conflicts = []
    for code, message in errors:
        if code == "E1010":
            description = f"Event.program does not point to a valid program: {ev['program']}"
        elif code == "E1011":
            description = (
                f"Event.orgUnit does not point to a valid organisation unit: {ev['orgUnit']}"
            )
        elif code == "E1013":
            description = (
                "Event.programStage does not point to a valid programStage: "
                f"{ev.get('programStage')}"
            )
        elif code == "E1031":
            description = "Event date is required. "
        elif code == "E1302":
            de = message.split("`")[1]
            key = message.split("`")[3]
            conflicts.append({"object": de, "value": key})
        elif code in ("E1304", "E1305"):
            de = message.split("`")[1]
            conflicts.append(
                {"object": de, "value": f"Data element {de} doesn't exist in the program stage"}
            )
        elif code == "E1029":
            conflicts.append(
                {
                    "object": ev["orgUnit"],
                    "value": f"Program is not assigned to this Organisation Unit: {ev['orgUnit']}",
                }
            )
        else:
            description = message
    return description, conflicts


def legacy_post(ctx: Ctx) -> SimResponse:
    if not ctx.version.legacy_events:
        return error_response(404, f"No handler found for POST {ctx.path}")
    payload = read_json(ctx, error_status=400)
    if isinstance(payload, SimResponse):
        return payload
    raws = payload["events"] if isinstance(payload, dict) and "events" in payload else [payload]
    strategy = parse_strategy(ctx) or "CREATE_AND_UPDATE"
    dry_run = ctx.request.flag("dryRun")
    summaries = []
    totals = {"imported": 0, "updated": 0, "deleted": 0, "ignored": 0}
    with ctx.state.lock:
        for raw in raws:
            ev = _legacy_event(raw if isinstance(raw, dict) else {})
            ev["event"] = ev["event"] or ctx.sim.jobs.new_uid()
            errors = validate_event(ctx, ev, strategy)
            count = {"imported": 0, "updated": 0, "ignored": 0, "deleted": 0}
            summary: dict[str, Any] = {"responseType": "ImportSummary"}
            if errors:
                description, conflicts = _legacy_conflicts(errors, ev)
                count["ignored"] = 1
                summary["status"] = "ERROR"
                if description:
                    summary["description"] = description
                summary["importCount"] = count
                if conflicts:
                    summary["conflicts"] = conflicts
            else:
                action = (
                    write_event(ctx, ev, strategy)
                    if not dry_run
                    else ("updated" if ev["event"] in ctx.state.events else "created")
                )
                key = {"created": "imported", "updated": "updated", "deleted": "deleted"}[action]
                count[key] = 1
                summary["status"] = "SUCCESS"
                summary["importCount"] = count
            summary["reference"] = ev["event"]
            for k in totals:
                totals[k] += count[k]
            summaries.append(summary)
    statuses = {s["status"] for s in summaries}
    status = "ERROR" if "ERROR" in statuses else ("WARNING" if "WARNING" in statuses else "SUCCESS")
    body = {
        "responseType": "ImportSummaries",
        "status": status,
        **totals,
        "importSummaries": summaries,
        "total": len(summaries),
    }
    if status == "SUCCESS":
        return json_response(web_message(200, "OK", "Import was successful.", response=body))
    message = (
        "An error occurred, please check import summary."
        if status == "ERROR"
        else "One or more conflicts encountered, please check import summary."
    )
    return json_response(web_message(409, status, message, response=body), status=409)


# --- new tracker ----------------------------------------------------------------------------


def tracker_events(ctx: Ctx) -> SimResponse:
    r = ctx.request
    v = ctx.version
    ids = r.param("events") or r.param("event")
    with ctx.state.lock:
        events = _select_events(
            ctx,
            _TRACKER_DATE_PARAMS,
            ou_mode=r.param("orgUnitMode") or r.param("ouMode") or "SELECTED",
            event_ids=set(ids.replace(";", ",").split(",")) - {""} if ids else None,
        )
        rendered = [tracker_view(e) for e in events]
    items_key = "events" if v.major >= 41 else "instances"
    if (r.param("paging") or "").lower() == "false" or r.flag("skipPaging"):
        return json_response({items_key: rendered})
    page, size = _int(ctx, "page", 1), _int(ctx, "pageSize", 50)
    chunk = rendered[(page - 1) * size : page * size]
    pager: dict[str, Any] = {"page": page, "pageSize": size}
    if r.flag("totalPages"):
        pager["total"] = len(rendered)
        pager["pageCount"] = max(1, -(-len(rendered) // size))
    if v.major <= 40:
        flat = {k: val for k, val in pager.items() if k != "pageCount"}
        return json_response({**flat, "instances": chunk})
    if v.major == 41:
        return json_response({"pager": pager, **pager, "events": chunk})
    base = f"{ctx.base_url}/api/tracker/events"
    rest = "&".join(f"{k}={val}" for k, val in r.query_order if k != "page")
    if page > 1:
        pager["prevPage"] = f"{base}?page={page - 1}" + (f"&{rest}" if rest else "")
    if len(rendered) > page * size:
        pager["nextPage"] = f"{base}?page={page + 1}" + (f"&{rest}" if rest else "")
    return json_response({"pager": pager, "events": chunk})


def tracker_event(ctx: Ctx) -> SimResponse:
    """``GET /api/tracker/events/{uid}``: one event in the export view. The 404 text follows
    the exception each version throws (``TrackerEventsExportController`` /
    ``EventsExportController.getEventByUid``): ``WebMessageUtils.notFound`` in 2.36-2.37, the
    web-api ``NotFoundException("Event", uid)`` in 2.38-2.39, ``feedback.NotFoundException``
    (``Event.class``) from 2.40."""
    uid = ctx.groups["uid"]
    with ctx.state.lock:
        event = ctx.state.events.get(uid)
        rendered = tracker_view(event) if event and not event.get("deleted") else None
    if rendered is not None:
        return json_response(rendered)
    major = ctx.version.major
    if major <= 37:
        message = f"Event not found for ID {uid}"
    elif major <= 39:
        message = f"Event not found for uid: {uid}"
    else:
        message = f"Event with id {uid} could not be found."
    return error_response(404, message)


def _import_report(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    r = ctx.request
    strategy = parse_strategy(ctx) or "CREATE_AND_UPDATE"
    validate_only = (r.param("importMode") or "COMMIT").upper() == "VALIDATE"
    atomic = (r.param("atomicMode") or "ALL").upper()
    report_mode = (r.param("reportMode") or "ERRORS").upper()
    events = [e for e in payload.get("events") or [] if isinstance(e, dict)]
    for enrollment in payload.get("enrollments") or []:
        events.extend(e for e in enrollment.get("events") or [] if isinstance(e, dict))
    error_reports: list[dict[str, Any]] = []
    valid: list[tuple[int, dict[str, Any]]] = []
    with ctx.state.lock:
        for index, ev in enumerate(events):
            ev = dict(ev)
            ev["event"] = ev.get("event") or ctx.sim.jobs.new_uid()
            errors = validate_event(ctx, ev, strategy)
            for code, message in errors:
                error_reports.append(
                    {
                        "message": message,
                        "errorCode": code,
                        "trackerType": "EVENT",
                        "uid": ev["event"],
                    }
                )
            if not errors:
                valid.append((index, ev))
        commit = not validate_only and valid and not (error_reports and atomic == "ALL")
        stats = {"created": 0, "updated": 0, "deleted": 0, "ignored": 0, "total": len(events)}
        object_reports = []
        if commit:
            for index, ev in valid:
                action = write_event(ctx, ev, strategy)
                stats[action] += 1
                object_reports.append(
                    {"trackerType": "EVENT", "uid": ev["event"], "index": index, "errorReports": []}
                )
    stats["ignored"] = len(events) - stats["created"] - stats["updated"] - stats["deleted"]
    status = "ERROR" if error_reports else "OK"
    validation: dict[str, Any] = {"errorReports": error_reports}
    if report_mode in ("WARNINGS", "FULL"):
        validation["warningReports"] = []
    report: dict[str, Any] = {"status": status, "validationReport": validation, "stats": stats}
    if commit:
        zero = {"created": 0, "updated": 0, "deleted": 0, "ignored": 0, "total": 0}
        type_map: dict[str, dict[str, Any]] = {
            t: {"trackerType": t, "stats": dict(zero), "objectReports": []} for t in TRACKER_TYPES
        }
        type_map["EVENT"] = {
            "trackerType": "EVENT",
            "stats": {**{k: stats[k] for k in zero}, "ignored": 0, "total": len(object_reports)},
            "objectReports": object_reports,
        }
        report["bundleReport"] = {"typeReportMap": type_map}
    return report


def _job_notes(
    ctx: Ctx, report: dict[str, Any]
) -> list[tuple[str, str, bool, dict[str, Any] | None]]:
    r = ctx.request
    params = {
        "userId": ctx.user.uid,
        "importMode": (r.param("importMode") or "COMMIT").upper(),
        "idSchemes": {
            name: {"idScheme": "UID", "attributeUid": None}
            for name in (
                "dataElementIdScheme",
                "orgUnitIdScheme",
                "programIdScheme",
                "programStageIdScheme",
                "idScheme",
                "categoryOptionComboIdScheme",
                "categoryOptionIdScheme",
            )
        },
        "importStrategy": parse_strategy(ctx) or "CREATE_AND_UPDATE",
        "atomicMode": (r.param("atomicMode") or "ALL").upper(),
        "flushMode": "AUTO",
        "validationMode": "FULL",
        "skipPatternValidation": False,
        "skipSideEffects": False,
        "skipRuleEngine": False,
        "filename": None,
        "reportMode": (r.param("reportMode") or "ERRORS").upper(),
    }
    s = report["stats"]
    steps = [
        "Loading file resource",
        "Loading file content",
        "Running PreHeat",
        "Calculating Payload Size",
        "Running PreProcess",
        "Running Validation",
        "Running Rule Engine",
        "Running Rule Engine Validation",
        "Commit Transaction",
        "PostCommit",
    ]
    notes: list[tuple[str, str, bool, dict[str, Any] | None]] = [
        ("INFO", "Tracker import started", False, {"dataType": "PARAMETERS", "data": params})
    ]
    notes += [("INFO", step, False, None) for step in steps]
    notes.append(
        (
            "INFO",
            f"Import complete with status {report['status']}, {s['created']} "
            f"created, {s['updated']} updated, {s['deleted']} deleted, "
            f"{s['ignored']} ignored",
            True,
            None,
        )
    )
    return notes


def tracker_post(ctx: Ctx) -> SimResponse:
    payload = read_json(ctx, error_status=400)
    if isinstance(payload, SimResponse):
        return payload
    if not isinstance(payload, dict):
        return error_response(400, "The request body must be a JSON object")
    if not ctx.request.flag("async", default=True):
        report = _import_report(ctx, payload)
        return json_response(report, status=409 if report["status"] == "ERROR" else 200)

    def run() -> tuple[Any, list[tuple[str, str, bool, dict[str, Any] | None]]]:
        report = _import_report(ctx, payload)
        return report, _job_notes(ctx, report)

    job = ctx.sim.jobs.submit("TRACKER_IMPORT_JOB", run, ctx.sim.tracker_job_delay)
    response: dict[str, Any] = {}
    if ctx.version.major != 41:
        response["responseType"] = response_type(ctx, "TrackerJob")
    response["id"] = job.id
    response["location"] = f"{ctx.base_url}/api/tracker/jobs/{job.id}"
    return json_response(web_message(200, "OK", "Tracker job added", response=response))


def tracker_job(ctx: Ctx) -> SimResponse:
    job = ctx.sim.jobs.get(ctx.groups["id"], "TRACKER_IMPORT_JOB")
    if job is None or not job.done:
        return json_response([])
    return json_response(job.notifications)


def tracker_job_report(ctx: Ctx) -> SimResponse:
    uid = ctx.groups["id"]
    job = ctx.sim.jobs.get(uid, "TRACKER_IMPORT_JOB")
    if job is None or not job.done:
        if ctx.version.major >= 42:
            return error_response(404, f"Summary for job {uid} does not exist")
        return error_response(
            404,
            f"JobConfiguration with id {uid} could not be found.",
            error_code="E1005" if ctx.version.not_found_error_code else None,
        )
    return json_response(job.summary)


ROUTES = [
    ("GET", r"/api/events", legacy_get),
    ("POST", r"/api/events", legacy_post),
    ("GET", r"/api/events/(?P<uid>[A-Za-z0-9]{11})", legacy_get_one),
    ("GET", r"/api/tracker/events", tracker_events),
    ("GET", r"/api/tracker/events/(?P<uid>[A-Za-z0-9]{11})", tracker_event),
    ("POST", r"/api/tracker", tracker_post),
    ("GET", r"/api/tracker/jobs/(?P<id>[A-Za-z0-9]+)", tracker_job),
    ("GET", r"/api/tracker/jobs/(?P<id>[A-Za-z0-9]+)/report", tracker_job_report),
]

__all__ = ["ROUTES"]
