"""Base URL normalisation and API URL building."""

from __future__ import annotations

import pytest

from dhis2.client import Client
from dhis2.urls import normalize_base_url, same_origin_prefix, strip_userinfo


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        ("https://play.dhis2.org", "https://play.dhis2.org"),
        ("https://play.dhis2.org/", "https://play.dhis2.org"),
        ("https://host.org/dhis", "https://host.org/dhis"),
        ("https://host.org/dhis/", "https://host.org/dhis"),
        ("https://host.org/dhis/api", "https://host.org/dhis"),
        ("https://host.org/dhis/api/", "https://host.org/dhis"),
        ("https://host.org/api", "https://host.org"),
        ("https://host.org/api/40/", "https://host.org"),
        ("  HTTPS://Host.ORG:8443/dhis2//  ", "https://host.org:8443/dhis2"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("https://host.org/dhis/?foo=bar#frag", "https://host.org/dhis"),
        ("http://[::1]:8080/dhis", "http://[::1]:8080/dhis"),
    ],
)
def test_normalize_base_url(pasted: str, expected: str) -> None:
    assert normalize_base_url(pasted) == expected


def test_api_suffix_only_stripped_at_the_end() -> None:
    # A context path that merely contains "api" is kept.
    assert (
        normalize_base_url("https://host.org/api-gateway/dhis")
        == "https://host.org/api-gateway/dhis"
    )
    assert normalize_base_url("https://host.org/apis") == "https://host.org/apis"


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "host.org/dhis", "ftp://host.org", "https://", "localhost:8080", "https://h:99999"],
)
def test_invalid_base_url_is_rejected_with_an_example(bad: str) -> None:
    with pytest.raises(ValueError, match=r"https://dhis2\.example\.org"):
        normalize_base_url(bad)


def test_missing_scheme_suggests_https() -> None:
    with pytest.raises(ValueError, match=r"Did you mean https://dhis\.example\.org/dhis"):
        normalize_base_url("dhis.example.org/dhis/")


def test_credentials_in_url_are_rejected_without_echoing_them() -> None:
    with pytest.raises(ValueError) as info:
        normalize_base_url("https://admin:district123@host.org/dhis")
    assert "district123" not in str(info.value)
    assert "credentials" in str(info.value)


def test_client_rejects_invalid_url() -> None:
    with pytest.raises(ValueError, match="http:// or https://"):
        Client("dhis.example.org", None)


@pytest.mark.parametrize(
    "path",
    [
        "dataValueSets",
        "/dataValueSets",
        "api/dataValueSets",
        "/api/dataValueSets",
        " /api/dataValueSets ",
    ],
)
def test_api_url_accepts_path_variants(path: str) -> None:
    with Client("https://host.org/dhis/api/", None) as client:
        assert client.base_url == "https://host.org/dhis"
        assert client.api_url(path) == "https://host.org/dhis/api/dataValueSets"


def test_api_url_root_and_nested() -> None:
    with Client("https://host.org", None) as client:
        assert client.api_url("") == "https://host.org/api"
        assert client.api_url("/api") == "https://host.org/api"
        assert client.api_url("system/info") == "https://host.org/api/system/info"
        # Resources whose name starts with "api" are not mangled.
        assert client.api_url("apiToken") == "https://host.org/api/apiToken"


def test_api_url_accepts_absolute_url_only_under_base() -> None:
    with Client("https://host.org/dhis", None) as client:
        same = "https://host.org/dhis/api/tracker/jobs/abc"
        assert client.api_url(same) == same
        with pytest.raises(ValueError, match="Refusing to send credentials"):
            client.api_url("https://play.dhis2.org/dev/api/tracker/jobs/abc")
        with pytest.raises(ValueError, match="Refusing"):
            client.api_url("https://host.org/other/api/x")


def test_strip_userinfo() -> None:
    assert strip_userinfo("https://u:p@h.org/x?y=1") == "https://h.org/x?y=1"
    assert strip_userinfo("https://h.org/x") == "https://h.org/x"
    assert strip_userinfo("https://h.org/x?email=a@b.org") == "https://h.org/x?email=a@b.org"


def test_same_origin_prefix() -> None:
    assert same_origin_prefix("https://h.org/dhis/api/x", "https://h.org/dhis")
    assert not same_origin_prefix("https://h.org/dhis2/api/x", "https://h.org/dhis")
    assert not same_origin_prefix("http://h.org/dhis/api/x", "https://h.org/dhis")
    assert same_origin_prefix("https://h.org/api/x", "https://h.org")
