"""Shared pieces of the handlers: the request context, import options and envelopes."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, wraps
from typing import TYPE_CHECKING, Any, TypeVar

from dhis2.periods import Period, PeriodError, parse_period
from simulator.auth import User, forbidden
from simulator.http import SimRequest, SimResponse, error_response, json_response, web_message
from simulator.versions import Version

if TYPE_CHECKING:
    from simulator.core import Simulator

IMPORT_STRATEGIES = {
    "CREATE": "CREATE",
    "NEW": "CREATE",
    "UPDATE": "UPDATE",
    "UPDATES": "UPDATE",
    "CREATE_AND_UPDATE": "CREATE_AND_UPDATE",
    "NEW_AND_UPDATES": "CREATE_AND_UPDATE",
    "DELETE": "DELETE",
    "DELETES": "DELETE",
}


@lru_cache(maxsize=65536)
def period_or_none(period_id: str) -> Period | None:
    """The period of a DHIS2 id, or ``None`` where DHIS2 would answer "Period not valid".

    Handlers test every id of an import or a query, so this wraps :func:`dhis2.periods.parse_period`
    (which raises) and caches it: an import of 100k values names only a handful of periods.
    The period's ``id`` is canonical (``2024-01`` -> ``202401``), as DHIS2 stores it.
    """
    try:
        return parse_period(period_id)
    except PeriodError:
        return None


@dataclass
class Ctx:
    """Everything a handler needs about the current request."""

    sim: Simulator
    request: SimRequest
    user: User
    version: Version
    api_version: int | None
    path: str
    groups: dict[str, str] = field(default_factory=dict)

    @property
    def state(self) -> Any:
        return self.sim.state

    @property
    def base_url(self) -> str:
        return self.request.base_url + self.sim.context_path


def not_found(ctx: Ctx, klass_simple: str, uid: str) -> SimResponse:
    """``NotFoundException``: ``<Type> with id <uid> could not be found.``; E1005 from 2.40."""
    return error_response(
        404,
        f"{klass_simple} with id {uid} could not be found.",
        error_code="E1005" if ctx.version.not_found_error_code else None,
    )


def parse_error_status(ctx: Ctx) -> int:
    """The status of DHIS2's answer to an unreadable import body: 400, but 409 from 2.38, where
    the import endpoints' WebMessage exception handler answers it."""
    return 409 if ctx.version.major >= 38 else 400


def read_json(ctx: Ctx, *, error_status: int | None = None) -> Any | SimResponse:
    """The request's JSON body (``{}`` when empty), or, when it cannot be read (bad JSON or bad
    UTF-8), DHIS2's ``Failed to parse JSON: ...`` answer with ``error_status`` (by default an
    import endpoint's, ``parse_error_status``). The caller returns a ``SimResponse`` as it is."""
    try:
        return json.loads(ctx.request.body.decode("utf-8") or "{}")
    except ValueError as exc:  # UnicodeDecodeError is one too
        status = parse_error_status(ctx) if error_status is None else error_status
        return error_response(status, f"Failed to parse JSON: {exc}")


Payload = TypeVar("Payload")


def with_payload(
    authority: str, parse: Callable[[Ctx], Payload | SimResponse] = read_json
) -> Callable[[Callable[[Ctx, Payload], SimResponse]], Callable[[Ctx], SimResponse]]:
    """Make a handler of ``(ctx, payload)`` a route handler of ``ctx`` that answers, in
    DHIS2's order, 403 when the user lacks ``authority``, then ``parse``'s answer when the body
    cannot be read; otherwise it is called with what ``parse`` read."""

    def decorate(handler: Callable[[Ctx, Payload], SimResponse]) -> Callable[[Ctx], SimResponse]:
        @wraps(handler)
        def route(ctx: Ctx) -> SimResponse:
            if not ctx.user.has(authority):
                return forbidden()
            payload = parse(ctx)
            if isinstance(payload, SimResponse):
                return payload
            return handler(ctx, payload)

        return route

    return decorate


def conflict(message: str, error_code: str | None = None) -> SimResponse:
    """``IllegalQueryException`` → 409 WebMessage (``CrudControllerAdvice``)."""
    return error_response(409, message, error_code=error_code)


def import_options(
    ctx: Ctx, strategy: str, dry_run: bool, is_async: bool, id_schemes: dict[str, str]
) -> dict[str, Any]:
    """``ImportOptions`` as echoed in an ImportSummary (android fixture of 2.38+)."""
    schemes = {name: {"type": value} for name, value in id_schemes.items()}
    opts: dict[str, Any] = {
        "idSchemes": schemes,
        "dryRun": dry_run,
        "async": is_async,
        "importStrategy": strategy,
        "mergeMode": "REPLACE",
        "reportMode": "FULL",
        "skipExistingCheck": ctx.request.flag("skipExistingCheck"),
        "sharing": False,
        "skipNotifications": False,
        "skipAudit": ctx.request.flag("skipAudit"),
        "datasetAllowsPeriods": False,
        "strictPeriods": ctx.request.flag("strictPeriods"),
        "strictDataElements": ctx.request.flag("strictDataElements"),
        "strictCategoryOptionCombos": ctx.request.flag("strictCategoryOptionCombos"),
        "strictAttributeOptionCombos": ctx.request.flag("strictAttributeOptionCombos"),
        "strictOrganisationUnits": ctx.request.flag("strictOrganisationUnits"),
        "requireCategoryOptionCombo": ctx.request.flag("requireCategoryOptionCombo"),
        "requireAttributeOptionCombo": ctx.request.flag("requireAttributeOptionCombo"),
        "skipPatternValidation": False,
        "ignoreEmptyCollection": False,
        "force": ctx.request.flag("force"),
        "firstRowIsHeader": True,
        "skipLastUpdated": False,
        "mergeDataValues": False,
        "skipCache": False,
    }
    return opts


SUMMARY_MESSAGES = {
    "SUCCESS": ("OK", 200, "Import was successful."),
    "WARNING": ("WARNING", 409, "One more conflicts encountered, please check import summary."),
    "ERROR": ("ERROR", 409, "An error occurred, please check import summary."),
}


def summary_envelope(ctx: Ctx, summary: dict[str, Any]) -> SimResponse:
    """ImportSummary envelope (reference §0, ``WebMessageUtils.importSummary``): bare with 200
    on ≤2.37 (or ``/api/37`` paths before 2.42), else WebMessage with 409 on WARNING/ERROR."""
    if ctx.version.plain_import_response(ctx.api_version):
        return json_response(summary)
    status, code, message = SUMMARY_MESSAGES[summary["status"]]
    return json_response(web_message(code, status, message, response=summary), status=code)


def parse_strategy(ctx: Ctx, payload_strategy: str | None = None) -> str | None:
    raw = payload_strategy or ctx.request.param("importStrategy") or ctx.request.param("strategy")
    if raw is None:
        return "CREATE_AND_UPDATE"
    return IMPORT_STRATEGIES.get(raw.upper())


def response_type(ctx: Ctx, short: str) -> str:
    """``responseType``: ≤2.41 class name minus ``WebMessageResponse``; 2.42+ full simple
    name (``ImportSummary`` stays ``ImportSummary``)."""
    if ctx.version.long_response_types and short != "ImportSummary":
        return f"{short}WebMessageResponse"
    return short
