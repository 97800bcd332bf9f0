"""Marking forms complete / incomplete against the simulator (every envelope family) and the
report counts, checked against what the simulator then holds."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import respx

from completeness.marking import mark_complete, mark_incomplete
from dhis2.auth import BasicAuth
from dhis2.client import Client
from simulator import Simulator
from simulator.datasets import DEMO
from tests.samples import load_sample

RCH = DEMO["dataSets"]["RCH Monthly"]
Factory = Callable[..., tuple[Simulator, Client]]


def registered(sim: Simulator, period: str) -> set[str]:
    return {
        ou
        for (ds, pe, ou, _aoc), reg in sim.state.completions.items()
        if ds == RCH and pe == period and reg.get("completed", True)
    }


def facilities(sim: Simulator) -> list[str]:
    return sorted(sim.state.derived.ds_ous[RCH])


@pytest.mark.parametrize("version", ["2.36.13.2", "2.38.7", "2.40.4.1", "2.42.1"])
def test_mark_complete_reports_registered_and_already_registered(
    make_client: Factory, version: str
) -> None:
    sim, client = make_client(version)
    period = "202406"
    before = registered(sim, period)
    ous = facilities(sim)
    assert before and set(ous) - before  # the demo has both kinds
    report = mark_complete(client, data_set=RCH, targets=[(ou, period) for ou in ous], batch_size=8)
    assert report.already_registered == len(before)
    assert report.registered == len(set(ous) - before)
    assert report.failed == 0
    assert registered(sim, period) >= set(ous)
    assert {f for f, o in report.outcomes.items() if o == "already_registered"} == {
        (ou, period) for ou in before
    }
    again = mark_complete(client, data_set=RCH, targets=[(ou, period) for ou in ous])
    assert (again.registered, again.already_registered) == (0, len(ous))


def test_a_registration_with_completed_false_is_completed_now(make_client: Factory) -> None:
    sim, client = make_client()
    period = "202406"
    ou = sorted(registered(sim, period))[0]
    key = next(k for k in sim.state.completions if k[0] == RCH and k[1] == period and k[2] == ou)
    sim.state.completions[key]["completed"] = False
    report = mark_complete(client, data_set=RCH, targets=[(ou, period)])
    assert (report.registered, report.already_registered) == (1, 0)
    assert sim.state.completions[key]["completed"] is True


@pytest.mark.parametrize("version", ["2.36.13.2", "2.40.4.1"])
def test_refused_forms_are_failed_with_dhis2_messages(make_client: Factory, version: str) -> None:
    sim, client = make_client(version)
    sim.state.locked_periods[RCH].add("202405")
    before = registered(sim, "202405")
    fresh = [ou for ou in facilities(sim) if ou not in before][:3]
    done = sorted(before)[:2]
    assert len(fresh) == 3 and len(done) == 2
    targets = [(ou, "202405") for ou in fresh + done]
    report = mark_complete(client, data_set=RCH, targets=targets)
    assert (report.failed, report.already_registered, report.registered) == (3, 2, 0)
    assert {f for f, o in report.outcomes.items() if o == "failed"} == {
        (ou, "202405") for ou in fresh
    }
    assert any("past expiry days for period 202405" in m for m in report.messages)
    assert registered(sim, "202405") == before


def test_mark_incomplete_removes_registrations(make_client: Factory) -> None:
    sim, client = make_client()
    period = "202406"
    before = registered(sim, period)
    ous = facilities(sim)
    report = mark_incomplete(client, data_set=RCH, targets=[(ou, period) for ou in ous])
    assert report.unregistered == len(before)
    assert report.not_registered == len(set(ous) - before)
    assert report.failed == 0
    assert registered(sim, period) == set()
    assert registered(sim, "202405")  # other periods untouched


def test_a_request_failure_fails_its_batch_with_the_message() -> None:
    api = "http://dhis.test/api"
    with respx.mock(base_url=api, assert_all_called=True) as mock:
        mock.get("/completeDataSetRegistrations").respond(json={"completeDataSetRegistrations": []})
        mock.post("/completeDataSetRegistrations").respond(
            403,
            json=load_sample("webmessage-403-forbidden.docs-2.40.json"),
        )
        with Client("http://dhis.test", BasicAuth("marker", "s3cret-pass")) as client:
            report = mark_complete(
                client, data_set=RCH, targets=[("ouAAAAAAAAA", "202401"), ("ouBBBBBBBBB", "202401")]
            )
    assert (report.failed, report.registered) == (2, 0)
    assert "HTTP 403" in report.messages[0]
