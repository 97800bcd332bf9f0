"""Fault injection (in-process and served), served mode, concurrency, inspection endpoints."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from simulator import Faults, Simulator
from tests.simulator.helpers import ANC1, FAC, client_for


def _value(pe: str = "202405", value: str = "5") -> dict[str, object]:
    return {"dataValues": [{"dataElement": ANC1, "period": pe, "orgUnit": FAC, "value": value}]}


def _statuses(sim: Simulator, n: int = 40) -> list[int]:
    with client_for(sim) as c:
        return [
            c.post("/api/dataValueSets", json=_value(value=str(i + 1))).status_code
            for i in range(n)
        ]


def test_error_rate_is_deterministic_and_html(make_sim: Callable[..., Simulator]) -> None:
    runs = []
    for _ in range(2):
        sim = make_sim(dataset="demo-destination", faults=Faults(error_rate=0.3, seed=7))
        runs.append(_statuses(sim))
    assert runs[0] == runs[1]
    failures = [s for s in runs[0] if s != 200]
    assert failures and set(failures) <= {502, 503} and len(failures) < 30
    sim = make_sim(dataset="demo-destination", faults=Faults(error_rate=1.0))
    with client_for(sim) as c:
        r = c.post("/api/dataValueSets", json=_value())
        assert r.headers["content-type"] == "text/html" and b"nginx" in r.content
        assert c.get("/api/system/info").status_code == 200  # GET not faulted by default
    assert sim.data_values() == []
    assert sim.request_log[0].fault is not None


def test_methods_all_and_runtime_switch(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim()
    with client_for(sim) as c:
        assert c.get("/api/system/ping").status_code == 200
        sim.set_faults(Faults(error_rate=1.0, methods={"*"}))
        assert c.get("/api/system/ping").status_code in (502, 503)
        sim.set_faults(error_rate=0.0)
        assert c.get("/api/system/ping").status_code == 200


def test_reset_raises_httpx_error_in_process(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(dataset="demo-destination", faults=Faults(reset_rate=1.0))
    with client_for(sim) as c, pytest.raises(httpx.ReadError):
        c.post("/api/dataValueSets", json=_value())
    assert sim.data_values() == []
    assert sim.request_log[-1].fault == "reset"


def test_payload_limit_answers_504_and_imports_nothing(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(
        dataset="demo-destination", faults=Faults(max_payload_bytes=200, payload_timeout_delay=0.05)
    )
    big = {
        "dataValues": [
            {"dataElement": ANC1, "period": p, "orgUnit": FAC, "value": "3"}
            for p in ("202401", "202402", "202403", "202404")
        ]
    }
    with client_for(sim) as c:
        started = time.perf_counter()
        r = c.post("/api/dataValueSets", json=big)
        assert time.perf_counter() - started >= 0.05
        assert r.status_code == 504 and b"<title>504 Gateway Time-out</title>" in r.content
        assert r.headers["content-type"] == "text/html"
        assert sim.data_values() == []
        assert c.post("/api/dataValueSets", json=_value()).status_code == 200
    assert len(sim.data_values()) == 1
    assert [e.status for e in sim.requests("POST")] == [504, 200]
    assert sim.requests("POST")[0].bytes > 200


def test_latency_and_slow_import(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(dataset="demo-destination", faults=Faults(latency_ms=60))
    with client_for(sim) as c:
        started = time.perf_counter()
        c.get("/api/system/ping")
        assert time.perf_counter() - started >= 0.06
        sim.set_faults(Faults(slow_import_ms_per_1000_values=50_000))
        started = time.perf_counter()
        c.post("/api/dataValueSets", json=_value())
        assert time.perf_counter() - started >= 0.05


def test_served_mode_concurrent_clients(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(dataset="demo-destination")
    periods = [f"2024{m:02d}" for m in range(1, 4)]
    with sim.serve() as server:
        assert server.url.startswith("http://127.0.0.1:")

        def worker(i: int) -> int:
            with httpx.Client(base_url=server.url, auth=("admin", "district")) as c:
                codes = []
                for pe in periods:
                    codes.append(
                        c.post("/api/dataValueSets", json=_value(pe, str(i + 1))).status_code
                    )
                    codes.append(c.get("/api/system/info").status_code)
                return max(codes)

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert set(pool.map(worker, range(12))) == {200}
        assert len(sim.data_values()) == len(periods)  # same keys: updated, not duplicated
        assert len(sim.requests("POST", "dataValueSets")) == 12 * len(periods)
        with httpx.Client(base_url=server.url) as c:
            state = c.get("/__sim__/state").json()
            assert state["dataValues"] == len(periods)
            assert (
                c.post("/__sim__/faults", json={"error_rate": 1.0, "methods": ["*"]}).json()[
                    "error_rate"
                ]
                == 1.0
            )
            assert c.get("/api/system/ping").status_code in (502, 503)
            assert c.get("/__sim__/faults").json()["methods"] == ["*"]
            c.post("/__sim__/faults", json={})
            assert c.get("/api/me").status_code == 302  # no credentials: login redirect
            assert c.post("/__sim__/reset").json() == {"status": "OK"}
            assert c.get("/__sim__/state").json()["dataValues"] == 0


def test_served_reset_fault_drops_connection(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(faults=Faults(reset_rate=1.0))
    with (
        sim.serve() as server,
        httpx.Client(base_url=server.url, auth=("admin", "district")) as c,
        pytest.raises(httpx.TransportError),
    ):
        c.post("/api/dataValueSets", json=_value())


def test_served_mode_thread_safety_of_state(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(dataset="demo-destination")
    errors: list[BaseException] = []

    def hammer(n: int) -> None:
        try:
            with client_for(sim) as c:
                for k in range(5):
                    c.post("/api/dataValueSets", json=_value(f"2024{k + 1:02d}", str(n + 1)))
                    c.get(
                        "/api/dataValueSets",
                        params={"dataElement": ANC1, "period": "202401", "orgUnit": FAC},
                    )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(sim.data_values()) == 5
