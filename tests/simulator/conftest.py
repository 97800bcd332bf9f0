"""Fixtures for the simulator tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from simulator import Simulator
from tests.simulator.helpers import TODAY, client_for


@pytest.fixture
def make_sim() -> Callable[..., Simulator]:
    def factory(version: str = "2.40.4.1", dataset: str = "demo-source", **kw: Any) -> Simulator:
        options = {"today": TODAY, **kw.pop("dataset_options", {})}
        kw.setdefault("tracker_job_delay", 0.05)
        return Simulator(version, dataset, dataset_options=options, **kw)

    return factory


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim()


@pytest.fixture
def client(sim: Simulator) -> Iterator[httpx.Client]:
    with client_for(sim) as c:
        yield c
