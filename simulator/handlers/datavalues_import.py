"""``POST /api/dataValueSets`` (reference §5).

Validation order and rules follow ``DataValueSetImportValidator`` (2.37-2.40): header checks
abort the import (status ERROR, ``Import process was aborted``); per value: E7610 data element,
E7611 period, E7612 org unit, E7613 COC, E7615 AOC, E7617 user hierarchy, E7618 value defined,
E7619 value type, E7620 comment; constraints E7630/E7631 (``require*``), E7632
(``strictPeriods``), E7633 (``strictDataElements``), E7634 (``strictCategoryOptionCombos``:
the COC must belong to the data element's combo or a data set element override), E7636
(``strictOrganisationUnits``), zero-and-insignificant skip, E7637 storedBy, E7640 expiry days
(superusers hold ``F_EDIT_EXPIRED`` and are exempt, as in ``DataSet.isLocked``) and periods
locked by simulator configuration, E7641 latest open future period, E7643 data input periods.
The strict flags are query parameters or system settings (``keyDataImportStrict*``), off by
default as in DHIS2.

Counting (``DefaultDataValueSetService``): rejected and skipped rows are ``ignored``; a re-sent
identical value counts as ``updated`` without a write; DELETE soft-deletes; a soft-deleted value
that is sent again is ``imported``.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from dhis2.periods import (
    PERIOD_TYPES,
    Period,
    next_period,
    period_containing,
    previous_period,
)
from simulator.conflicts import Conflict, ConflictCollector
from simulator.handlers.common import (
    Ctx,
    import_options,
    parse_error_status,
    parse_strategy,
    period_or_none,
    read_json,
    summary_envelope,
    with_payload,
)
from simulator.http import SimResponse, error_response, json_response, web_message
from simulator.idschemes import Resolver, normalise
from simulator.state import fmt_value_ts
from simulator.valuetypes import I18N, check, is_zero_and_insignificant, normalise_boolean

STRICT_SETTINGS = {
    "strictPeriods": "keyDataImportStrictPeriods",
    "strictDataElements": "keyDataImportStrictDataElements",
    "strictCategoryOptionCombos": "keyDataImportStrictCategoryOptionCombos",
    "strictAttributeOptionCombos": "keyDataImportStrictAttributeOptionCombos",
    "strictOrganisationUnits": "keyDataImportStrictOrganisationUnits",
    "requireCategoryOptionCombo": "keyDataImportRequireCategoryOptionCombo",
    "requireAttributeOptionCombo": "keyDataImportRequireAttributeOptionCombo",
}


def _truthy(v: Any) -> bool:
    return v is True or (isinstance(v, str) and v.lower() == "true")


class DataValueImport:
    """One import run; ``run`` returns the bare ImportSummary dict."""

    def __init__(self, ctx: Ctx, payload: dict[str, Any], is_async: bool = False) -> None:
        self.ctx = ctx
        self.payload = payload
        self.is_async = is_async
        r = ctx.request
        settings = ctx.state.settings
        self.flags = {
            name: r.flag(name) or bool(settings.get(key)) for name, key in STRICT_SETTINGS.items()
        }
        self.force = r.flag("force") and ctx.user.has("ALL")
        dry = payload.get("dryRun")
        self.dry_run = _truthy(dry) if dry is not None else r.flag("dryRun")
        self.strategy = (
            parse_strategy(ctx, payload.get("strategy") or payload.get("importStrategy"))
            or "CREATE_AND_UPDATE"
        )
        scheme = normalise(payload.get("idScheme") or r.param("idScheme")) or "UID"
        self.schemes_given: dict[str, str] = {}
        for name in (
            "idScheme",
            "dataElementIdScheme",
            "orgUnitIdScheme",
            "categoryOptionComboIdScheme",
            "dataSetIdScheme",
        ):
            raw = payload.get(name) or r.param(name)
            if raw and normalise(raw):
                self.schemes_given[name] = normalise(raw) or "UID"
        self.de_scheme = self.schemes_given.get("dataElementIdScheme", scheme)
        self.ou_scheme = self.schemes_given.get("orgUnitIdScheme", scheme)
        self.coc_scheme = self.schemes_given.get("categoryOptionComboIdScheme", scheme)
        self.ds_scheme = self.schemes_given.get("dataSetIdScheme", scheme)
        self.today = ctx.sim.today()

    # --- helpers --------------------------------------------------------------------

    def _legacy(self, code: str, args: tuple[str, ...], value: str = "") -> tuple[str, str]:
        """(object, message) of the ≤2.36 conflict for an error code."""
        a = (*args, "", "", "")
        user = self.ctx.user.username
        table = {
            "E7600": (a[0], "Data set not found or not accessible"),
            "E7603": (a[0], "Org unit not found or not accessible"),
            "E7604": (a[0], "Attribute option combo not found or not accessible"),
            "E7610": (a[0], "Data element not found or not accessible"),
            "E7611": (a[0], "Period not valid"),
            "E7612": (a[0], "Organisation unit not found or not accessible"),
            "E7613": (a[0], "Category option combo not found or not accessible for writing data"),
            "E7615": (a[0], "Attribute option combo not found or not accessible for writing data"),
            "E7617": (a[0], f"Organisation unit not in hierarchy of current user: {user}"),
            "E7618": ("Value", f"Data value or comment not specified for data element: {a[0]}"),
            "E7619": (value, f"{I18N.get(a[1], a[1])}, must match data element type: {a[0]}"),
            "E7620": ("Comment", I18N.get(a[0], a[0])),
            "E7630": (value, "Category option combo is required but is not specified"),
            "E7631": (value, "Attribute option combo is required but is not specified"),
            "E7632": (a[0], f"Period type of period: {a[0]} not valid for data element: {a[1]}"),
            "E7633": (
                "DATA_IMPORT_STRICT_DATA_ELEMENTS",
                f"Data element: {a[0]} is not part of dataset: {a[1]}",
            ),
            "E7634": (
                a[0],
                f"Category option combo: {a[0]} must be part of category combo of "
                f"data element: {a[1]}",
            ),
            "E7636": (
                a[0],
                f"Data element: {a[1]} must be assigned through data sets to "
                f"organisation unit: {a[0]}",
            ),
            "E7637": (value, I18N.get(a[0], a[0])),
            "E7640": (
                a[0],
                f"Current date is past expiry days for period {a[0]} and data set: {a[1]}",
            ),
            "E7641": (
                a[0],
                f"Period: {a[0]} is after latest open future period: {a[2]} for "
                f"data element: {a[1]}",
            ),
            "E7643": (a[0], f"Period: {a[0]} is not open for this data set at this time: {a[1]}"),
        }
        return table[code]

    def _conflict(
        self,
        index: int | None,
        code: str,
        *args: str,
        value: str = "",
        display: tuple[str, ...] | None = None,
    ) -> None:
        obj, msg = self._legacy(code, args, value)
        self.conflicts.add(index, Conflict(code, args, obj, msg, display))

    def _latest_open(self, de_uid: str, ds_uids: list[str]) -> Period | None:
        """``DataElement.getLatestOpenFuturePeriod``: 0 open future periods means the current
        period is already closed ("Rewind one as 0 open periods implies current period is
        locked")."""
        key = de_uid
        if key in self._latest_cache:
            return self._latest_cache[key]
        dss = [
            self.ctx.state.objects["dataSets"][u]
            for u in ds_uids
            if u in self.ctx.state.objects["dataSets"]
        ]
        result = None
        if dss:
            periods = max(int(ds.get("openFuturePeriods") or 0) for ds in dss)
            # DataElement.getPeriodType: the period type of its most frequent data set
            ptype = min(
                (ds.get("periodType", "Monthly") for ds in dss),
                key=lambda t: PERIOD_TYPES[t].frequency if t in PERIOD_TYPES else 365,
            )
            result = previous_period(period_containing(ptype, self.today))
            for _ in range(periods):
                result = next_period(result)
        self._latest_cache[key] = result
        return result

    def _locked(self, ds_uid: str, period: Period) -> bool:
        key = (ds_uid, period.id)
        hit = self._lock_cache.get(key)
        if hit is None:
            st = self.ctx.state
            ds = st.objects["dataSets"].get(ds_uid) or {}
            hit = period.id in st.locked_periods.get(ds_uid, ())
            expiry = int(ds.get("expiryDays") or 0)
            if not hit and expiry > 0 and not self.ctx.user.has("F_EDIT_EXPIRED"):
                hit = self.today >= period.end + timedelta(days=expiry)
            self._lock_cache[key] = hit
        return hit

    def _input_period_open(self, ds_uid: str, period: Period) -> bool:
        ds = self.ctx.state.objects["dataSets"].get(ds_uid) or {}
        dips = ds.get("dataInputPeriods") or []
        if not dips:
            return True
        for dip in dips:
            if (dip.get("period") or {}).get("id") != period.id:
                continue
            opening, closing = dip.get("openingDate"), dip.get("closingDate")
            if opening and self.today < date.fromisoformat(opening[:10]):
                continue
            if closing and self.today > date.fromisoformat(closing[:10]):
                continue
            return True
        return False

    # --- the import -----------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        ctx = self.ctx
        st = ctx.state
        version = ctx.version
        self.conflicts = ConflictCollector(grouped=version.grouped_conflicts)
        self._latest_cache: dict[str, Period | None] = {}
        self._lock_cache: dict[tuple[str, str], bool] = {}
        counts = {"imported": 0, "updated": 0, "ignored": 0, "deleted": 0}
        p = self.payload
        complete: str = "false"
        with st.lock:
            res = Resolver(st)
            d = st.derived
            ds_uid = res.to_uid("dataSets", p.get("dataSet"), self.ds_scheme)
            h_ou = res.to_uid("organisationUnits", p.get("orgUnit"), self.ou_scheme)
            h_aoc = res.to_uid(
                "categoryOptionCombos", p.get("attributeOptionCombo"), self.coc_scheme
            )
            aborted = False
            if p.get("dataSet") and ds_uid is None:
                self._conflict(None, "E7600", str(p["dataSet"]))
                aborted = True
            if p.get("orgUnit") and h_ou is None:
                self._conflict(None, "E7603", str(p["orgUnit"]))
                aborted = True
            if p.get("attributeOptionCombo") and h_aoc is None:
                self._conflict(None, "E7604", str(p["attributeOptionCombo"]))
                aborted = True
            values = p.get("dataValues") or []
            if aborted:
                return self._summary("ERROR", counts, "Import process was aborted", complete)

            de_map = res.lookup("dataElements", self.de_scheme)
            ou_map = res.lookup("organisationUnits", self.ou_scheme)
            coc_map = res.lookup("categoryOptionCombos", self.coc_scheme)
            des = st.objects["dataElements"]
            ous = st.objects["organisationUnits"]
            user = ctx.user
            user_roots = user.organisation_units
            in_hierarchy: dict[str, bool] = {}
            now = fmt_value_ts(self.ctx.sim.now())
            default_coc = d.default_coc
            h_pe = p.get("period")
            stored_by_default = user.username
            allowed_cocs: dict[str, set[str]] = {}
            flags = self.flags

            def reject(index: int, code: str, *args: str, **details: Any) -> None:
                """Record the value's conflict; DHIS2 counts a rejected value as ignored."""
                self._conflict(index, code, *args, **details)
                counts["ignored"] += 1

            for i, dv in enumerate(values):
                de_id = dv.get("dataElement")
                de_uid = de_map.get(de_id) if de_id is not None else None
                if de_uid is None:
                    reject(i, "E7610", str(de_id))
                    continue
                pe_id = dv.get("period") or h_pe
                period = period_or_none(pe_id) if pe_id else None
                if period is None:
                    reject(i, "E7611", str(pe_id))
                    continue
                ou_id = dv.get("orgUnit") or p.get("orgUnit")
                ou_uid = ou_map.get(ou_id) if ou_id is not None else None
                if ou_uid is None:
                    reject(i, "E7612", str(ou_id))
                    continue
                coc_id = dv.get("categoryOptionCombo")
                coc_uid = coc_map.get(coc_id) if coc_id else None
                if coc_id and coc_uid is None:
                    reject(i, "E7613", str(coc_id))
                    continue
                aoc_id = dv.get("attributeOptionCombo")
                aoc_uid = coc_map.get(aoc_id) if aoc_id else h_aoc
                if aoc_id and aoc_uid is None:
                    reject(i, "E7615", str(aoc_id))
                    continue
                ok = in_hierarchy.get(ou_uid)
                if ok is None:
                    path = ous[ou_uid].get("path", "") + "/"
                    ok = in_hierarchy[ou_uid] = any(f"/{r}/" in path for r in user_roots)
                if not ok:
                    reject(i, "E7617", ou_uid, user.uid)
                    continue
                de = des[de_uid]
                raw = dv.get("value")
                value = None if raw is None else str(raw)
                if value is not None and value.strip() == "":
                    value = None
                comment = dv.get("comment")
                deleted_flag = _truthy(dv.get("deleted"))
                if value is None and not comment and not deleted_flag and self.strategy != "DELETE":
                    reject(i, "E7618", de_uid)
                    continue
                vtype = de.get("valueType", "TEXT")
                if value is not None:
                    value = normalise_boolean(value, vtype)
                    problem = check(value, vtype)
                    if problem is not None:
                        display = (de_uid, I18N.get(problem, problem))
                        reject(i, "E7619", de_uid, problem, value=value, display=display)
                        continue
                if comment is not None and len(str(comment)) > 50000:
                    reject(i, "E7620", "comment_length_greater_than_max_length")
                    continue
                if coc_uid is None:
                    if flags["requireCategoryOptionCombo"]:
                        reject(i, "E7630", value=value or "")
                        continue
                    coc_uid = default_coc
                if aoc_uid is None:
                    if flags["requireAttributeOptionCombo"]:
                        reject(i, "E7631", value=value or "")
                        continue
                    aoc_uid = default_coc
                de_ds = d.de_datasets.get(de_uid, [])
                if flags["strictPeriods"]:
                    types = {st.objects["dataSets"][u].get("periodType") for u in de_ds}
                    if period.period_type not in types:
                        reject(i, "E7632", period.id, de_uid)
                        continue
                if (
                    flags["strictDataElements"]
                    and ds_uid is not None
                    and de_uid not in d.ds_des.get(ds_uid, set())
                ):
                    reject(i, "E7633", de_uid, ds_uid)
                    continue
                if flags["strictCategoryOptionCombos"]:
                    allowed = allowed_cocs.get(de_uid)
                    if allowed is None:
                        own = (de.get("categoryCombo") or {}).get("id", d.default_cc)
                        allowed = set(d.cc_cocs.get(own, set()))
                        for dse in d.de_dataset_elements.get(de_uid, []):
                            if dse.get("categoryCombo"):
                                allowed |= d.cc_cocs.get(dse["categoryCombo"]["id"], set())
                        allowed_cocs[de_uid] = allowed
                    if coc_uid not in allowed:
                        reject(i, "E7634", coc_uid, de_uid)
                        continue
                if flags["strictOrganisationUnits"] and not any(
                    ou_uid in d.ds_ous.get(u, set()) for u in de_ds
                ):
                    reject(i, "E7636", ou_uid, de_uid)
                    continue
                if (
                    value is not None
                    and is_zero_and_insignificant(value, vtype, bool(de.get("zeroIsSignificant")))
                    and self.strategy != "DELETE"
                ):
                    counts["ignored"] += 1
                    continue
                stored_by = dv.get("storedBy") or stored_by_default
                if len(str(stored_by)) > 255:
                    reject(
                        i, "E7637", "stored_by_length_greater_than_max_length", value=str(stored_by)
                    )
                    continue
                check_ds = ds_uid or (de_ds[0] if de_ds else None)
                if check_ds is not None and not self.force:
                    if self._locked(check_ds, period):
                        reject(i, "E7640", period.id, check_ds)
                        continue
                    latest = self._latest_open(de_uid, de_ds or [check_ds])
                    if latest is not None and period.start > latest.end:
                        reject(i, "E7641", period.id, de_uid, latest.id)
                        continue
                    if not self._input_period_open(check_ds, period):
                        reject(i, "E7643", period.id, check_ds)
                        continue

                # --- write -------------------------------------------------------------
                slice_key = (ou_uid, period.id)
                slice_ = st.values.get(slice_key)
                key = (de_uid, coc_uid, aoc_uid)
                existing = slice_.get(key) if slice_ is not None else None
                active = existing is not None and not existing["deleted"]
                strategy = self.strategy
                if strategy == "DELETE" or (deleted_flag and strategy != "CREATE"):
                    if active and existing is not None:  # `active` implies a record
                        counts["deleted"] += 1
                        if not self.dry_run:
                            existing["deleted"] = True
                            existing["lastUpdated"] = now
                    else:
                        counts["ignored"] += 1
                    continue
                followup = dv.get("followup")
                # CREATE leaves an existing value alone, UPDATE a missing one.
                if strategy == ("CREATE" if active else "UPDATE"):
                    counts["ignored"] += 1
                    continue
                counts["updated" if active else "imported"] += 1
                if self.dry_run:
                    continue
                if active and existing is not None:  # `active` implies a record
                    if (
                        existing["value"] == value
                        and existing["comment"] == comment
                        and (followup is None or existing["followup"] == _truthy(followup))
                    ):
                        continue  # identical: counted as updated, nothing written (2.40)
                    existing["value"] = value
                    existing["comment"] = comment
                    if followup is not None:
                        existing["followup"] = _truthy(followup)
                    existing["storedBy"] = stored_by
                    existing["lastUpdated"] = now
                    continue
                if slice_ is None:
                    slice_ = st.values[slice_key] = {}
                slice_[key] = {
                    "value": value,
                    "storedBy": stored_by,
                    "created": now,
                    "lastUpdated": now,
                    "comment": comment,
                    "followup": _truthy(followup),
                    "deleted": False,
                }

            complete_date = p.get("completeDate") or p.get("completedDate")
            h_period = period_or_none(h_pe) if h_pe else None
            if complete_date and ds_uid and h_ou and h_period:
                complete = str(complete_date)[:10]
                if not self.dry_run:
                    st.completions[(ds_uid, h_period.id, h_ou, h_aoc or default_coc)] = {
                        "date": complete,
                        "storedBy": user.username,
                        "completed": True,
                        "lastUpdated": now[:-5],
                        "lastUpdatedBy": user.username,
                    }
        status = "WARNING" if self.conflicts else "SUCCESS"
        return self._summary(status, counts, "Import process completed successfully", complete)

    def _summary(
        self, status: str, counts: dict[str, int], description: str, complete: str
    ) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "responseType": "ImportSummary",
            "status": status,
            "importOptions": import_options(
                self.ctx, self.strategy, self.dry_run, self.is_async, self.schemes_given
            ),
            "description": description,
            "importCount": counts,
            "conflicts": self.conflicts.render(),
        }
        if self.ctx.version.rejected_indexes:
            summary["rejectedIndexes"] = sorted(set(self.conflicts.rejected))
        summary["dataSetComplete"] = complete
        return summary


