"""``/api/metadata`` export and import, dependency exports (reference §7).

Import follows ``DefaultMetadataImportService`` (2.40): objects are validated in dependency
order (:data:`simulator.schema.IMPORT_ORDER`); errors E4000 (missing required property), E5000
(CREATE on an existing object), E5001 (UPDATE/DELETE of a missing one), E5002 (reference neither
on the server nor in the payload) and E5003 (unique property clash). ``atomicMode=ALL``: any
error → nothing committed, all objects ``ignored``, status ERROR; ``atomicMode=NONE``: valid
objects committed, status WARNING when there were errors. ``importMode=VALIDATE`` commits
nothing. Importing a category combo generates its category option combos, as DHIS2 does.
Envelope: bare report with ``importParams`` ≤2.37; WebMessage 2.38+ (409, status WARNING,
``One or more errors occurred, please see full details in import report.`` when not OK).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from simulator.auth import forbidden
from simulator.builder import generate_option_combos
from simulator.fields import FieldsError, Projector, parse_fields
from simulator.filters import Filter, FilterEngine, FilterError
from simulator.handlers.common import (
    Ctx,
    conflict,
    not_found,
    response_type,
    with_payload,
)
from simulator.handlers.datavalues_import import job_response
from simulator.handlers.system import KNOWN_BUILDS, SYSTEM_ID
from simulator.http import SimResponse, error_response, json_response, web_message
from simulator.schema import DEFAULT_UIDS, IMPORT_ORDER, KINDS
from simulator.state import fmt_metadata_ts

NOT_OK_MESSAGE = "One or more errors occurred, please see full details in import report."


# --- export ---------------------------------------------------------------------------------


def _system(ctx: Ctx) -> dict[str, Any]:
    rev = KNOWN_BUILDS.get(ctx.version.major, ("0000000", ""))[0]
    return {
        "id": SYSTEM_ID,
        "rev": rev,
        "version": ctx.version.raw,
        "date": ctx.sim.now().strftime("%Y-%m-%dT%H:%M:%S.") + "000Z",
    }


def _is_default(kind: str, obj: dict[str, Any]) -> bool:
    return obj.get("id") == DEFAULT_UIDS.get(kind)


def export_metadata(ctx: Ctx) -> SimResponse:
    """``GET /api/metadata``: ``<type>=true`` selects types (none → all), ``fields`` (default
    ``:owner``), ``filter``, ``<type>:fields``/``<type>:filter``, ``defaults=EXCLUDE``."""
    if not ctx.user.has("F_METADATA_EXPORT"):
        return forbidden()
    r = ctx.request
    selected = [k for k in KINDS if r.flag(k)]
    kinds = selected or list(KINDS)
    exclude_defaults = (r.param("defaults") or "").upper() == "EXCLUDE"
    body: dict[str, Any] = {"system": _system(ctx)}
    st = ctx.state
    with st.lock:
        projector = Projector(st, ctx.base_url)
        engine = FilterEngine(projector)
        for kind in kinds:
            try:
                nodes = parse_fields(r.param(f"{kind}:fields") or r.param("fields") or ":owner")
                filters = [
                    Filter.parse(f) for f in r.params(f"{kind}:filter") or r.params("filter")
                ]
            except (FieldsError, FilterError) as exc:
                return conflict(str(exc), "E2014")
            objs = [
                o
                for o in st.objects[kind].values()
                if not (exclude_defaults and _is_default(kind, o))
            ]
            objs = engine.apply(kind, sorted(objs, key=lambda o: o.get("name", "")), filters)
            if objs or selected:
                body[kind] = [projector.project(kind, o, nodes) for o in objs]
    return json_response(body)


def _dependencies(ctx: Ctx, kind: str, root: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    st = ctx.state
    found: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}

    def add(k: str, uid: str | None) -> None:
        if not uid or uid in found[k]:
            return
        obj = st.get(k, uid)
        if obj is None:
            return
        found[k][uid] = obj
        if k == "dataElements":
            add("categoryCombos", (obj.get("categoryCombo") or {}).get("id"))
        elif k == "categoryCombos":
            for c in obj.get("categories", []):
                add("categories", c["id"])
            for c in obj.get("categoryOptionCombos", []):
                add("categoryOptionCombos", c["id"])
        elif k == "categories":
            for o in obj.get("categoryOptions", []):
                add("categoryOptions", o["id"])
        elif k == "dataSets":
            add("categoryCombos", (obj.get("categoryCombo") or {}).get("id"))
            for dse in obj.get("dataSetElements", []):
                add("dataElements", dse["dataElement"]["id"])
                add("categoryCombos", (dse.get("categoryCombo") or {}).get("id"))
        elif k == "programs":
            add("categoryCombos", (obj.get("categoryCombo") or {}).get("id"))
            for s in obj.get("programStages", []):
                add("programStages", s["id"])
        elif k == "programStages":
            for p in obj.get("programStageDataElements", []):
                add("dataElements", p["dataElement"]["id"])

    add(kind, root["id"])
    return {k: list(v.values()) for k, v in found.items() if v}


def export_dependencies(ctx: Ctx) -> SimResponse:
    """``/api/<plural>/{id}/metadata.json``: the object and what it needs (org units stay
    references)."""
    kind = ctx.groups["kind"]
    if kind not in KINDS:
        return error_response(404, f"No handler found for GET {ctx.path}")
    with ctx.state.lock:
        obj = ctx.state.get(kind, ctx.groups["id"])
        if obj is None:
            return not_found(ctx, KINDS[kind].simple_name, ctx.groups["id"])
        body: dict[str, Any] = {"system": _system(ctx)}
        projector = Projector(ctx.state, ctx.base_url)
        nodes = parse_fields(":owner")
        for k, objs in _dependencies(ctx, kind, obj).items():
            body[k] = [projector.project(k, o, nodes) for o in objs]
    return json_response(body)


# --- import ---------------------------------------------------------------------------------


def _describe(kind: str, obj: dict[str, Any]) -> str:
    """``IdentifiableObjectUtils.getDisplayName``: ``name (Class)`` or ``uid (Class)``."""
    label = obj.get("name") or obj.get("id") or ""
    return f"{label} ({KINDS[kind].simple_name})"


def _references(kind: str, obj: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(property, target kind, uid) of every reference the simulator can check."""
    for prop, (target, many) in KINDS[kind].references.items():
        value = obj.get(prop)
        if value is None:
            continue
        for ref in value if many else [value]:
            if isinstance(ref, dict) and ref.get("id"):
                yield prop, target, ref["id"]
    if kind == "dataSets":
        for dse in obj.get("dataSetElements", []):
            if (dse.get("dataElement") or {}).get("id"):
                yield "dataSetElements", "dataElements", dse["dataElement"]["id"]
            if (dse.get("categoryCombo") or {}).get("id"):
                yield "dataSetElements", "categoryCombos", dse["categoryCombo"]["id"]
    if kind == "programStages":
        for psde in obj.get("programStageDataElements", []):
            if (psde.get("dataElement") or {}).get("id"):
                yield "programStageDataElements", "dataElements", psde["dataElement"]["id"]


