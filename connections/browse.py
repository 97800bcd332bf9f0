"""Read-only views of a DHIS2 instance for the pickers: data sets, their structure, periods,
org units. Plain functions over a `dhis2.Client`, so pages, API and other apps share them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from dhis2.client import Client
from dhis2.periods import (
    RELATIVE_CHOICES,
    PeriodError,
    get_period_type,
    period_containing,
    previous_period,
    relative_choice_needs_n,
    relative_periods,
)


def _ilike(prop: str, text: str) -> list[str]:
    text = text.strip()
    return [f"{prop}:ilike:{text}"] if text else []


def list_data_sets(client: Client, *, search: str = "") -> list[dict[str, Any]]:
    items = client.list_all(
        "dataSets",
        fields="id,name,code,periodType",
        filters=_ilike("name", search),
        params={"order": "name:asc"},
    )
    return [{k: d.get(k) for k in ("id", "name", "code", "periodType")} for d in items]


def _combos(combo: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [
        {"id": c["id"], "name": c.get("name", ""), "code": c.get("code")}
        for c in (combo or {}).get("categoryOptionCombos", [])
    ]


def data_set_structure(client: Client, uid: str) -> dict[str, Any]:
    """The data set's elements with their option combos, for the mapping editor."""
    combo_fields = "id,name,categoryOptionCombos[id,name,code]"
    ds = client.get_json(
        f"dataSets/{uid}",
        {
            "fields": (
                "id,name,code,periodType,"
                f"categoryCombo[{combo_fields}],"
                "dataSetElements[categoryCombo[" + combo_fields + "],"
                "dataElement[id,name,code,valueType,categoryCombo[" + combo_fields + "]]],"
                "organisationUnits[id]"
            )
        },
    )
    elements = []
    for dse in ds.get("dataSetElements", []):
        de = dse.get("dataElement", {})
        combo = dse.get("categoryCombo") or de.get("categoryCombo")  # a data set may override it
        elements.append(
            {
                "id": de.get("id"),
                "name": de.get("name", ""),
                "code": de.get("code"),
                "valueType": de.get("valueType"),
                "categoryOptionCombos": _combos(combo),
            }
        )
    elements.sort(key=lambda e: e["name"].lower())
    return {
        "id": ds.get("id"),
        "name": ds.get("name"),
        "code": ds.get("code"),
        "periodType": ds.get("periodType"),
        "dataElements": elements,
        "attributeOptionCombos": _combos(ds.get("categoryCombo")),
        "organisationUnitCount": len(ds.get("organisationUnits", [])),
    }


def recent_periods(period_type: str, *, count: int = 12, today: date) -> list[dict[str, str]]:
    """The current period and the `count - 1` before it, newest first."""
    get_period_type(period_type)
    period = period_containing(period_type, today)
    out = []
    for _ in range(max(1, min(count, 520))):
        out.append(
            {"id": period.id, "start": period.start.isoformat(), "end": period.end.isoformat()}
        )
        period = previous_period(period)
    return out


