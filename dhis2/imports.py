"""Parsing of DHIS2 import answers, tolerant of every envelope 2.36-2.42.

* ≤2.37 (and `/api/37/...` on 2.38-2.41) import endpoints answer the **bare** summary/report
  with HTTP 200, even with conflicts.
* ≥2.38 wrap it in a WebMessage (`{"httpStatus","httpStatusCode","status","message","response"}`)
  and answer **409** when the summary is WARNING/ERROR; 2.42 always wraps.
* `responseType` changed spelling in 2.42 and is absent in some answers, so everything here
  dispatches on the keys present, never on `responseType`.
* Async job summaries (`/api/system/taskSummaries/...`) are always bare.

Each `parse_*` accepts the parsed JSON body (bare or wrapped) and raises `UnexpectedResponse`
(a `ValueError`) when the body is not the expected kind of answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, TypedDict

from .errors import UnexpectedResponse

__all__ = [
    "TRACKER_JOB_TYPE",
    "DataImportSummary",
    "ImportConflict",
    "ImportCount",
    "JobReference",
    "LegacyEventImportSummaries",
    "LegacyEventSummary",
    "MetadataError",
    "MetadataImportReport",
    "ObjectReport",
    "TrackerError",
    "TrackerImportReport",
    "is_job_reference",
    "parse_data_import_summary",
    "parse_import_conflict",
    "parse_job_reference",
    "parse_legacy_event_summaries",
    "parse_metadata_import_report",
    "parse_object_report",
    "parse_tracker_import_report",
    "unwrap_web_message",
]

TRACKER_JOB_TYPE = "TRACKER_IMPORT_JOB"
IMPORT_STATUSES = frozenset({"SUCCESS", "WARNING", "ERROR"})
_STAT_KEYS = ("created", "updated", "deleted", "ignored", "total")
_TASKS_PATH_RE = re.compile(r"/system/tasks/([A-Za-z_]+)/")


# --------------------------------------------------------------------------------------------
# Envelope
# --------------------------------------------------------------------------------------------


def unwrap_web_message(
    body: Any,
) -> tuple[dict[str, Any] | list[Any] | None, dict[str, Any] | None]:
    """`(inner, web_message)`: the WebMessage `response` and the wrapper, or `(body, None)`."""
    if isinstance(body, dict) and "httpStatusCode" in body and "response" in body:
        return body["response"], body
    return body, None


def _is_plain_web_message(body: Any) -> bool:
    """A WebMessage without `response`: DHIS2 refused the whole request (bad JSON, E2012, ...)."""
    return isinstance(body, dict) and "httpStatusCode" in body and "response" not in body


def _web_message_description(body: dict[str, Any]) -> str:
    message = body.get("message") or body.get("httpStatus") or "DHIS2 refused the request"
    code = body.get("errorCode")
    return f"{message} (error code {code})" if code else str(message)


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return 0


def _opt_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _dict(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one (absent or malformed parts)."""
    return value if isinstance(value, dict) else {}


@dataclass(kw_only=True)
class ImportCount:
    """An ImportSummary's `importCount`: what DHIS2 did with the rows it was sent.

    The base of every summary that carries one (data values, legacy events) and of the sums
    callers keep over several answers. Keyword-only, so subclasses declare their own fields
    first, with or without defaults.
    """

    imported: int = 0
    updated: int = 0
    ignored: int = 0
    deleted: int = 0

    def add_counts(self, other: ImportCount) -> None:
        """Add `other`'s counts to these (one total over several import answers)."""
        self.imported += other.imported
        self.updated += other.updated
        self.ignored += other.ignored
        self.deleted += other.deleted


class _Counts(TypedDict):
    imported: int
    updated: int
    ignored: int
    deleted: int


def _counts(raw: Any) -> _Counts:
    """The four ImportSummary counts of `raw` (an `importCount` object or ImportSummaries), 0
    where absent or malformed; spread into the `ImportCount` fields of the summaries."""
    counts = _dict(raw)
    return _Counts(
        imported=_int(counts.get("imported")),
        updated=_int(counts.get("updated")),
        ignored=_int(counts.get("ignored")),
        deleted=_int(counts.get("deleted")),
    )