class MetadataImport:
    def __init__(self, ctx: Ctx, payload: dict[str, Any]) -> None:
        self.ctx = ctx
        self.payload = payload
        r = ctx.request
        self.mode = (r.param("importMode") or "COMMIT").upper()
        self.strategy = (r.param("importStrategy") or "CREATE_AND_UPDATE").upper()
        self.atomic = (r.param("atomicMode") or "ALL").upper()
        self.identifier = (r.param("identifier") or "UID").upper()
        self.report_mode = (r.param("importReportMode") or "ERRORS").upper()

    def params(self) -> dict[str, Any]:
        return {
            "userOverrideMode": "NONE",
            "importMode": self.mode,
            "identifier": self.identifier,
            "preheatMode": "REFERENCE",
            "importStrategy": self.strategy,
            "atomicMode": self.atomic,
            "mergeMode": "REPLACE",
            "flushMode": "AUTO",
            "skipSharing": False,
            "skipTranslation": False,
            "skipValidation": False,
            "metadataSyncImport": False,
            "firstRowIsHeader": True,
            "username": self.ctx.user.username,
        }

    def _find(self, kind: str, obj: dict[str, Any]) -> str | None:
        st = self.ctx.state
        if self.identifier in ("UID", "AUTO") and obj.get("id") and obj["id"] in st.objects[kind]:
            uid: str = obj["id"]  # a key of st.objects[kind]
            return uid
        if self.identifier in ("CODE", "AUTO") and obj.get("code"):
            found: str | None = st.derived.by_code.get(kind, {}).get(obj["code"])
            return found
        return None

    def _error(
        self,
        kind: str,
        code: str,
        message: str,
        props: list[str],
        uid: str | None,
        prop: str | None = None,
        error_kind: str | None = None,
    ) -> dict[str, Any]:
        report: dict[str, Any] = {"message": message, "mainKlass": KINDS[kind].klass}
        if error_kind:
            report["errorKlass"] = KINDS[error_kind].klass
        if prop:
            report["errorProperty"] = prop
        report["errorProperties"] = props
        report["errorCode"] = code
        if uid:
            report["mainId"] = uid
        return report

    def run(self) -> dict[str, Any]:
        st = self.ctx.state
        with st.lock:
            return self._run_locked(st)

    def _run_locked(self, st: Any) -> dict[str, Any]:
        plan: list[tuple[str, int, dict[str, Any], str, str | None]] = []
        payload_uids: dict[str, set[str]] = {k: set() for k in KINDS}
        rng_uid = self.ctx.sim.jobs.new_uid
        for kind in IMPORT_ORDER:
            for obj in self.payload.get(kind) or []:
                if isinstance(obj, dict):
                    existing = self._find(kind, obj)
                    uid = obj.get("id") or existing or rng_uid()
                    payload_uids[kind].add(uid)
        errors: dict[tuple[str, int], list[dict[str, Any]]] = {}
        seen_unique: dict[tuple[str, str, str], str] = {}
        for kind in IMPORT_ORDER:
            objs = self.payload.get(kind) or []
            for index, obj in enumerate(objs):
                if not isinstance(obj, dict):
                    continue
                existing = self._find(kind, obj)
                uid = obj.get("id") or existing or rng_uid()
                obj = {**obj, "id": uid}
                errs: list[dict[str, Any]] = []
                desc = _describe(kind, obj)
                ident = f"{uid}"
                if self.strategy == "CREATE" and existing:
                    errs.append(
                        self._error(
                            kind,
                            "E5000",
                            f"Found matching object for reference, but import mode is "
                            f"CREATE. Identifier was {ident}, and object was {desc}.",
                            [ident, desc],
                            uid,
                        )
                    )
                if self.strategy in ("UPDATE", "DELETE") and not existing:
                    errs.append(
                        self._error(
                            kind,
                            "E5001",
                            f"No matching object for reference. Identifier was {ident}, "
                            f"and object was {desc}.",
                            [ident, desc],
                            uid,
                        )
                    )
                action = (
                    "delete" if self.strategy == "DELETE" else ("update" if existing else "create")
                )
                if action != "delete":
                    for prop in KINDS[kind].required:
                        if obj.get(prop) in (None, ""):
                            errs.append(
                                self._error(
                                    kind,
                                    "E4000",
                                    f"Missing required property `{prop}`.",
                                    [prop],
                                    uid,
                                    prop,
                                )
                            )
                    for prop, target, ref in _references(kind, obj):
                        if ref not in st.objects[target] and ref not in payload_uids[target]:
                            ref_desc = f"{ref} ({KINDS[target].simple_name})"
                            errs.append(
                                self._error(
                                    kind,
                                    "E5002",
                                    f"Invalid reference {ref_desc} on object {desc} for "
                                    f"association `{prop}`.",
                                    [ref_desc, desc, prop],
                                    uid,
                                    prop,
                                    target,
                                )
                            )
                    for prop in KINDS[kind].unique:
                        value = obj.get(prop)
                        if value in (None, ""):
                            continue
                        index_ = (
                            st.derived.by_code
                            if prop == "code"
                            else (st.derived.by_name if prop == "name" else None)
                        )
                        other = None
                        if index_ is not None:
                            other = index_.get(kind, {}).get(value)
                        else:
                            other = next(
                                (u for u, o in st.objects[kind].items() if o.get(prop) == value),
                                None,
                            )
                        if other is None or other == uid:
                            other = seen_unique.get((kind, prop, str(value)))
                        if other is not None and other != uid:
                            other_obj = st.get(kind, other) or {"id": other}
                            other_desc = _describe(kind, other_obj)
                            errs.append(
                                self._error(
                                    kind,
                                    "E5003",
                                    f"Property `{prop}` with value `{value}` on object "
                                    f"{desc} already exists on object {other_desc}.",
                                    [prop, str(value), desc, other_desc],
                                    uid,
                                    prop,
                                )
                            )
                        seen_unique[(kind, prop, str(value))] = uid
                if errs:
                    errors[(kind, index)] = errs
                plan.append((kind, index, obj, action, existing))

        has_errors = bool(errors)
        commit = self.mode == "COMMIT" and not (has_errors and self.atomic == "ALL")
        stats_by_kind: dict[str, dict[str, int]] = {}
        reports: dict[str, list[dict[str, Any]]] = {}
        touched_combos: set[str] = set()
        now = fmt_metadata_ts(self.ctx.sim.now())
        for kind, index, obj, action, existing in plan:
            stats = stats_by_kind.setdefault(
                kind, {"created": 0, "updated": 0, "deleted": 0, "ignored": 0, "total": 0}
            )
            stats["total"] += 1
            errs = errors.get((kind, index), [])
            if errs or (has_errors and self.atomic == "ALL"):
                stats["ignored"] += 1
            else:
                stats[{"create": "created", "update": "updated", "delete": "deleted"}[action]] += 1
                if commit:
                    self._apply(st, kind, obj, action, existing, now)
                    if kind == "categoryCombos":
                        touched_combos.add(obj["id"])
                    if kind == "categories":
                        touched_combos |= {
                            u
                            for u, cc in st.objects["categoryCombos"].items()
                            if any(c["id"] == obj["id"] for c in cc.get("categories", []))
                        }
            if errs or self.report_mode in ("FULL", "DEBUG"):
                report: dict[str, Any] = {
                    "klass": KINDS[kind].klass,
                    "index": index,
                    "uid": obj["id"],
                }
                if obj.get("name"):
                    report["displayName"] = obj["name"]
                report["errorReports"] = errs
                reports.setdefault(kind, []).append(report)
        if commit:
            for cc_uid in sorted(touched_combos):
                self._generate_combos(st, cc_uid)
            st.touch()
        total = {"created": 0, "updated": 0, "deleted": 0, "ignored": 0, "total": 0}
        type_reports = []
        for kind, stats in stats_by_kind.items():
            for key in total:
                total[key] += stats[key]
            tr: dict[str, Any] = {"klass": KINDS[kind].klass, "stats": stats}
            if reports.get(kind) or self.ctx.version.major >= 38:
                tr["objectReports"] = reports.get(kind, [])
            type_reports.append(tr)
        status = ("ERROR" if self.atomic == "ALL" else "WARNING") if has_errors else "OK"
        return {
            "importParams": self.params(),
            "status": status,
            "typeReports": type_reports,
            "stats": total,
        }

    def _apply(
        self, st: Any, kind: str, obj: dict[str, Any], action: str, existing: str | None, now: str
    ) -> None:
        if action == "delete":
            st.remove(kind, existing or obj["id"])
            return
        stored = {k: v for k, v in obj.items() if k not in KINDS[kind].computed}
        if existing and existing != stored["id"]:
            stored["id"] = existing
        old = st.get(kind, stored["id"])
        stored["created"] = (old or {}).get("created") or obj.get("created") or now
        stored["lastUpdated"] = now
        if kind == "organisationUnits":
            parent = st.get(kind, (stored.get("parent") or {}).get("id", ""))
            stored["level"] = (parent or {}).get("level", 0) + 1
            stored["path"] = f"{(parent or {}).get('path', '')}/{stored['id']}"
        if kind in ("dataElements", "dataSets", "programs") and not stored.get("categoryCombo"):
            stored["categoryCombo"] = {"id": st.derived.default_cc}
        if kind == "dataSets":
            for dse in stored.get("dataSetElements", []):
                dse.setdefault("dataSet", {"id": stored["id"]})
        if kind in ("categories", "categoryCombos"):
            stored.setdefault("dataDimensionType", "DISAGGREGATION")
        st.put(kind, stored)

    def _generate_combos(self, st: Any, cc_uid: str) -> None:
        cc = st.get("categoryCombos", cc_uid)
        if cc is None:
            return
        existing = {
            frozenset(o["id"] for o in coc.get("categoryOptions", [])): uid
            for uid, coc in st.objects["categoryOptionCombos"].items()
            if (coc.get("categoryCombo") or {}).get("id") == cc_uid
        }
        for coc in generate_option_combos(st, cc, lambda _n: self.ctx.sim.jobs.new_uid(), existing):
            if coc["id"] in st.objects["categoryOptionCombos"]:
                old = st.objects["categoryOptionCombos"][coc["id"]]
                coc = {
                    **old,
                    "categoryCombo": coc["categoryCombo"],
                    "categoryOptions": coc["categoryOptions"],
                }
            st.put("categoryOptionCombos", coc)