def _parse_payload(ctx: Ctx) -> dict[str, Any] | SimResponse:
    ctype = ctx.request.headers.get("content-type", "application/json").lower()
    if "json" not in ctype:
        return error_response(415, f"Content type '{ctype}' not supported")
    payload = read_json(ctx)
    if isinstance(payload, SimResponse):
        return payload
    if not isinstance(payload, dict):
        return error_response(409, "The request body must be a JSON object")
    values = payload.get("dataValues")
    if values is not None and (
        not isinstance(values, list) or not all(isinstance(v, dict) for v in values)
    ):
        # DHIS2's JSON reader cannot bind this to DataValue objects: a parse error, as above.
        message = "Failed to parse JSON: dataValues must be a list of data value objects"
        return error_response(parse_error_status(ctx), message)
    return payload


@with_payload("F_DATAVALUE_ADD", _parse_payload)
def post_data_value_sets(ctx: Ctx, payload: dict[str, Any]) -> SimResponse:
    values = payload.get("dataValues") or []
    delay = ctx.sim.faults.import_delay(len(values))
    if ctx.request.flag("async"):
        return _submit_async(ctx, payload, delay)
    if delay:
        time.sleep(delay)
    summary = DataValueImport(ctx, payload).run()
    return summary_envelope(ctx, summary)