def _stats(raw: Any) -> dict[str, int]:
    raw = raw if isinstance(raw, dict) else {}
    return {key: _int(raw.get(key)) for key in _STAT_KEYS}


def _describe_shape(inner: Any) -> str:
    """Name what a body looks like, to say which parser fits it in an error message."""
    if isinstance(inner, list):
        return "a list (job notifications?)"
    if not isinstance(inner, dict):
        return f"{type(inner).__name__}"
    if "importSummaries" in inner:
        return "legacy event ImportSummaries (use parse_legacy_event_summaries)"
    if "validationReport" in inner or "bundleReport" in inner:
        return "a tracker import report (use parse_tracker_import_report)"
    if "typeReports" in inner or "importParams" in inner:
        return "a metadata import report (use parse_metadata_import_report)"
    if "importCount" in inner:
        return "a data ImportSummary (use parse_data_import_summary)"
    if "jobType" in inner or "relativeNotifierEndpoint" in inner:
        return "an async job reference (use parse_job_reference)"
    keys = ", ".join(sorted(inner)[:8]) or "no keys"
    return f"an object with keys {keys}"


def _unexpected(expected: str, inner: Any) -> UnexpectedResponse:
    return UnexpectedResponse(
        f"DHIS2's answer is not {expected}: it looks like {_describe_shape(inner)}. Check that the "
        "request went to the right endpoint."
    )


# --------------------------------------------------------------------------------------------
# Data value sets / complete registrations: ImportSummary
# --------------------------------------------------------------------------------------------


@dataclass
class ImportConflict:
    """One ImportSummary conflict.

    ≤2.36 only `{object, value}` (`object` is a UID, a row number like `40L`, or a class name);
    2.37+ adds `errorCode`, `property`, `objects` and `indexes` (0-based rows of the posted
    `dataValues`; equal conflicts are grouped).
    """

    object: str | None
    value: str
    error_code: str | None = None
    property: str | None = None
    indexes: list[int] = field(default_factory=list)
    objects: dict[str, Any] = field(default_factory=dict)


def parse_import_conflict(raw: Any) -> ImportConflict:
    """Parse one conflict object (both the ≤2.36 and the 2.37+ shape)."""
    if not isinstance(raw, dict):
        return ImportConflict(object=None, value=str(raw))
    obj = raw.get("object")
    value = raw.get("value")
    indexes = raw.get("indexes")
    objects = raw.get("objects")
    return ImportConflict(
        object=None if obj is None else str(obj),
        value="" if value is None else str(value),
        error_code=_opt_str(raw.get("errorCode")),
        property=_opt_str(raw.get("property")),
        indexes=[i for i in indexes if isinstance(i, int)] if isinstance(indexes, list) else [],
        objects=dict(objects) if isinstance(objects, dict) else {},
    )


@dataclass
class DataImportSummary(ImportCount):
    """ImportSummary of `/api/dataValueSets` and `/api/completeDataSetRegistrations`.

    `ignored` counts rejected rows *and* silently skipped ones (zero values not stored, ...).
    `rejected_indexes` is empty when the server does not report it (before 2.39.2/2.40.1);
    `conflict_indexes` collects the rows named by 2.37+ conflicts.
    """

    status: str
    conflicts: list[ImportConflict] = field(default_factory=list)
    rejected_indexes: list[int] = field(default_factory=list)
    description: str | None = None
    web_message: dict[str, Any] | None = None
    data_set_complete: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "SUCCESS"

    @property
    def conflict_count(self) -> int:
        """Number of conflict entries (2.37+ groups equal conflicts: see `indexes`)."""
        return len(self.conflicts)

    @property
    def total(self) -> int:
        return self.imported + self.updated + self.ignored + self.deleted

    @property
    def conflict_indexes(self) -> list[int]:
        return sorted({i for c in self.conflicts for i in c.indexes})


