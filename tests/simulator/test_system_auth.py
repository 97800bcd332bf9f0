"""System endpoints and authentication."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from simulator import Simulator
from tests.samples import load_sample
from tests.simulator.helpers import assert_shape, client_for

INFO_SAMPLES = {
    "2.36.13.2": "system-info-2.36.13.2.json",
    "2.37.9.1": "system-info-2.37.9.1.json",
    "2.38.7": "system-info-2.38.7.json",
    "2.39.5": "system-info-2.39.5.json",
    "2.40.4.1": "system-info-2.40.4.1.json",
    "2.41.0.1": "system-info-2.41.0.1.json",
}


@pytest.mark.parametrize(("version", "sample"), sorted(INFO_SAMPLES.items()))
def test_system_info_matches_recorded_sample(
    make_sim: Callable[..., Simulator], version: str, sample: str
) -> None:
    sim = make_sim(version)
    with client_for(sim) as c:
        r = c.get("/api/system/info")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    expected = load_sample(sample)
    assert_shape(body, expected)
    assert list(body) == list(expected)  # same key order as the recording
    assert body["version"] == version
    assert body["contextPath"] == "http://sim.local"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", body["serverDate"])


def test_system_info_context_path_and_fields(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(context_path="/dhis")
    with client_for(sim) as c:
        body = c.get("/dhis/api/system/info", params={"fields": "version,revision"}).json()
        assert body == {"version": "2.40.4.1", "revision": "a1aa81b"}
        assert c.get("/dhis/api/system/info").json()["contextPath"] == "http://sim.local/dhis"
        assert c.get("/api/system/info").status_code == 404


def test_ping_id_and_me(client: httpx.Client) -> None:
    r = client.get("/api/system/ping")
    assert r.text == "pong" and r.headers["content-type"].startswith("text/plain")
    codes = client.get("/api/system/id", params={"limit": 5}).json()["codes"]
    assert len(codes) == 5 and all(re.fullmatch(r"[a-zA-Z][a-zA-Z0-9]{10}", c) for c in codes)
    me = client.get("/api/me").json()
    assert me["username"] == "admin" and "ALL" in me["authorities"]
    assert me["organisationUnits"] and set(me) >= {"id", "name", "authorities"}


def test_versioned_api_path_and_json_suffix(client: httpx.Client) -> None:
    assert client.get("/api/40/system/info.json").json()["version"] == "2.40.4.1"


def test_bad_basic_credentials_get_401_json(client: httpx.Client) -> None:
    r = client.get("/api/me", auth=("admin", "wrong"))
    assert r.status_code == 401
    assert r.json() == {
        "httpStatus": "Unauthorized",
        "httpStatusCode": 401,
        "status": "ERROR",
        "message": "Unauthorized",
    }


def test_no_credentials_redirects_to_login_unless_xhr(sim: Simulator) -> None:
    with client_for(sim, auth=None) as c:
        r = c.get("/api/me")
        assert r.status_code == 302
        assert r.headers["location"].endswith("/dhis-web-commons/security/login.action")
        r = c.get("/api/me", headers={"X-Requested-With": "XMLHttpRequest"})
        assert r.status_code == 401 and r.json()["httpStatusCode"] == 401


def test_personal_access_token_from_237(make_sim: Callable[..., Simulator]) -> None:
    token = Simulator.DEFAULT_TOKEN
    assert re.fullmatch(r"d2pat_[A-Za-z0-9]{32}\d{10}", token)
    headers = {"Authorization": f"ApiToken {token}"}
    with client_for(make_sim("2.37.9.1"), auth=None) as c:
        assert c.get("/api/me", headers=headers).json()["username"] == "admin"
        bad = {"Authorization": "ApiToken d2pat_" + "x" * 32 + "0" * 10}
        assert c.get("/api/me", headers=bad).status_code == 401
    with client_for(make_sim("2.36.13.2"), auth=None) as c:
        # 2.36 knows no tokens: the request counts as unauthenticated
        assert c.get("/api/me", headers=headers).status_code == 302


def test_unknown_api_path_is_404(client: httpx.Client) -> None:
    r = client.get("/api/noSuchThing")
    assert r.status_code == 404 and r.json()["httpStatusCode"] == 404


def test_user_without_authority_gets_403(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(
        users={"viewer": {"password": "Viewer123", "authorities": [], "metadata_read": False}}
    )
    with client_for(sim, auth=("viewer", "Viewer123")) as c:
        r = c.post("/api/dataValueSets", json={"dataValues": []})
        assert r.status_code == 403
        assert r.json()["httpStatus"] == "Forbidden" and r.json()["status"] == "ERROR"
        r = c.get("/api/dataSets")
        assert r.status_code == 403
        assert_shape(r.json(), load_sample("webmessage-403-forbidden.docs-2.40.json"))
        assert (
            r.json()["message"] == load_sample("webmessage-403-forbidden.docs-2.40.json")["message"]
        )