def _submit_async(ctx: Ctx, payload: dict[str, Any], delay: float) -> SimResponse:
    """Job WebMessage (``Initiated dataValueImport`` ≤2.40, ``Initiated DATAVALUE_IMPORT
    (<millis>)`` 2.41+), ``jobStatus``/``jobParameters``/``responseType`` 2.38+, ``Location``
    header 2.40+; poll ``/api/system/tasks`` and ``/api/system/taskSummaries``."""
    importer = DataValueImport(ctx, payload, is_async=True)

    def run() -> tuple[Any, list[tuple[str, str, bool, dict[str, Any] | None]]]:
        if delay:
            time.sleep(delay)
        summary = importer.run()
        level = "ERROR" if summary["status"] == "ERROR" else "INFO"
        return summary, [
            ("INFO", "Process started", False, None),
            ("INFO", "Importing data values", False, None),
            (level, "Import done", True, None),
        ]

    return job_response(
        ctx,
        "DATAVALUE_IMPORT",
        "dataValueImport",
        run,
        importer_params=import_options(
            ctx, importer.strategy, importer.dry_run, True, importer.schemes_given
        ),
    )


def job_response(
    ctx: Ctx, job_type: str, legacy_name: str, run: Any, importer_params: dict[str, Any]
) -> SimResponse:
    v = ctx.version
    job = ctx.sim.jobs.submit(job_type, run, ctx.sim.job_delay, with_id=v.major >= 41)
    name = f"{job_type} ({int(time.time() * 1000)})" if v.job_name_style_new else legacy_name
    endpoint = f"/api/system/tasks/{job_type}/{job.id}"
    response: dict[str, Any] = {
        "name": name,
        "id": job.id,
        "created": job.created,
        "jobType": job_type,
    }
    if v.job_status_fields:
        response["jobStatus"] = "SCHEDULED"
        response["jobParameters"] = importer_params
    response["relativeNotifierEndpoint"] = endpoint
    if v.job_status_fields:
        response["responseType"] = (
            "JobConfiguration"
            if not v.long_response_types
            else "JobConfigurationWebMessageResponse"
        )
    headers = {"Location": f"{ctx.base_url}{endpoint}"} if v.job_location_header else None
    return json_response(
        web_message(200, "OK", f"Initiated {name}", response=response), headers=headers
    )
