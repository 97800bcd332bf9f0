"""A batch the destination's proxy gives up on (504/413) is sent in halves, never resent whole."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from dhis2.client import Client
from tracker.write import BatchFailed, BatchTooLarge, LegacyWriter, send_in_parts

from .conftest import API

EVENTS = [{"event": f"EVENT{i:06d}", "program": "P", "orgUnit": "O"} for i in range(5)]


def summaries(events: list[dict]) -> dict:
    """A bare 2.36 ImportSummaries answer storing every event (shape of the fixture
    events-legacy-post-409-importSummaries-error.android-fixture.json)."""
    return {
        "responseType": "ImportSummaries",
        "status": "SUCCESS",
        "imported": len(events),
        "updated": 0,
        "deleted": 0,
        "ignored": 0,
        "importSummaries": [
            {
                "responseType": "ImportSummary",
                "status": "SUCCESS",
                "reference": e["event"],
                "importCount": {"imported": 1, "updated": 0, "ignored": 0, "deleted": 0},
            }
            for e in events
        ],
    }


def proxy_with_limit(limit: int, status: int = 504):
    """A destination whose proxy refuses bodies with more than `limit` events."""
    sizes: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        events = json.loads(request.content)["events"]
        sizes.append(len(events))
        if len(events) > limit:
            return httpx.Response(status, text="<html>Gateway Time-out</html>")
        return httpx.Response(200, json=summaries(events))

    return answer, sizes


@respx.mock
@pytest.mark.parametrize("status", [504, 413])
def test_a_refused_batch_is_split_in_halves_until_every_event_lands(
    client: Client, status: int
) -> None:
    answer, sizes = proxy_with_limit(2, status)
    respx.post(f"{API}/events").mock(side_effect=answer)
    splits: list[int] = []
    result = send_in_parts(LegacyWriter(client), EVENTS, on_split=splits.append)
    # 5 -> 2 + 3; 3 -> 1 + 2: each refused body sent once, never retried as it was.
    assert sizes == [5, 2, 3, 1, 2]
    assert splits == [5, 3]
    assert (result.sent, result.created, result.errors) == (5, 5, [])


@respx.mock
def test_a_single_event_still_refused_fails_the_batch(client: Client) -> None:
    answer, sizes = proxy_with_limit(0)
    respx.post(f"{API}/events").mock(side_effect=answer)
    with pytest.raises(BatchTooLarge):
        send_in_parts(LegacyWriter(client), EVENTS[:2])
    assert sizes == [2, 1]  # stops at the first single event that is refused


@respx.mock
def test_a_502_is_retried_not_split(client: Client) -> None:
    post = respx.post(f"{API}/events").mock(
        side_effect=[httpx.Response(502, text="bad gateway")] * 2
    )
    with pytest.raises(BatchFailed) as caught:
        send_in_parts(LegacyWriter(client), EVENTS)
    assert not isinstance(caught.value, BatchTooLarge)
    assert post.call_count == 2  # the client's two attempts (tests/tracker/conftest.py)
