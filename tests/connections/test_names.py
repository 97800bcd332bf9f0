"""The name lookup service: UIDs to names from the instance, cached, never failing a page."""

from __future__ import annotations

import httpx
import pytest
import respx
from django.core.cache import cache

from connections.names import names_across, names_for
from connections.services import test_connection as check_connection
from tests.conftest import saved_instance
from tests.simulated import SimulatedProfile, fresh_cache, sim_fixture  # noqa: F401 (fixtures)

UNKNOWN = "AbCdEfGhIj1"  # a valid UID that no demo instance holds


pytestmark = pytest.mark.usefixtures("fresh_cache")


def _requests(sim: SimulatedProfile, side: str = "source") -> int:
    return len((sim.source if side == "source" else sim.destination).request_log)


def test_names_of_mixed_types_come_from_the_instance(sim: SimulatedProfile) -> None:
    ous = sim.names("source", "organisationUnits")
    des = sim.names("source", "dataElements")
    dss = sim.names("source", "dataSets")
    cocs = sim.names("source", "categoryOptionCombos")
    ou, de, ds, coc = next(iter(ous)), next(iter(des)), "qfltXPJW0EB", list(cocs)[1]
    got = names_for(sim.profile.source, [ou, de, ds, coc, UNKNOWN, "not a uid", None, ou])
    assert got == {ou: ous[ou], de: des[de], ds: dss[ds], coc: cocs[coc], UNKNOWN: UNKNOWN}
    assert got[ds] == "RCH Monthly"


def test_names_are_cached_and_misses_too(sim: SimulatedProfile) -> None:
    ou = next(iter(sim.names("source", "organisationUnits")))
    names_for(sim.profile.source, [ou, UNKNOWN])
    asked = _requests(sim)
    assert asked > 0
    again = names_for(sim.profile.source, [ou, UNKNOWN])
    assert again[ou] != ou and again[UNKNOWN] == UNKNOWN
    assert _requests(sim) == asked  # both answered from the cache: no request at all


def test_lookup_stops_at_the_first_type_that_names_everything(sim: SimulatedProfile) -> None:
    ous = list(sim.names("source", "organisationUnits"))[:3]
    names_for(sim.profile.source, ous)
    paths = [e.path for e in sim.source.request_log]
    assert any("organisationUnits" in p for p in paths)
    assert not any("dataElements" in p for p in paths)


def test_an_unreachable_instance_falls_back_to_uids_and_is_left_alone(db) -> None:
    instance = saved_instance("Offline", "http://offline.dhis2.test", timeout=60)
    with respx.mock(assert_all_mocked=True) as router:
        route = router.route(host="offline.dhis2.test").mock(
            side_effect=httpx.ConnectError("connection refused")
        )
        assert names_for(instance, ["DhdSa1PzDOh"]) == {"DhdSa1PzDOh": "DhdSa1PzDOh"}
        calls = route.call_count
        assert calls >= 1
        assert names_for(instance, ["DhdSa1PzDOh"]) == {"DhdSa1PzDOh": "DhdSa1PzDOh"}
        assert route.call_count == calls  # down for DOWN_TTL: no second wait for the page


def test_a_failed_lookup_does_not_cache_misses(sim: SimulatedProfile) -> None:
    """Names unknown because the instance failed are asked again once it is back."""
    ou = next(iter(sim.names("source", "organisationUnits")))
    sim.router.routes.clear()
    sim.router.route(host="source.dhis2.test").mock(return_value=httpx.Response(503))
    assert names_for(sim.profile.source, [ou]) == {ou: ou}
    cache.delete(f"dhis2names:{sim.profile.source.pk}:down")
    sim.router.routes.clear()
    sim.router.route(host="source.dhis2.test").mock(
        side_effect=sim.source.transport().handle_request
    )
    assert names_for(sim.profile.source, [ou])[ou] == sim.names("source", "organisationUnits")[ou]


def test_names_across_falls_back_to_the_next_instance(sim: SimulatedProfile) -> None:
    source_only = set(sim.names("source", "organisationUnits")) - set(
        sim.names("destination", "organisationUnits")
    )
    (ou,) = source_only
    shared = "DhdSa1PzDOh"
    got = names_across([sim.profile.destination, sim.profile.source], [ou, shared, UNKNOWN])
    assert got == {
        ou: sim.names("source", "organisationUnits")[ou],
        shared: sim.names("destination", "organisationUnits")[shared],
        UNKNOWN: UNKNOWN,
    }


def test_connection_test_records_latency(sim: SimulatedProfile) -> None:
    result = check_connection(sim.profile.source)
    assert result.ok and isinstance(result.latency_ms, int) and result.latency_ms >= 0
    sim.profile.source.refresh_from_db()
    assert sim.profile.source.last_check_latency_ms == result.latency_ms


def test_a_failed_connection_test_has_no_latency(db) -> None:
    instance = saved_instance("Offline", "http://offline.dhis2.test", timeout=60)
    with respx.mock(assert_all_mocked=True) as router:
        router.route(host="offline.dhis2.test").mock(side_effect=httpx.ConnectError("refused"))
        assert not check_connection(instance).ok
    instance.refresh_from_db()
    assert instance.last_check_latency_ms is None
