"""Sending a metadata payload: validate (`importMode=VALIDATE`) and apply (`COMMIT`).

`POST /api/metadata` answers the bare ImportReport up to 2.37 (HTTP 200 even with errors) and a
WebMessage from 2.38 (HTTP 409 with status WARNING whenever the report is not OK); both are
parsed by `dhis2.imports.parse_metadata_import_report`, which this module only turns into
figures per metadata type and error rows. With `atomicMode=ALL` (the default) a report with any
error commits nothing; `apply_payload` validates first and does not send the COMMIT at all when
validation failed, so a failed validation changes nothing whatever the atomic mode.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from dhis2.imports import MetadataImportReport, parse_metadata_import_report

from .schema import KLASS_TO_TYPE

if TYPE_CHECKING:
    from dhis2.client import Client

__all__ = [
    "ATOMIC_MODES",
    "IMPORT_STRATEGIES",
    "ImportErrorRow",
    "ImportOutcome",
    "apply_payload",
    "import_metadata",
    "outcome_from_report",
]

ImportMode = Literal["VALIDATE", "COMMIT"]
IMPORT_STRATEGIES = ("CREATE_AND_UPDATE", "CREATE", "UPDATE")
ATOMIC_MODES = ("ALL", "NONE")
_COUNT_KEYS = ("created", "updated", "ignored", "deleted")
#: Fields the API and the run's stats name otherwise: an error's object is `object` there.
_CONTRACT_NAMES = {"object_id": "object"}


def _contract_names(items: list[tuple[str, Any]]) -> dict[str, Any]:
    """`asdict`'s dict factory: the fields under the names the API contract gives them."""
    return {_CONTRACT_NAMES.get(key, key): value for key, value in items}


@dataclass
class ImportErrorRow:
    """One DHIS2 error report: its code (E5002 ...), the object and DHIS2's message."""

    error_code: str
    type: str  # metadata type (`dataElements`), or DHIS2's class name when unknown
    object_id: str
    message: str
    property: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self, dict_factory=_contract_names)


@dataclass
class ImportOutcome:
    """The import report as the pages show it: figures per type and every error."""

    mode: str
    status: str  # OK | WARNING | ERROR (DHIS2's report status)
    counts: dict[str, dict[str, int]]  # type -> created/updated/ignored/deleted
    totals: dict[str, int]
    errors: list[ImportErrorRow] = field(default_factory=list)
    http_status: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "OK" and not self.errors

    def as_dict(self) -> dict[str, Any]:
        return asdict(self, dict_factory=_contract_names)


def _type_of(klass: str | None) -> str:
    if not klass:
        return ""
    return KLASS_TO_TYPE.get(klass, klass.rsplit(".", 1)[-1])


def outcome_from_report(
    report: MetadataImportReport, *, mode: str, http_status: int | None = None
) -> ImportOutcome:
    """Figures per metadata type (`dataElements`, ...) and error rows of a parsed report."""
    counts = {
        _type_of(klass): {k: stats.get(k, 0) for k in _COUNT_KEYS}
        for klass, stats in report.type_stats.items()
    }
    errors = [
        ImportErrorRow(
            error_code=e.error_code or "",
            type=_type_of(e.klass),
            object_id=e.uid or e.main_id or "",
            message=e.message,
            property=e.property or "",
        )
        for e in report.errors
    ]
    return ImportOutcome(
        mode=mode,
        status=report.status,
        counts=counts,
        totals={k: report.stats.get(k, 0) for k in _COUNT_KEYS},
        errors=errors,
        http_status=http_status,
    )


def import_metadata(
    client: Client,
    metadata: dict[str, list[dict[str, Any]]],
    *,
    mode: ImportMode = "VALIDATE",
    strategy: str = "CREATE_AND_UPDATE",
    atomic: str = "ALL",
    timeout: float | None = None,
) -> ImportOutcome:
    """One `POST /api/metadata` with `importMode`, `importStrategy` and `atomicMode`.

    `identifier=UID` because the payload keeps the source's UIDs; `importReportMode=ERRORS`
    lists object reports only for objects with errors (the figures come per type anyway).
    A 409 is read as a report; other refusals raise the client's typed errors.
    """
    if mode not in ("VALIDATE", "COMMIT"):
        raise ValueError("mode must be VALIDATE or COMMIT.")
    if strategy not in IMPORT_STRATEGIES:
        raise ValueError(f"importStrategy must be one of {', '.join(IMPORT_STRATEGIES)}.")
    if atomic not in ATOMIC_MODES:
        raise ValueError(f"atomicMode must be one of {', '.join(ATOMIC_MODES)}.")
    response = client.post_json(
        "metadata",
        metadata,
        params={
            "importMode": mode,
            "importStrategy": strategy,
            "atomicMode": atomic,
            "identifier": "UID",
            "importReportMode": "ERRORS",
        },
        timeout=timeout,
    )
    report = parse_metadata_import_report(response.body)
    return outcome_from_report(report, mode=mode, http_status=response.status_code)


def apply_payload(
    client: Client,
    metadata: dict[str, list[dict[str, Any]]],
    *,
    strategy: str = "CREATE_AND_UPDATE",
    atomic: str = "ALL",
    timeout: float | None = None,
) -> tuple[ImportOutcome, ImportOutcome | None]:
    """Validate, then commit only if validation reported no error.

    Returns `(validation, commit)`; `commit` is None when validation failed (nothing sent).
    """
    validation = import_metadata(
        client, metadata, mode="VALIDATE", strategy=strategy, atomic=atomic, timeout=timeout
    )
    if not validation.ok:
        return validation, None
    commit = import_metadata(
        client, metadata, mode="COMMIT", strategy=strategy, atomic=atomic, timeout=timeout
    )
    return validation, commit