def _is_data_summary(inner: Any) -> bool:
    if not isinstance(inner, dict) or "httpStatusCode" in inner:
        return False
    if any(k in inner for k in ("importSummaries", "typeReports", "validationReport", "stats")):
        return False
    if "importCount" in inner:
        return True
    # An ERROR summary ("Import process was aborted") may carry no counts at all.
    return inner.get("status") in IMPORT_STATUSES and any(
        k in inner for k in ("description", "conflicts", "importOptions", "rejectedIndexes")
    )


def _data_summary_from(
    inner: dict[str, Any], web_message: dict[str, Any] | None
) -> DataImportSummary:
    raw_conflicts = inner.get("conflicts")
    conflicts = (
        [parse_import_conflict(c) for c in raw_conflicts] if isinstance(raw_conflicts, list) else []
    )
    rejected = inner.get("rejectedIndexes")
    status = inner.get("status")
    if not isinstance(status, str):
        status = "WARNING" if conflicts else "SUCCESS"
    complete = inner.get("dataSetComplete")
    return DataImportSummary(
        status=status.upper(),
        **_counts(inner.get("importCount")),
        conflicts=conflicts,
        rejected_indexes=[i for i in rejected if isinstance(i, int)]
        if isinstance(rejected, list)
        else [],
        description=_opt_str(inner.get("description")),
        web_message=web_message,
        data_set_complete=None if complete is None else str(complete),
    )


def parse_data_import_summary(body: Any) -> DataImportSummary:
    """Parse a data ImportSummary: bare (≤2.37, async summaries) or wrapped (2.38+, 200 or 409).

    A WebMessage without `response` (the request was refused as a whole, e.g. unreadable JSON
    in 2.38+, or `E2012` org unit not allowed) becomes an ERROR summary whose description is the
    WebMessage's message.
    """
    inner, web_message = unwrap_web_message(body)
    if _is_data_summary(inner):
        assert isinstance(inner, dict)
        return _data_summary_from(inner, web_message)
    if web_message is None and _is_plain_web_message(inner):
        assert isinstance(inner, dict)
        return DataImportSummary(
            status="ERROR", description=_web_message_description(inner), web_message=inner
        )
    raise _unexpected("a data import summary", inner)


# --------------------------------------------------------------------------------------------
# Metadata: ImportReport / ObjectReport
# --------------------------------------------------------------------------------------------


@dataclass
class MetadataError:
    """One metadata ErrorReport, located by the object report that carries it."""

    klass: str | None
    uid: str | None
    index: int | None
    error_code: str | None
    message: str
    property: str | None = None
    main_id: str | None = None
    value: Any = None
    error_klass: str | None = None


@dataclass
class MetadataImportReport:
    """`/api/metadata` ImportReport. `status` is OK, WARNING (atomicMode=NONE with errors) or
    ERROR (nothing committed); `type_stats` is keyed by the full class name
    (`org.hisp.dhis.dataelement.DataElement`)."""

    status: str
    stats: dict[str, int]
    errors: list[MetadataError]
    type_stats: dict[str, dict[str, int]]
    web_message: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == "OK"


def _error_reports(raw: Any) -> list[dict[str, Any]]:
    """`errorReports` as a list; older servers used a map `errorReportsByCode`-like shape."""
    if isinstance(raw, list):
        return [r for r in raw if isinstance(r, dict)]
    if isinstance(raw, dict):
        flat: list[dict[str, Any]] = []
        for value in raw.values():
            flat.extend(_error_reports(value))
        return flat
    return []


def _metadata_error(report: dict[str, Any], klass: Any, uid: Any, index: Any) -> MetadataError:
    return MetadataError(
        klass=_opt_str(klass) or _opt_str(report.get("mainKlass")),
        uid=_opt_str(uid),
        index=_opt_int(index),
        error_code=_opt_str(report.get("errorCode")),
        message=str(report.get("message") or ""),
        property=_opt_str(report.get("errorProperty")),
        main_id=_opt_str(report.get("mainId")),
        value=report.get("value"),
        error_klass=_opt_str(report.get("errorKlass")),
    )


