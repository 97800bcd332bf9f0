"""Helpers for the simulator tests: shape comparison, clients, waiting for async jobs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from simulator import Simulator
from simulator.datasets import DEMO

T = TypeVar("T")
TODAY = "2024-07-15"
VERSIONS = ["2.36.13.2", "2.37.9.1", "2.38.7", "2.39.5", "2.40.4.1", "2.41.0.1", "2.42.1"]

# The demo data set's objects the simulator tests name, looked up once by display name.
RCH = DEMO["dataSets"]["RCH Monthly"]
ROOT = DEMO["organisationUnits"]["Demoland"]
NORTH = DEMO["organisationUnits"]["Northern Region"]
FAC = DEMO["organisationUnits"]["Kolo District Hospital"]
FAC2 = DEMO["organisationUnits"]["Kolo Clinic"]
ANC1 = DEMO["dataElements"]["ANC 1st visit"]
BCG = DEMO["dataElements"]["BCG doses given"]
MAL = DEMO["dataElements"]["Malaria cases confirmed"]
BED = DEMO["dataElements"]["Bed occupancy rate"]
ELEC = DEMO["dataElements"]["Facility has electricity"]
STAFF = DEMO["dataElements"]["Staff on duty"]
PROGRAM = DEMO["programs"]["Malaria case register"]
STAGE = DEMO["programStages"]["Malaria case"]
AGE = DEMO["dataElements"]["Patient age in years"]
ACT = DEMO["dataElements"]["Treated with ACT"]


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


def assert_shape(actual: Any, sample: Any, path: str = "$", ignore: tuple[str, ...] = ()) -> None:
    """Assert ``actual`` has the key structure and value types of ``sample``, recursively.

    Dicts must have exactly the sample's keys (except ``ignore``d key names); lists compare
    their first element when both are non-empty.
    """
    assert _kind(actual) == _kind(sample), f"{path}: {_kind(actual)} != {_kind(sample)}"
    if isinstance(sample, dict):
        want = {k for k in sample if k not in ignore}
        got = {k for k in actual if k not in ignore}
        assert got == want, f"{path}: missing {sorted(want - got)}, extra {sorted(got - want)}"
        for key in want:
            assert_shape(actual[key], sample[key], f"{path}.{key}", ignore)
    elif isinstance(sample, list) and sample and actual:
        assert_shape(actual[0], sample[0], f"{path}[0]", ignore)


def client_for(sim: Simulator, auth: Any = ("admin", "district"), **kw: Any) -> httpx.Client:
    return httpx.Client(transport=sim.transport(), base_url="http://sim.local", auth=auth, **kw)


def poll_until(fetch: Callable[[], T | None], what: str, *, attempts: int) -> T:
    """Call `fetch` every 10 ms until it returns something: the simulator runs its async jobs
    on a timer, so a test polls as a client would. `what` names the wait in the failure."""
    for _ in range(attempts):
        result = fetch()
        if result is not None:
            return result
        time.sleep(0.01)
    raise AssertionError(f"{what} did not finish")
