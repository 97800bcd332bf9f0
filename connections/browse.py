"""Read-only views of a DHIS2 instance for the pickers: data sets, their structure, periods,
org units. Plain functions over a `dhis2.Client`, so pages, API and other apps share them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from dhis2.client import Client
from dhis2.periods import get_period_type, period_containing, previous_period


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


def _combos(combo: dict | None) -> list[dict[str, Any]]:
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
    filters = _ilike("name", search)
    if parent:
        filters.append(f"parent.id:eq:{parent}")
    if level:
        filters.append(f"level:eq:{level}")
    if not filters:
        filters.append("level:eq:1")
    body = client.get_json(
        "organisationUnits",
        {
            "fields": "id,name,code,level,path",
            "filter": filters,
            "pageSize": max(1, min(limit, 500)),
            "order": "level:asc,name:asc",
        },
    )
    return [
        {k: o.get(k) for k in ("id", "name", "code", "level", "path")}
        for o in body.get("organisationUnits", [])
    ]


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