@with_payload("F_METADATA_IMPORT")
def import_metadata(ctx: Ctx, payload: Any) -> SimResponse:
    if not isinstance(payload, dict):
        return error_response(409, "The request body must be a JSON object")
    importer = MetadataImport(ctx, payload)
    if ctx.request.flag("async"):
        return _submit_async(ctx, importer)
    return report_envelope(ctx, importer.run())


def report_envelope(ctx: Ctx, report: dict[str, Any]) -> SimResponse:
    if ctx.version.plain_import_response(ctx.api_version):
        return json_response(report)
    inner = {
        "status": report["status"],
        "stats": report["stats"],
        "typeReports": report["typeReports"],
        "responseType": response_type(ctx, "ImportReport"),
    }
    if report["status"] == "OK":
        return json_response(web_message(200, "OK", response=inner))
    return json_response(web_message(409, "WARNING", NOT_OK_MESSAGE, response=inner), status=409)


def _submit_async(ctx: Ctx, importer: MetadataImport) -> SimResponse:
    user = ctx.user.username

    def run() -> tuple[Any, list[tuple[str, str, bool, dict[str, Any] | None]]]:
        started = time.perf_counter()
        report = importer.run()
        took = time.perf_counter() - started
        return report, [
            ("INFO", f"({user}) Import:Start", False, None),
            ("INFO", f"({user}) Import:Done took {took:.2f} seconds", True, None),
        ]

    return job_response(ctx, "METADATA_IMPORT", "metadataImport", run, importer.params())


ROUTES = [
    ("GET", r"/api/metadata", export_metadata),
    ("POST", r"/api/metadata", import_metadata),
    ("GET", r"/api/(?P<kind>[A-Za-z]+)/(?P<id>[A-Za-z0-9]+)/metadata", export_dependencies),
]
