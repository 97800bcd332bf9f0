"""Completeness end to end: API -> service -> a real qcluster worker -> task -> core -> HTTP ->
a DHIS2 simulator served on loopback, then marking the compliant forms the same way.

The test writes known patterns into the simulator through DHIS2's own API (one facility with
every element and option combo, one with the first six elements in one combo only, one with
nothing) and derives each row's expected figures from those patterns and the data set's
metadata read over HTTP, not from the code under test.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest

from completeness.models import CompletenessAssessment
from jobs.models import Run
from simulator import datasets
from tests.conftest import api_as, instance_with_secret
from tests.e2e.conftest import e2e_simulator, finished

pytestmark = pytest.mark.e2e

RCH = datasets.DEMO["dataSets"]["RCH Monthly"]
REGION = datasets.DEMO["organisationUnits"]["Northern Region"]
PERIOD = "202406"
VALUES = {"BOOLEAN": "true", "TEXT": "ok", "LONG_TEXT": "ok", "PERCENTAGE": "50"}


def shown(part: int, whole: int) -> float:
    return float((Decimal(part * 100) / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP))


def test_known_patterns_give_exactly_the_expected_rows_and_marking_registers_them(
    qcluster, bob
) -> None:
    sim = e2e_simulator("demo-source")
    with sim.serve() as server:
        dhis2 = httpx.Client(base_url=f"{server.url}/api/", auth=("admin", "district"))
        ds = dhis2.get(
            f"dataSets/{RCH}",
            params={
                "fields": "dataSetElements[dataElement[id,valueType,"
                "categoryCombo[categoryOptionCombos[id]]],categoryCombo[categoryOptionCombos[id]]]"
            },
        ).json()
        combos: dict[str, list[str]] = {}
        types: dict[str, str] = {}
        for dse in ds["dataSetElements"]:
            de = dse["dataElement"]
            cc = dse.get("categoryCombo") or de["categoryCombo"]
            combos[de["id"]] = sorted(c["id"] for c in cc["categoryOptionCombos"])
            types[de["id"]] = de["valueType"]
        elements = sorted(combos)
        units = dhis2.get(
            "organisationUnits",
            params={"filter": [f"path:like:{REGION}", "level:eq:4"], "fields": "id,name",
                    "paging": "false", "order": "name:asc"},
        ).json()["organisationUnits"][:3]  # fmt: skip
        full, half, none = (u["id"] for u in units)

        # Clear what the demo holds for these three forms, then write the patterns.
        held = (
            dhis2.get(
                "dataValueSets",
                params=[
                    ("dataSet", RCH),
                    ("period", PERIOD),
                    *(("orgUnit", u["id"]) for u in units),
                ],
            )
            .json()
            .get("dataValues", [])
        )
        if held:
            r = dhis2.post("dataValueSets", params={"importStrategy": "DELETE"},
                           json={"dataValues": held})  # fmt: skip
            assert r.status_code == 200, r.text

        def value(de: str, coc: str, ou: str) -> dict[str, str]:
            return {"dataElement": de, "categoryOptionCombo": coc, "orgUnit": ou,
                    "period": PERIOD, "value": VALUES.get(types[de], "1")}  # fmt: skip

        pattern = [value(de, coc, full) for de in elements for coc in combos[de]]
        pattern += [value(de, combos[de][0], half) for de in elements[:6]]
        r = dhis2.post("dataValueSets", json={"dataValues": pattern})
        assert r.status_code == 200 and r.json()["response"]["importCount"]["imported"] == len(
            pattern
        ), r.text
        registered_before = {
            (c["organisationUnit"], c["period"])
            for c in sim.completions(RCH)
            if c.get("completed", True)
        }

        half_present = [de for de in elements[:6] if len(combos[de]) == 1]  # "all" combos
        expected = {
            full: {"present": elements, "missing": [], "compliance": 100.0, "compliant": True,
                   "no_data": False},
            half: {"present": half_present,
                   "missing": [de for de in elements if de not in half_present],
                   "compliance": shown(len(half_present), len(elements)), "compliant": False,
                   "no_data": False},
            none: {"present": [], "missing": elements, "compliance": 0.0, "compliant": False,
                   "no_data": True},
        }  # fmt: skip
        for ou, row in expected.items():
            row["registered"] = (ou, PERIOD) in registered_before

        instance = instance_with_secret(
            "Served HMIS", server.url, username="admin", password="district"
        )
        response = api_as(bob).post(
            "/api/v1/completeness-assessments/",
            {"instance": instance.pk, "data_set": RCH, "periods": [PERIOD],
             "org_units": [full, half, none], "include_descendants": False,
             "threshold": 100, "disaggregation": "all"},
            format="json",
        )  # fmt: skip
        assert response.status_code == 201, response.content
        run = finished(response.json()["run"])
        assert run.status == Run.Status.SUCCEEDED, run.error
        assert run.task_id  # it went through the worker, not sync mode

        pk = response.json()["id"]
        rows = api_as(bob).get(f"/api/v1/completeness-assessments/{pk}/results/").json()
        got = {
            r["org_unit"]: {k: r[k] for k in ("present", "missing", "compliance", "compliant",
                                              "no_data", "registered")}
            for r in rows["results"]
        }  # fmt: skip
        assert got == expected
        detail = api_as(bob).get(f"/api/v1/completeness-assessments/{pk}/").json()
        assert (detail["assessed"], detail["compliant"], detail["non_compliant"],
                detail["no_data"]) == (3, 1, 1, 1)  # fmt: skip
        assert detail["average_compliance"] == float(
            ((Decimal(100) + Decimal(str(expected[half]["compliance"]))) / 3).quantize(
                Decimal("0.1"), ROUND_HALF_UP
            )
        )

        mark = api_as(bob).post(
            f"/api/v1/completeness-assessments/{pk}/mark/",
            {"action": "complete", "compliant": True},
            format="json",
        )
        assert mark.status_code == 202, mark.content
        marked = finished(mark.json()["run"])
        assert marked.status == Run.Status.SUCCEEDED, marked.error
        was = expected[full]["registered"]
        assert (marked.stats["registered"], marked.stats["already_registered"]) == (
            (0, 1) if was else (1, 0)
        )
        assert marked.started_by == bob
        registered_now = {
            (c["organisationUnit"], c["period"])
            for c in sim.completions(RCH)
            if c.get("completed", True)
        }
        assert registered_now == registered_before | {(full, PERIOD)}
        assessment = CompletenessAssessment.objects.get(pk=pk)
        assert assessment.rows.get(org_unit=full).registered
        assert assessment.registered == sum(1 for ou in expected if (ou, PERIOD) in registered_now)
        dhis2.close()
