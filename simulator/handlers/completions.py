"""``/api/completeDataSetRegistrations`` (reference §6).

POST answers an ImportSummary with the envelope rules of §0 (conflicts in the legacy
``{"object","value"}`` form, which the registration importer still uses); GET lists
registrations; DELETE un-completes and answers 204, or 409 for an illegal data set / period /
org unit or a locked (expired) data set.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from simulator.handlers.common import (
    Ctx,
    conflict,
    import_options,
    parse_strategy,
    period_or_none,
    summary_envelope,
    with_payload,
)
from simulator.http import SimResponse, json_response, split_csv
from simulator.idschemes import Resolver, scheme_param
from simulator.state import fmt_metadata_ts


def _expired(ctx: Ctx, ds: dict[str, Any], iso: str) -> bool:
    period = period_or_none(iso)
    if period is None:
        return False
    if period.id in ctx.state.locked_periods.get(ds["id"], ()):
        return True
    expiry = int(ds.get("expiryDays") or 0)
    if expiry <= 0 or ctx.user.has("F_EDIT_EXPIRED"):
        return False
    return ctx.sim.today() >= period.end + timedelta(days=expiry)


@with_payload("F_DATAVALUE_ADD")
def post_registrations(ctx: Ctx, payload: Any) -> SimResponse:
    regs = payload.get("completeDataSetRegistrations") or []
    r = ctx.request
    dry_run = r.flag("dryRun")
    strategy = parse_strategy(ctx) or "CREATE_AND_UPDATE"
    scheme = scheme_param(r, "idScheme")
    schemes = {
        n: scheme_param(r, n, scheme)
        for n in ("dataSetIdScheme", "orgUnitIdScheme", "attributeOptionComboIdScheme")
    }
    counts = {"imported": 0, "updated": 0, "ignored": 0, "deleted": 0}
    conflicts: dict[tuple[str, str], dict[str, str]] = {}

    def add(obj: str, msg: str) -> None:
        conflicts.setdefault((obj, msg), {"object": obj, "value": msg})
        counts["ignored"] += 1

    st = ctx.state
    with st.lock:
        res = Resolver(st)
        default_coc = st.derived.default_coc
        for reg in regs:
            ds_uid = res.to_uid("dataSets", reg.get("dataSet"), schemes["dataSetIdScheme"])
            if ds_uid is None:
                add(str(reg.get("dataSet")), "Data set not found or not accessible")
                continue
            raw_period = str(reg.get("period") or "")
            period = period_or_none(raw_period)
            if period is None:
                add(raw_period, "Period not valid")
                continue
            iso = period.id
            ou_uid = res.to_uid(
                "organisationUnits", reg.get("organisationUnit"), schemes["orgUnitIdScheme"]
            )
            if ou_uid is None:
                add(
                    str(reg.get("organisationUnit")),
                    "Organisation unit not found or not accessible",
                )
                continue
            aoc_raw = reg.get("attributeOptionCombo")
            aoc_uid = (
                res.to_uid("categoryOptionCombos", aoc_raw, schemes["attributeOptionComboIdScheme"])
                if aoc_raw
                else default_coc
            )
            if aoc_uid is None:
                add(str(aoc_raw), "Attribute option combo not found or not accessible")
                continue
            ds = st.objects["dataSets"][ds_uid]
            if _expired(ctx, ds, iso):
                add(
                    ds_uid,
                    f"Current date is past expiry days for period {iso} and data set: {ds_uid}",
                )
                continue
            key = (ds_uid, iso, ou_uid, aoc_uid)
            existing = key in st.completions
            if existing and strategy == "CREATE":
                counts["ignored"] += 1
                continue
            if not existing and strategy == "UPDATE":
                counts["ignored"] += 1
                continue
            if strategy == "DELETE":
                if existing:
                    counts["deleted"] += 1
                    if not dry_run:
                        del st.completions[key]
                else:
                    counts["ignored"] += 1
                continue
            counts["updated" if existing else "imported"] += 1
            if not dry_run:
                completed = reg.get("completed")
                st.completions[key] = {
                    "date": str(reg.get("date") or ctx.sim.today().isoformat())[:10],
                    "storedBy": reg.get("storedBy") or ctx.user.username,
                    "completed": True if completed is None else bool(completed),
                    "lastUpdated": fmt_metadata_ts(ctx.sim.now()),
                    "lastUpdatedBy": ctx.user.username,
                }
    summary: dict[str, Any] = {
        "responseType": "ImportSummary",
        "status": "WARNING" if conflicts else "SUCCESS",
        "importOptions": import_options(
            ctx, strategy, dry_run, False, {k: v for k, v in schemes.items() if r.param(k)}
        ),
        "description": "Import process completed successfully",
        "importCount": counts,
        "conflicts": list(conflicts.values()),
        "dataSetComplete": "false",
    }
    return summary_envelope(ctx, summary)


def get_registrations(ctx: Ctx) -> SimResponse:
    r = ctx.request
    st = ctx.state
    with st.lock:
        res = Resolver(st)
        scheme = scheme_param(r, "idScheme")
        data_sets = res.to_uids("dataSets", split_csv(r.params("dataSet")), scheme)
        if not data_sets:
            return conflict("At least one data set must be specified", "E2013")
        periods = {p.id for p in map(period_or_none, split_csv(r.params("period"))) if p}
        start, end = r.param("startDate"), r.param("endDate")
        created = r.param("created")
        if not periods and not (start and end) and not created:
            return conflict(
                "At least one period, start/end dates, last updated or last updated "
                "duration must be specified",
                "E2002",
            )
        org_units = res.to_uids("organisationUnits", split_csv(r.params("orgUnit")), scheme)
        if not org_units:
            return conflict(
                "At least one organisation unit or organisation unit group must be specified",
                "E2006",
            )
        ous: set[str] = set()
        for ou in org_units:
            ous.update(st.descendants(ou) if r.flag("children") else [ou])
        out = []
        for (ds, pe, ou, aoc), reg in st.completions.items():
            if ds not in data_sets or ou not in ous:
                continue
            if periods and pe not in periods:
                continue
            if not periods and start and end:
                p = period_or_none(pe)
                if (
                    p is None
                    or p.start < date.fromisoformat(start[:10])
                    or p.end > date.fromisoformat(end[:10])
                ):
                    continue
            if created and reg.get("lastUpdated", "") < created:
                continue
            item = {
                "period": pe,
                "dataSet": ds,
                "organisationUnit": ou,
                "attributeOptionCombo": aoc,
                "date": reg["date"],
                "storedBy": reg.get("storedBy"),
                "completed": reg.get("completed", True),
                "lastUpdated": reg.get("lastUpdated"),
                "lastUpdatedBy": reg.get("lastUpdatedBy"),
            }
            out.append({k: v for k, v in item.items() if v is not None})
        limit = r.param("limit")
        if limit and limit.isdigit():
            out = out[: int(limit)]
    return json_response({"completeDataSetRegistrations": out})


def delete_registrations(ctx: Ctx) -> SimResponse:
    """``DELETE ?ds=&pe=&ou=[&cc=&cp=][&multiOu=true]`` → 204 (all versions)."""
    r = ctx.request
    st = ctx.state
    with st.lock:
        ds_ids = split_csv(r.params("ds"))
        data_sets = []
        for x in ds_ids:
            if x not in st.objects["dataSets"]:
                return conflict(f"Illegal data set identifier: {x}")
            data_sets.append(x)
        if not data_sets:
            return conflict("Illegal data set identifier: ")
        pe = r.param("pe") or ""
        pe_period = period_or_none(pe)
        if pe_period is None:
            return conflict(f"Illegal period identifier: {pe}")
        pe = pe_period.id
        ou = r.param("ou") or ""
        if ou not in st.objects["organisationUnits"]:
            return conflict(f"Illegal organisation unit identifier: {ou}")
        locked = [ds for ds in data_sets if _expired(ctx, st.objects["dataSets"][ds], pe)]
        if locked:
            return conflict(f"Locked Data set(s) : {', '.join(locked)}")
        aoc = st.derived.default_coc
        cc, cp = r.param("cc"), r.param("cp")
        if cc and cp:
            wanted = set(cp.split(";"))
            aoc = next(
                (
                    u
                    for u in st.derived.cc_cocs.get(cc, set())
                    if {
                        o["id"]
                        for o in st.objects["categoryOptionCombos"][u].get("categoryOptions", [])
                    }
                    == wanted
                ),
                aoc,
            )
        ous = st.descendants(ou) if r.flag("multiOu") else [ou]
        for ds in data_sets:
            for unit in ous:
                st.completions.pop((ds, pe, unit, aoc), None)
    return SimResponse(status=204)
