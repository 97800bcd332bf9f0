"""``GET /api/dataValueSets`` (reference §4).

Required-parameter errors are 409 WebMessages with the 2.40 ``ErrorCode`` texts (E2001, E2002,
E2004-E2009, E2012). Output follows ``JsonDataValueSetWriter``: the header
``dataSet, completeDate, period, orgUnit`` only for a single data set + period + org unit; every
value as a string; ``comment`` written even when null (``null`` in 2.40, ``""`` elsewhere);
``deleted`` only with ``includeDeleted``.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from simulator.handlers.common import Ctx, conflict, period_or_none
from simulator.http import SimResponse, json_response, split_csv
from simulator.idschemes import Resolver, scheme_param
from simulator.state import fmt_value_ts

_DURATION = re.compile(r"^(\d+)([dhms])$")


def normalise_timestamp(text: str) -> str | None:
    """A date or date-time parameter in the stored ``...+0000`` form (for string compare)."""
    text = text.strip()
    try:
        if len(text) == 10:
            date.fromisoformat(text)
            return text + "T00:00:00.000+0000"
        base = text.replace("Z", "").split("+")[0]
        day, _, clock = base.partition("T")
        date.fromisoformat(day)
        hh, mm, ss = ([*clock.split(":"), "00", "00", "00"])[:3]
        sec, _, ms = ss.partition(".")
        return f"{day}T{int(hh):02d}:{int(mm):02d}:{int(sec or 0):02d}.{(ms + '000')[:3]}+0000"
    except ValueError:
        return None


def duration_start(text: str, now: datetime) -> str | None:
    match = _DURATION.match(text.strip())
    if not match:
        return None
    amount, unit = int(match.group(1)), match.group(2)
    delta = {
        "d": timedelta(days=amount),
        "h": timedelta(hours=amount),
        "m": timedelta(minutes=amount),
        "s": timedelta(seconds=amount),
    }[unit]
    return fmt_value_ts(now - delta)


def get_data_value_sets(ctx: Ctx) -> SimResponse:
    r = ctx.request
    st = ctx.state
    with st.lock:
        res = Resolver(st)
        in_scheme = scheme_param(r, "inputIdScheme")
        ds_scheme = scheme_param(r, "inputDataSetIdScheme", in_scheme)
        de_scheme = scheme_param(r, "inputDataElementIdScheme", in_scheme)
        ou_scheme = scheme_param(r, "inputOrgUnitIdScheme", in_scheme)

        data_sets = res.to_uids("dataSets", split_csv(r.params("dataSet")), ds_scheme)
        elements = res.to_uids("dataElements", split_csv(r.params("dataElement")), de_scheme)
        groups = res.to_uids(
            "dataElementGroups", split_csv(r.params("dataElementGroup")), in_scheme
        )
        org_units = res.to_uids("organisationUnits", split_csv(r.params("orgUnit")), ou_scheme)
        period_ids = split_csv(r.params("period"))
        periods = [p for p in (period_or_none(x) for x in period_ids) if p]
        start, end = r.param("startDate"), r.param("endDate")
        last_updated = r.param("lastUpdated")
        duration = r.param("lastUpdatedDuration")
        children = r.flag("children")
        include_deleted = r.flag("includeDeleted")

        if not data_sets and not elements and not groups:
            return conflict(
                "At least one data element, data set or data element group must be specified",
                "E2001",
            )
        start_d = end_d = None
        if not periods and start and end:
            try:
                start_d, end_d = date.fromisoformat(start[:10]), date.fromisoformat(end[:10])
            except ValueError:
                start_d = end_d = None
        if not periods and start_d is None and not last_updated and not duration:
            return conflict(
                "At least one period, start/end dates, last updated or last updated "
                "duration must be specified",
                "E2002",
            )
        if start_d and end_d and start_d > end_d:
            return conflict("Start date must be before end date", "E2004")
        since = None
        if duration:
            since = duration_start(duration, ctx.sim.now())
            if since is None:
                return conflict(f"Duration is not valid: `{duration}`", "E2005")
        elif last_updated:
            since = normalise_timestamp(last_updated)
        if not org_units and not r.params("orgUnitGroup"):
            return conflict(
                "At least one organisation unit or organisation unit group must be specified",
                "E2006",
            )
        if children and r.params("orgUnitGroup"):
            return conflict(
                "Organisation unit children cannot be included for organisation unit groups",
                "E2007",
            )
        limit_raw = r.param("limit")
        limit = None
        if limit_raw is not None:
            try:
                limit = int(limit_raw)
            except ValueError:
                limit = None
            if limit is not None and limit < 0:
                return conflict(f"Limit cannot be less than zero: `{limit}`", "E2009")
        for ou in org_units:
            if not st.is_descendant(ou, ctx.user.organisation_units):
                return conflict(f"User is not allowed to view org unit: `{ou}`", "E2012")

        d = st.derived
        wanted_des: set[str] = set(elements)
        for ds in data_sets:
            wanted_des |= d.ds_des.get(ds, set())
        for g in groups:
            wanted_des |= {
                x["id"] for x in st.objects["dataElementGroups"][g].get("dataElements", [])
            }
        ou_list: list[str] = []
        for ou in org_units:
            ou_list.extend(st.descendants(ou) if children else [ou])
        ou_set = set(ou_list)
        aoc_filter = set(split_csv(r.params("attributeOptionCombo"))) or None

        if periods:
            period_set = {p.id for p in periods}
        elif start_d is not None and end_d is not None:
            period_set = set()
            for _ou, pe in st.values:
                p = period_or_none(pe)
                if p and p.start >= start_d and p.end <= end_d:
                    period_set.add(pe)
        else:
            period_set = {pe for _ou, pe in st.values}

        scheme = scheme_param(r, "idScheme")
        out_de = res.output("dataElements", scheme_param(r, "dataElementIdScheme", scheme))
        out_ou = res.output("organisationUnits", scheme_param(r, "orgUnitIdScheme", scheme))
        coc_scheme = scheme_param(r, "categoryOptionComboIdScheme", scheme)
        out_coc = res.output("categoryOptionCombos", coc_scheme)
        out_aoc = res.output(
            "categoryOptionCombos", scheme_param(r, "attributeOptionComboIdScheme", coc_scheme)
        )
        empty_comment = None if ctx.version.null_comment else ""

        values: list[dict[str, Any]] = []
        ordered_keys = [k for k in st.values if k[0] in ou_set and k[1] in period_set]
        for ou, pe in ordered_keys:
            for (de, coc, aoc), rec in st.values[(ou, pe)].items():
                if de not in wanted_des:
                    continue
                if rec["deleted"] and not include_deleted:
                    continue
                if aoc_filter is not None and aoc not in aoc_filter:
                    continue
                if since is not None and rec["lastUpdated"] < since:
                    continue
                item = {
                    "dataElement": out_de.get(de, de),
                    "period": pe,
                    "orgUnit": out_ou.get(ou, ou),
                    "categoryOptionCombo": out_coc.get(coc, coc),
                    "attributeOptionCombo": out_aoc.get(aoc, aoc),
                    "value": rec["value"],
                    "storedBy": rec["storedBy"],
                    "created": rec["created"],
                    "lastUpdated": rec["lastUpdated"],
                    "comment": rec["comment"] if rec["comment"] is not None else empty_comment,
                    "followup": rec["followup"],
                }
                if include_deleted:
                    item["deleted"] = rec["deleted"]
                values.append(item)
                if limit is not None and len(values) >= limit:
                    break
            if limit is not None and len(values) >= limit:
                break

        body: dict[str, Any] = {}
        if len(data_sets) == 1 and len(periods) == 1 and len(org_units) == 1 and not children:
            ds_uid, pe_iso, ou_uid = data_sets[0], periods[0].id, org_units[0]
            reg = next(
                (
                    c
                    for (cds, cpe, cou, _aoc), c in st.completions.items()
                    if cds == ds_uid
                    and cpe == pe_iso
                    and cou == ou_uid
                    and c.get("completed", True)
                ),
                None,
            )
            ds_out = res.output("dataSets", scheme_param(r, "dataSetIdScheme", scheme))
            body["dataSet"] = ds_out.get(ds_uid, ds_uid)
            body["completeDate"] = (reg["date"][:10] + "T00:00:00.000+0000") if reg else None
            body["period"] = pe_iso
            body["orgUnit"] = out_ou.get(ou_uid, ou_uid)
        body["dataValues"] = values
    return json_response(body)