def _is_metadata_report(inner: Any) -> bool:
    if not isinstance(inner, dict) or "httpStatusCode" in inner:
        return False
    if any(
        k in inner for k in ("validationReport", "bundleReport", "importCount", "importSummaries")
    ):
        return False
    return (
        "typeReports" in inner
        or "importParams" in inner
        or ("stats" in inner and "status" in inner)
    )


def parse_metadata_import_report(body: Any) -> MetadataImportReport:
    """Parse a metadata ImportReport: bare with `importParams` (≤2.37, async summaries) or
    wrapped (2.38+, 200 when OK, 409 otherwise); `typeReports` with or without `objectReports`
    (those are listed only for objects with errors unless importReportMode=FULL)."""
    inner, web_message = unwrap_web_message(body)
    if web_message is None and _is_plain_web_message(inner):
        assert isinstance(inner, dict)
        return MetadataImportReport(
            status="ERROR",
            stats=_stats(None),
            errors=[
                MetadataError(
                    klass=None,
                    uid=None,
                    index=None,
                    error_code=_opt_str(inner.get("errorCode")),
                    message=_web_message_description(inner),
                )
            ],
            type_stats={},
            web_message=inner,
        )
    if not _is_metadata_report(inner):
        raise _unexpected("a metadata import report", inner)
    assert isinstance(inner, dict)
    type_reports = inner.get("typeReports") or []
    if isinstance(type_reports, dict):
        type_reports = list(type_reports.values())
    errors: list[MetadataError] = []
    type_stats: dict[str, dict[str, int]] = {}
    for type_report in type_reports:
        if not isinstance(type_report, dict):
            continue
        klass = type_report.get("klass")
        if isinstance(klass, str):
            type_stats[klass] = _stats(type_report.get("stats"))
        for object_report in type_report.get("objectReports") or []:
            if not isinstance(object_report, dict):
                continue
            for report in _error_reports(object_report.get("errorReports")):
                errors.append(
                    _metadata_error(
                        report,
                        object_report.get("klass") or klass,
                        object_report.get("uid"),
                        object_report.get("index"),
                    )
                )
    status = inner.get("status")
    return MetadataImportReport(
        status=status.upper() if isinstance(status, str) else ("ERROR" if errors else "OK"),
        stats=_stats(inner.get("stats")),
        errors=errors,
        type_stats=type_stats,
        web_message=web_message,
    )


@dataclass
class ObjectReport:
    """Answer of single-object metadata CRUD (`POST /api/dataElements` → 201 Created)."""

    klass: str | None
    uid: str | None
    errors: list[MetadataError]
    web_message: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_object_report(body: Any) -> ObjectReport:
    """Parse the ObjectReport of a single-object create/update (201, or 409 with errorReports)."""
    inner, web_message = unwrap_web_message(body)
    if not isinstance(inner, dict) or "httpStatusCode" in inner:
        raise _unexpected("an object report", inner)
    if not any(k in inner for k in ("uid", "errorReports")) or "typeReports" in inner:
        raise _unexpected("an object report", inner)
    klass = inner.get("klass")
    uid = inner.get("uid")
    errors = [
        _metadata_error(r, klass, uid, inner.get("index"))
        for r in _error_reports(inner.get("errorReports"))
    ]
    return ObjectReport(
        klass=_opt_str(klass), uid=_opt_str(uid), errors=errors, web_message=web_message
    )


# --------------------------------------------------------------------------------------------
# Tracker (/api/tracker)
# --------------------------------------------------------------------------------------------


@dataclass
class TrackerError:
    """A tracker validation error or warning (`E1033` ..., `trackerType` EVENT/ENROLLMENT/...)."""

    error_code: str | None
    message: str
    tracker_type: str | None
    uid: str | None
    index: int | None = None


@dataclass
class TrackerImportReport:
    """New-tracker ImportReport (`POST /api/tracker?async=false`, `/api/tracker/jobs/{id}/report`).

    Status is OK / WARNING / ERROR (not SUCCESS). With atomicMode=OBJECT an ERROR report can
    still have committed objects: look at `stats` and `bundle_stats`.
    """

    status: str
    stats: dict[str, int]
    errors: list[TrackerError]
    warnings: list[TrackerError]
    bundle_stats: dict[str, dict[str, int]]
    message: str | None = None
    web_message: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == "OK"

    @property
    def rejected_uids(self) -> list[str]:
        """UIDs named by error reports, in report order, without duplicates."""
        return list(dict.fromkeys(e.uid for e in self.errors if e.uid))


