"""Walking the org unit selection: paging, levels, assigned units, unknown roots."""

from __future__ import annotations

from collections.abc import Callable

import respx

from completeness.hierarchy import OrgUnit, walk_org_units
from dhis2.auth import BasicAuth
from dhis2.client import Client
from simulator import Simulator
from simulator.datasets import DEMO
from tests.samples import load_sample

ROOT = DEMO["organisationUnits"]["Demoland"]
Factory = Callable[..., tuple[Simulator, Client]]


def test_units_parse_from_a_real_listing() -> None:
    # openhexa recording of DHIS2 2.40 (tests/fixtures/dhis2/README.md)
    body = load_sample("organisationUnits-list-fields-level-path-geometry-2.40.truncated.json")
    units = [OrgUnit.from_dhis2(raw) for raw in body["organisationUnits"]]
    assert [(u.id, u.level) for u in units] == [
        ("ImspTQPwCqd", 1), ("C9uduqDZr9d", 3), ("TEVtOFKcLAP", 4), ("VH8vOjm0l8w", 4),
    ]  # fmt: skip
    assert units[2].ancestors == ("ImspTQPwCqd", "lc3eMKXaEfw", "VP397wRvePm")
    assert OrgUnit.from_dhis2({"id": "abcdefghijk"}).level == 1  # from the path when absent


def test_walk_pages_through_every_descendant(make_client: Factory) -> None:
    for version in ("2.36.13.2", "2.41.0.1"):
        sim, client = make_client(version)
        selection = walk_org_units(client, roots=[ROOT], include_descendants=True, page_size=7)
        assert set(selection.units) == set(sim.state.descendants(ROOT))
        assert selection.assessed == sorted(
            sim.state.descendants(ROOT),
            key=lambda u: sim.state.objects["organisationUnits"][u]["path"],
        )
        pages = [
            e for e in sim.state.request_log
            if e.path.endswith("/organisationUnits") and "path:like:" + ROOT in e.params.get("filter", [""])[0]
        ]  # fmt: skip
        assert len(pages) == -(-len(sim.state.descendants(ROOT)) // 7)


def test_level_and_assigned_filters(make_client: Factory) -> None:
    sim, client = make_client()
    ous = sim.state.objects["organisationUnits"]
    region = DEMO["organisationUnits"]["Northern Region"]
    below = sim.state.descendants(region)
    districts = [u for u in below if ous[u]["level"] == 3]
    selection = walk_org_units(client, roots=[region], include_descendants=True, level=3)
    assert sorted(selection.assessed) == sorted(districts)
    assert set(selection.units) == set(below)  # names of every unit kept for roll-ups
    facility = next(u for u in below if ous[u]["level"] == 4)
    only = walk_org_units(
        client, roots=[region], include_descendants=True, assigned={facility, "zzzzzzzzzzz"}
    )
    assert only.assessed == [facility]


def test_without_descendants_only_the_roots_and_unknown_ones_reported() -> None:
    api = "http://dhis.test/api"
    with respx.mock(base_url=api, assert_all_called=True) as mock:
        route = mock.get("/organisationUnits").respond(
            json={
                "pager": {"page": 1, "total": 1, "pageSize": 1000, "pageCount": 1},
                "organisationUnits": [
                    {
                        "id": "ouAAAAAAAAA",
                        "name": "A",
                        "level": 2,
                        "path": "/rootAAAAAAA/ouAAAAAAAAA",
                    }
                ],
            }
        )
        with Client("http://dhis.test", BasicAuth("u", "p")) as client:
            selection = walk_org_units(
                client, roots=["ouAAAAAAAAA", "ouZZZZZZZZZ"], include_descendants=False
            )
        sent = route.calls.last.request.url.params.get_list("filter")
    assert selection.assessed == ["ouAAAAAAAAA"]
    assert selection.missing_roots == ["ouZZZZZZZZZ"]
    assert sent == ["id:in:[ouAAAAAAAAA,ouZZZZZZZZZ]"]
