"""Version parsing and ordering, against every recorded /api/system/info sample."""

from __future__ import annotations

import httpx
import pytest
import respx

from dhis2.client import Client
from dhis2.errors import NotDhis2
from dhis2.version import Version
from tests.samples import FIXTURES

from .conftest import API, load

SYSTEM_INFO_SAMPLES = {
    "system-info-2.36.13.2.json": ("2.36.13.2", 36, 13, 2),
    "system-info-2.37.9.1.json": ("2.37.9.1", 37, 9, 1),
    "system-info-2.38.7.json": ("2.38.7", 38, 7, 0),
    "system-info-2.39.5.json": ("2.39.5", 39, 5, 0),
    "system-info-2.40.4.1.json": ("2.40.4.1", 40, 4, 1),
    "system-info-2.41.0.1.json": ("2.41.0.1", 41, 0, 1),
}


def test_every_system_info_sample_is_listed() -> None:
    on_disk = {p.name for p in FIXTURES.glob("system-info-*.json")}
    assert on_disk == set(SYSTEM_INFO_SAMPLES)


@pytest.mark.parametrize(("name", "expected"), sorted(SYSTEM_INFO_SAMPLES.items()))
def test_client_version_from_each_sample(
    client: Client, name: str, expected: tuple[str, int, int, int]
) -> None:
    raw, major, minor, patch = expected
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        route = mock.get("/system/info").respond(json=load(name))
        version = client.version
        assert client.version is version  # cached
    assert route.call_count == 1
    assert str(version) == raw
    assert (version.major, version.minor, version.patch, version.snapshot) == (
        major,
        minor,
        patch,
        False,
    )
    assert version.wraps_import_summaries is (major >= 38)


def test_sample_versions_sort_in_release_order() -> None:
    versions = [Version(load(name)["version"]) for name in SYSTEM_INFO_SAMPLES]
    shuffled = [versions[i] for i in (3, 0, 5, 1, 4, 2)]
    assert sorted(shuffled) == versions
    assert [v.major for v in sorted(shuffled)] == [36, 37, 38, 39, 40, 41]


def test_snapshot_and_short_versions() -> None:
    snap = Version.parse("2.41-SNAPSHOT")
    assert (snap.major, snap.minor, snap.patch, snap.snapshot, snap.raw) == (
        41,
        0,
        0,
        True,
        "2.41-SNAPSHOT",
    )
    assert str(snap) == "2.41-SNAPSHOT"
    assert Version("2.40.4.1") < snap < Version("2.41.0") < Version("2.41.0.1")
    assert snap.wraps_import_summaries and snap.major >= 41
    v42 = Version("2.42.0")
    assert (v42.major, v42.minor, v42.patch, v42.snapshot) == (42, 0, 0, False)
    assert v42 > "2.41.0.1"
    assert v42.has_legacy_events_api is False
    assert Version("2.41.3").has_legacy_events_api is True
    v39 = Version("2.39")
    assert (v39.major, v39.minor, v39.patch) == (39, 0, 0)


def test_comparison_with_strings_and_equality() -> None:
    v = Version("2.38.7")
    assert v >= "2.38"
    assert v > "2.38.6"
    assert v < "2.39"
    assert v <= "2.38.7"
    assert "2.38" <= v  # noqa: SIM300 - the reflected operator is what is tested
    assert Version("2.40") == Version("2.40.0") == "2.40.0.0"
    assert hash(Version("2.40")) == hash(Version("2.40.0"))
    assert len({Version("2.40"), Version("2.40.0"), Version("2.40.1")}) == 2
    assert Version("2.40.10") > Version("2.40.9")
    assert (v == "garbage") is False
    assert v != Version("2.38.8")
    with pytest.raises(ValueError, match="Not a DHIS2 version"):
        _ = v < "garbage"


@pytest.mark.parametrize("garbage", ["", "2", "abc", "2.x", "version 2.40", "2..40", "2.40."])
def test_garbage_is_rejected_with_an_example(garbage: str) -> None:
    with pytest.raises(ValueError, match=r"Not a DHIS2 version.*2\.40\.4\.1"):
        Version.parse(garbage)


def test_non_string_is_rejected() -> None:
    with pytest.raises(ValueError, match="must be text"):
        Version(240)  # type: ignore[arg-type]


def test_feature_switches() -> None:
    assert Version("2.39.1").reports_rejected_indexes is False
    assert Version("2.39.2").reports_rejected_indexes is True
    assert Version("2.40.0").reports_rejected_indexes is False
    assert Version("2.40.1").reports_rejected_indexes is True
    assert Version("2.41.0").reports_rejected_indexes is True
    assert Version("2.36.13.2").supports_api_tokens is False
    assert Version("2.37.9.1").supports_api_tokens is True
    assert Version("2.40.4.1").tracker_lists_use_instances_key is True
    assert Version("2.41.0.1").tracker_lists_use_instances_key is False
    assert Version("2.37.9.1").wraps_import_summaries is False


@pytest.mark.parametrize(
    "info",
    [{"systemName": "x"}, {"version": "unknown"}, {"version": 240}, ["not", "an", "object"]],
)
def test_missing_or_odd_version_is_not_dhis2(client: Client, info: object) -> None:
    with respx.mock(base_url=API) as mock:
        mock.get("/system/info").mock(return_value=httpx.Response(200, json=info))
        with pytest.raises(NotDhis2, match="check the base URL"):
            _ = client.version