def _tracker_error(raw: dict[str, Any]) -> TrackerError:
    return TrackerError(
        error_code=_opt_str(raw.get("errorCode")),
        message=str(raw.get("message") or raw.get("errorMessage") or ""),
        tracker_type=_opt_str(raw.get("trackerType")),
        uid=_opt_str(raw.get("uid")),
        index=_opt_int(raw.get("index")),
    )


def parse_tracker_import_report(body: Any) -> TrackerImportReport:
    """Parse a tracker ImportReport (`validationReport` + optional `bundleReport`).

    Top-level `stats` may be missing (some reports carry only `bundleReport.stats`); then the
    bundle's stats are used. Error reports inside `bundleReport` object reports are added to
    `errors` too.
    """
    inner, web_message = unwrap_web_message(body)
    if not isinstance(inner, dict) or "httpStatusCode" in inner:
        raise _unexpected("a tracker import report", inner)
    if any(k in inner for k in ("typeReports", "importCount", "importSummaries", "importParams")):
        raise _unexpected("a tracker import report", inner)
    if not ("validationReport" in inner or "bundleReport" in inner or "stats" in inner):
        raise _unexpected("a tracker import report", inner)

    validation = _dict(inner.get("validationReport"))
    errors = [_tracker_error(r) for r in _error_reports(validation.get("errorReports"))]
    warnings = [_tracker_error(r) for r in _error_reports(validation.get("warningReports"))]

    bundle = _dict(inner.get("bundleReport"))
    type_map = _dict(bundle.get("typeReportMap"))
    bundle_stats: dict[str, dict[str, int]] = {}
    seen = {(e.error_code, e.uid, e.message) for e in errors}
    for tracker_type, type_report in type_map.items():
        if not isinstance(type_report, dict):
            continue
        bundle_stats[str(tracker_type)] = _stats(type_report.get("stats"))
        for object_report in type_report.get("objectReports") or []:
            if not isinstance(object_report, dict):
                continue
            for raw in _error_reports(object_report.get("errorReports")):
                error = _tracker_error(raw)
                error.uid = error.uid or _opt_str(object_report.get("uid"))
                error.tracker_type = error.tracker_type or str(tracker_type)
                if (error.error_code, error.uid, error.message) not in seen:
                    seen.add((error.error_code, error.uid, error.message))
                    errors.append(error)

    if isinstance(inner.get("stats"), dict):
        stats = _stats(inner["stats"])
    elif isinstance(bundle.get("stats"), dict):
        stats = _stats(bundle["stats"])
    else:
        stats = {k: sum(s[k] for s in bundle_stats.values()) for k in _STAT_KEYS}
    status = inner.get("status")
    return TrackerImportReport(
        status=status.upper() if isinstance(status, str) else ("ERROR" if errors else "OK"),
        stats=stats,
        errors=errors,
        warnings=warnings,
        bundle_stats=bundle_stats,
        message=_opt_str(inner.get("message")),
        web_message=web_message,
    )


# --------------------------------------------------------------------------------------------
# Legacy events (/api/events, removed in 2.42): ImportSummaries
# --------------------------------------------------------------------------------------------


@dataclass
class LegacyEventSummary(ImportCount):
    """One event's ImportSummary inside ImportSummaries; `reference` is the event UID."""

    reference: str | None
    status: str
    conflicts: list[ImportConflict]
    description: str | None


@dataclass
class LegacyEventImportSummaries(ImportCount):
    """ImportSummaries of legacy `/api/events` (2.36-2.41)."""

    status: str
    summaries: list[LegacyEventSummary] = field(default_factory=list)
    total: int = 0
    description: str | None = None
    web_message: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == "SUCCESS"

    @property
    def failed_references(self) -> list[str]:
        return [s.reference for s in self.summaries if s.status == "ERROR" and s.reference]