def list_org_units(
    client: Client, *, search: str = "", parent: str = "", level: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Org units for the tree picker: the roots (no argument), a unit's children (`parent`), a
    level, or a search by name *or* code (`rootJunction=OR`, so a code like OU_0016 finds its
    unit; a search ignores `parent` and `level`, which would be OR-ed too).

    `hasChildren` comes from DHIS2's own `leaf` property (OrganisationUnit.isLeaf, a JSON
    property since 2.x), so the tree knows which nodes can open without loading their children.
    """
    params: dict[str, Any] = {
        "fields": "id,name,code,level,path,leaf",
        "pageSize": max(1, min(limit, 500)),
        "order": "level:asc,name:asc",
    }
    text = search.strip()
    if text:
        params["filter"] = [f"name:ilike:{text}", f"code:ilike:{text}"]
        params["rootJunction"] = "OR"
    else:
        filters = []
        if parent:
            filters.append(f"parent.id:eq:{parent}")
        if level:
            filters.append(f"level:eq:{level}")
        params["filter"] = filters or ["level:eq:1"]
    body = client.get_json("organisationUnits", params)
    out = []
    for o in body.get("organisationUnits", []):
        unit = {k: o.get(k) for k in ("id", "name", "code", "level", "path")}
        path = [p for p in (o.get("path") or "").split("/") if p]
        unit["parent"] = path[-2] if len(path) > 1 else None
        # An instance that does not say (`leaf` absent) gets an expander that may turn out empty.
        unit["hasChildren"] = not o["leaf"] if isinstance(o.get("leaf"), bool) else True
        out.append(unit)
    return out


def relative_choices(period_type: str, *, today: date) -> list[dict[str, Any]]:
    """The relative period choices that make sense for a data set of `period_type`, each with
    the fixed periods it resolves to today, so the picker can show "Last 3 months (202404,
    202405, 202406)". Choices that need a number (`LAST_N`) are listed without periods; those
    that cannot map onto the type (a week choice on a yearly data set) are left out."""
    out = []
    for value, label in RELATIVE_CHOICES:
        if relative_choice_needs_n(value):
            out.append({"id": value, "label": label, "needsCount": True, "periods": []})
            continue
        try:
            periods = relative_periods(period_type, value, today=today)
        except PeriodError:
            continue
        if periods:
            out.append(
                {
                    "id": value,
                    "label": label,
                    "needsCount": False,
                    "periods": [p.id for p in periods],
                }
            )
    return out


#: The assessment statuses whose destination object the mapping editor may propose, best first.
ASSESSED = ("matched", "matched_by_code", "matched_by_name", "suggested")


def suggest_mappings(
    source: dict[str, Any],
    destination: dict[str, Any] | None,
    *,
    accepted: dict[str, dict[str, str]],
    assessed: dict[str, dict[str, dict[str, str]]],
) -> dict[str, dict[str, dict[str, Any]]]:
    """type -> source UID -> the destination object the mapping editor prefills, and why.

    `source`/`destination` are `data_set_structure()` results; `accepted` is the profile's
    accepted mappings (`metadata_sync.services.profile_mappings`), `assessed` the latest
    assessment's matches (type -> source UID -> {"id", "name", "code", "status"}). Precedence:
    an accepted mapping (a person decided), the assessment's match, then the destination's own
    object with the same UID, the same code, the same name (case-insensitive). A source object
    with none of these gets no entry: the editor leaves it for the user to pick.
    """

    def index(elements: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
        combos = {c["id"]: c for e in elements for c in e.get("categoryOptionCombos", [])}
        return {"dataElements": {e["id"]: e for e in elements}, "categoryOptionCombos": combos}

    src = index(source.get("dataElements", []))
    dst = index((destination or {}).get("dataElements", []))
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for type_, objects in src.items():
        candidates = dst[type_]
        by_code = {o["code"]: o for o in candidates.values() if o.get("code")}
        by_name = {(o.get("name") or "").casefold(): o for o in candidates.values()}
        found: dict[str, dict[str, Any]] = {}
        for uid, obj in objects.items():
            pick: dict[str, Any] | None = None
            if uid in accepted.get(type_, {}):
                target = accepted[type_][uid]
                pick = {**candidates.get(target, {"id": target}), "how": "profile mapping"}
            elif uid in assessed.get(type_, {}):
                item = assessed[type_][uid]
                pick = {**item, **candidates.get(item["id"], {}), "how": item["status"]}
            elif uid in candidates:
                pick = {**candidates[uid], "how": "same UID"}
            elif obj.get("code") and obj["code"] in by_code:
                pick = {**by_code[obj["code"]], "how": "same code"}
            elif (obj.get("name") or "").casefold() in by_name:
                pick = {**by_name[(obj.get("name") or "").casefold()], "how": "same name"}
            if pick:
                found[uid] = {
                    "id": pick["id"],
                    "name": pick.get("name", ""),
                    "code": pick.get("code"),
                    "how": pick["how"],
                    "inDataSet": pick["id"] in candidates,
                }
        out[type_] = found
    return out


def list_event_programs(client: Client, *, search: str = "") -> list[dict[str, Any]]:
    """Event programs (without registration) with their stages, for the event transfer form."""
    items = client.list_all(
        "programs",
        fields="id,name,code,programType,programStages[id,name]",
        filters=["programType:eq:WITHOUT_REGISTRATION", *_ilike("name", search)],
        params={"order": "name:asc"},
    )
    return [
        {
            "id": p.get("id"),
            "name": p.get("name"),
            "code": p.get("code"),
            "programStages": [
                {"id": s.get("id"), "name": s.get("name")} for s in p.get("programStages") or []
            ],
        }
        for p in items
        if p.get("programType", "WITHOUT_REGISTRATION") == "WITHOUT_REGISTRATION"
    ]
