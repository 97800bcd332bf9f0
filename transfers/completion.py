"""Registering data set completeness on the destination (`/api/completeDataSetRegistrations`).

After the import, one registration per (destination org unit, period, attribute option combo)
that received at least one stored value, so the destination's reporting-rate reports count the
forms as complete. The body shape is `{"completeDataSetRegistrations": [{dataSet, period,
organisationUnit, attributeOptionCombo, completed}]}` and the answer an ImportSummary with the
same envelopes as data values (bare ≤2.37, WebMessage + 409 on WARNING/ERROR in 2.38+;
reference §6). Registering twice is harmless: DHIS2 updates the existing registration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dhis2.errors import Dhis2Error
from dhis2.imports import parse_data_import_summary

from .conflicts import ConflictLog

if TYPE_CHECKING:
    from dhis2.client import Client

__all__ = ["CompletionResult", "register_completeness"]


@dataclass
class CompletionResult:
    requested: int = 0
    registered: int = 0
    conflicts: int = 0
    failed_requests: int = 0


def _registration(data_set: str, key: tuple[str, str, str | None]) -> dict[str, Any]:
    org_unit, period, aoc = key
    body: dict[str, Any] = {
        "dataSet": data_set,
        "period": period,
        "organisationUnit": org_unit,
    }
    if aoc:
        body["attributeOptionCombo"] = aoc
    body["completed"] = True
    return body


def register_completeness(
    client: Client,
    *,
    data_set: str,
    targets: Iterable[tuple[str, str, str | None]],
    id_scheme: str,
    batch_size: int,
    conflicts: ConflictLog,
    on_batch: Callable[[int, int], None] | None = None,
) -> CompletionResult:
    """Post registrations for `targets` = (org unit, period, attribute option combo) in
    destination identifiers. Counts `imported + updated` as registered. A failed request is
    reported as a conflict for its registrations; it does not stop the others.

    `on_batch(done, total)` is called before every request: the engine's heartbeat (what it
    raises, a cancellation, propagates)."""
    result = CompletionResult()
    ordered = sorted(set(targets), key=lambda t: (t[1], t[0], t[2] or ""))
    params: dict[str, Any] = {"importStrategy": "CREATE_AND_UPDATE"}
    if id_scheme != "UID":
        params["idScheme"] = id_scheme
        params["dataSetIdScheme"] = "UID"
    for start in range(0, len(ordered), max(1, batch_size)):
        if on_batch is not None:
            on_batch(start, len(ordered))
        batch = [_registration(data_set, key) for key in ordered[start : start + batch_size]]
        result.requested += len(batch)
        shown = [_shown(r) for r in batch]
        try:
            response = client.post_json(
                "completeDataSetRegistrations",
                {"completeDataSetRegistrations": batch},
                params=params,
            )
            summary = parse_data_import_summary(response.body)
        except Dhis2Error as exc:
            result.failed_requests += 1
            result.conflicts += len(batch)
            conflicts.add(
                error_code=exc.error_code,
                message=f"Could not register completeness: {exc}",
                object=None,
                property=None,
                values=shown,
                kind="completeness",
            )
            continue
        result.registered += summary.imported + summary.updated
        if summary.status == "ERROR" and not summary.conflicts:
            result.conflicts += len(batch)
            conflicts.add(
                error_code=None,
                message=summary.description or "DHIS2 refused the completeness registrations.",
                object=None,
                property=None,
                values=shown,
                kind="completeness",
            )
        for conflict in summary.conflicts:
            result.conflicts += 1
            rows = [i for i in conflict.indexes if 0 <= i < len(batch)]
            if not rows and conflict.object:
                rows = [i for i, r in enumerate(shown) if conflict.object in r.values()]
            conflicts.add(
                error_code=conflict.error_code,
                message=conflict.value or "Completeness registration conflict.",
                object=conflict.object,
                property=conflict.property,
                values=[shown[i] for i in rows],
                kind="completeness",
            )
    return result


def _shown(registration: dict[str, Any]) -> dict[str, Any]:
    return {
        "dataSet": registration["dataSet"],
        "period": registration["period"],
        "orgUnit": registration["organisationUnit"],
        "attributeOptionCombo": registration.get("attributeOptionCombo"),
    }