def _legacy_status(raw: dict[str, Any]) -> str:
    """A legacy summary's status, upper-cased; ERROR when missing (nothing says it worked)."""
    status = raw.get("status")
    return status.upper() if isinstance(status, str) else "ERROR"


def _legacy_summary(raw: dict[str, Any]) -> LegacyEventSummary:
    conflicts = raw.get("conflicts")
    return LegacyEventSummary(
        reference=_opt_str(raw.get("reference")),
        status=_legacy_status(raw),
        conflicts=[parse_import_conflict(c) for c in conflicts]
        if isinstance(conflicts, list)
        else [],
        description=_opt_str(raw.get("description")),
        **_counts(raw.get("importCount")),
    )


def parse_legacy_event_summaries(body: Any) -> LegacyEventImportSummaries:
    """Parse legacy event ImportSummaries (wrapped 200/409, or bare from taskSummaries).

    A single ImportSummary (answer to one posted event) is accepted as a one-item list.
    """
    inner, web_message = unwrap_web_message(body)
    if isinstance(inner, dict) and isinstance(inner.get("importSummaries"), list):
        summaries = [_legacy_summary(s) for s in inner["importSummaries"] if isinstance(s, dict)]
        return LegacyEventImportSummaries(
            status=_legacy_status(inner),
            **_counts(inner),
            summaries=summaries,
            total=_int(inner.get("total")) or len(summaries),
            description=_opt_str(inner.get("description")),
            web_message=web_message,
        )
    if _is_data_summary(inner):
        assert isinstance(inner, dict)
        one = _legacy_summary(inner)
        return LegacyEventImportSummaries(
            status=one.status,
            **_counts(inner.get("importCount")),
            summaries=[one],
            total=1,
            description=one.description,
            web_message=web_message,
        )
    if web_message is None and _is_plain_web_message(inner):
        assert isinstance(inner, dict)
        return LegacyEventImportSummaries(
            status="ERROR", description=_web_message_description(inner), web_message=inner
        )
    raise _unexpected("legacy event import summaries", inner)


# --------------------------------------------------------------------------------------------
# Async job references
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobReference:
    """An async import started on the server.

    `location` is `relativeNotifierEndpoint` (`/api/system/tasks/<TYPE>/<id>`) for
    `?async=true` imports, or the tracker job URL (`<base>/api/tracker/jobs/<id>`).
    """

    id: str
    job_type: str
    location: str | None
    name: str | None = None
    message: str | None = None

    @property
    def is_tracker(self) -> bool:
        return self.job_type == TRACKER_JOB_TYPE


def is_job_reference(body: Any) -> bool:
    """True when `body` is the answer to an async import (not a summary/report)."""
    try:
        parse_job_reference(body)
    except UnexpectedResponse:
        return False
    return True


def parse_job_reference(body: Any) -> JobReference:
    """Parse an async-start answer.

    Shapes: `Initiated dataValueImport` (≤2.40) / `Initiated DATAVALUE_IMPORT (<millis>)` (2.41+)
    with `response.{id, jobType, relativeNotifierEndpoint}`; tracker `Tracker job added` with
    `response.{id, location}` (`responseType` TrackerJob in 2.38-2.40, absent in 2.41).
    """
    inner, web_message = unwrap_web_message(body)
    if not isinstance(inner, dict) or not isinstance(inner.get("id"), str):
        raise _unexpected("an async job reference", inner)
    job_type = _opt_str(inner.get("jobType"))
    location = _opt_str(inner.get("relativeNotifierEndpoint")) or _opt_str(inner.get("location"))
    message = _opt_str(web_message.get("message")) if web_message else None
    if job_type is None:
        if location and "/tracker/jobs/" in location:
            job_type = TRACKER_JOB_TYPE
        elif location and (match := _TASKS_PATH_RE.search(location)):
            job_type = match.group(1).upper()
        elif message == "Tracker job added":
            job_type = TRACKER_JOB_TYPE
    if job_type is None:
        raise _unexpected("an async job reference", inner)
    return JobReference(
        id=inner["id"],
        job_type=job_type,
        location=location,
        name=_opt_str(inner.get("name")),
        message=message,
    )
