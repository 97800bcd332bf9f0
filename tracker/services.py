"""The entry points of event transfers: save a configuration, preview it, start a run.

Every face (admin, pages, API, schedules, `manage.py run_job`) calls these; none re-creates the
checks, the run parameters or the overlap guard.

* `save_event_transfer` validates the fields (the model's own rules), then asks the source
  DHIS2 whether the program is an event program, the stage belongs to it and the org units
  exist there, and resets the incremental watermark when the scope changed: a watermark only
  means "everything before it was sent" for the scope it was earned with.
* `start_event_transfer` is the `event_transfer` operation's start function (`jobs.registry`).
* `effective_mappings` is what a run maps with: the transfer's own mappings over the profile's
  (`metadata_sync.ProfileMapping`) when `use_profile_mappings` is on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Unpack

from django.apps import apps
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction

from accounts.actors import Actor
from connections.models import ConnectionProfile
from connections.services import ASKING_FAILURES, client_for
from dhis2.errors import NotFound
from dhis2.filters import flt_in
from jobs.models import Run
from jobs.resume import NotResumable
from jobs.resume import check_resumable as _check_resumable
from jobs.services import Busy, ResumableStartOptions, launch_resumable
from transfers.fetch import last_updated_param, source_clock
from transfers.services import incremental_bound

from .models import EventTransfer
from .preview import preview_events
from .read import EventQuery
from .transform import EventMappings

__all__ = [
    "KIND",
    "Busy",
    "NotResumable",
    "check_on_source",
    "check_resumable",
    "effective_mappings",
    "incremental_bound",
    "preview_event_transfer",
    "profile_mappings",
    "read_scope",
    "save_event_transfer",
    "start_event_transfer",
]

KIND = "event_transfer"
#: The run parameter that names the event transfer.
PARAM = "event_transfer_id"

#: The fields `save_event_transfer` takes (the API's and the form's writable fields).
EDITABLE_FIELDS = (
    "name", "profile", "program", "program_stage", "org_units", "ou_mode", "start_date",
    "end_date", "incremental", "mappings", "use_profile_mappings", "strip_fields",
)  # fmt: skip

#: `metadata_sync.ProfileMapping.type` → `EventMappings` kind (types a review does not produce
#: are simply never found).
PROFILE_MAPPING_KINDS = {
    "programs": "program",
    "programStages": "program_stage",
    "dataElements": "data_element",
    "organisationUnits": "org_unit",
    "attributeOptionCombos": "attribute_option_combo",
}


# --- saving -----------------------------------------------------------------------------------
def _scope(transfer: EventTransfer) -> tuple[Any, ...]:
    return tuple(getattr(transfer, name) for name in EventTransfer.SCOPE_FIELDS)


def save_event_transfer(
    instance: EventTransfer | None,
    *,
    data: dict[str, Any],
    user: Actor = None,
    verify_on_source: bool = True,
) -> EventTransfer:
    """Create (`instance=None`) or update an event transfer from `data` (a subset of
    `EDITABLE_FIELDS` on update; `profile` is a `ConnectionProfile`).

    Raises `ValidationError` with a dict keyed by field (`__all__` for problems that are not one
    field's, e.g. a source that cannot be reached). `verify_on_source=False` skips the questions
    to the source DHIS2 (the demo setup runs before its simulators do).
    """
    transfer = instance if instance is not None else EventTransfer()
    before = _scope(transfer) if transfer.pk else None
    unknown = sorted(set(data) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError({NON_FIELD_ERRORS: [f"Unknown field(s): {', '.join(unknown)}."]})
    for name, value in data.items():
        if name == "program_stage" and value is None:
            value = ""
        if name in ("org_units", "strip_fields") and isinstance(value, list | tuple):
            value = list(dict.fromkeys(value))
        if name == "mappings" and value is None:
            value = {}
        setattr(transfer, name, value)
    errors: dict[str, list[str]] = {}
    try:
        transfer.full_clean(exclude=["watermark", "last_run"])
    except ValidationError as exc:
        errors = dict(exc.message_dict)
    if not errors and verify_on_source:
        errors = check_on_source(transfer)
    if errors:
        raise ValidationError(errors)
    if before is not None and before != _scope(transfer):
        transfer.watermark = None
    with transaction.atomic():
        transfer.save()
    return transfer


def check_on_source(transfer: EventTransfer) -> dict[str, list[str]]:
    """Problems the source DHIS2 reports with this configuration, keyed by field; when there
    are none, the names it gave are kept on `transfer.source_names` (not saved here).

    An event transfer moves events of a program *without registration* (tracker programs with
    registration hang their events on enrollments, which this does not move); the stage must be
    one of that program's; every org unit must exist on the source.
    """
    source = transfer.profile.source
    errors: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    try:
        with client_for(source, max_attempts=2) as client:
            try:
                program = client.get_json(
                    f"programs/{transfer.program}",
                    {"fields": "id,name,programType,programStages[id,name]"},
                )
            except NotFound:
                errors["program"] = [f"There is no program {transfer.program} on {source.name}."]
                program = None
            if isinstance(program, dict):
                name = program.get("name") or transfer.program
                names[transfer.program] = name
                if program.get("programType") == "WITH_REGISTRATION":
                    errors["program"] = [
                        f"{name} is a tracker program with registration; event transfers move "
                        "the events of event programs (without registration) only."
                    ]
                stages = {s.get("id"): s.get("name") for s in program.get("programStages") or []}
                if transfer.program_stage in stages:
                    names[transfer.program_stage] = stages[transfer.program_stage] or ""
                if transfer.program_stage and transfer.program_stage not in stages:
                    errors["program_stage"] = [
                        f"Stage {transfer.program_stage} is not a stage of {name}."
                    ]
            if transfer.org_units:
                found = {
                    o.get("id"): o.get("name")
                    for o in client.list_all(
                        "organisationUnits",
                        fields="id,name",
                        filters=[flt_in("id", sorted(transfer.org_units))],
                    )
                }
                names.update({uid: name for uid, name in found.items() if uid and name})
                missing = [uid for uid in transfer.org_units if uid not in found]
                if missing:
                    errors["org_units"] = [f"Not org units of {source.name}: {', '.join(missing)}."]
    except ASKING_FAILURES as exc:
        errors[NON_FIELD_ERRORS] = [
            f"Could not check the program and org units on {source.name}: {exc}"
        ]
    if not errors:
        transfer.source_names = {k: v for k, v in names.items() if v}
    return errors


# --- mappings ---------------------------------------------------------------------------------
def profile_mappings(profile: ConnectionProfile) -> EventMappings:
    """The profile's accepted metadata mappings (`metadata_sync.ProfileMapping`), as
    `EventMappings`; empty when that app is not installed."""
    try:
        model = apps.get_model("metadata_sync", "ProfileMapping")
    except LookupError:
        return EventMappings()
    pairs: dict[str, dict[str, str]] = {kind: {} for kind in EventMappings.KINDS}
    rows = model._default_manager.filter(profile=profile, type__in=PROFILE_MAPPING_KINDS)
    for type_, source_id, destination_id in rows.values_list("type", "source_id", "destination_id"):
        if source_id != destination_id:
            pairs[PROFILE_MAPPING_KINDS[type_]][source_id] = destination_id
    return EventMappings(**pairs)


def effective_mappings(transfer: EventTransfer) -> EventMappings:
    """The transfer's own mappings, over the profile's when `use_profile_mappings` is on."""
    own = EventMappings.from_dict(transfer.mappings)
    if not transfer.use_profile_mappings:
        return own
    return own.merged_over(profile_mappings(transfer.profile))


# --- preview ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PreviewResult:
    count: int | None
    by_org_unit: list[dict[str, Any]]
    sample: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "by_org_unit": self.by_org_unit, "sample": self.sample}


def preview_event_transfer(transfer: EventTransfer, *, sample_size: int = 10) -> PreviewResult:
    """What the next run would read from the source: counts (total, per configured org unit
    with its name) and a sample with names. Raises `dhis2.errors.Dhis2Error`."""
    bound = incremental_bound(transfer)
    with client_for(transfer.profile.source, max_attempts=2) as client:
        updated_after = None
        if bound is not None:
            updated_after = last_updated_param(bound, source_clock(client.system_info()).tz)
        preview = preview_events(
            client, _query(transfer, updated_after=updated_after), sample_size=sample_size
        )
    by_org_unit = [
        {
            "id": None if uid == "*" else uid,
            "name": "All accessible org units"
            if uid == "*"
            else preview.org_unit_names.get(uid, uid),
            "count": None if count < 0 else count,
        }
        for uid, count in preview.per_org_unit.items()
    ]
    return PreviewResult(count=preview.count, by_org_unit=by_org_unit, sample=preview.sample)


def read_scope(transfer: EventTransfer) -> dict[str, Any]:
    """Which source events `transfer` covers, by the names `read.EventQuery` (the preview) and
    `engine.EventTransferSpec` (a run) both give them, so the two read the same events.
    Without the org units: the query keeps them as a tuple, the spec as a list."""
    return {
        "program": transfer.program,
        "program_stage": transfer.program_stage or None,
        "ou_mode": transfer.ou_mode,
        "start_date": _as_date(transfer.start_date),
        "end_date": _as_date(transfer.end_date),
    }


def _query(transfer: EventTransfer, *, updated_after: str | None = None) -> EventQuery:
    return EventQuery(
        **read_scope(transfer), org_units=tuple(transfer.org_units), updated_after=updated_after
    )


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


# --- running ----------------------------------------------------------------------------------
def start_event_transfer(transfer: EventTransfer, **options: Unpack[ResumableStartOptions]) -> Run:
    """Queue a run of `transfer`; raises `jobs.services.Busy` while one is queued or running.

    `resume_of` continues a failed or cancelled run: batches it (or the runs it resumed)
    checkpointed are not sent again. `full` ignores an incremental transfer's watermark.
    """
    return launch_resumable(
        KIND, transfer.pk, param=PARAM, noun="event transfer", name=transfer.name, **options
    )


def check_resumable(transfer: EventTransfer, run: Run) -> None:
    """Raise `NotResumable` unless `run` is a stopped, writing run of `transfer`."""
    _check_resumable(
        run,
        kind=KIND,
        param=PARAM,
        pk=transfer.pk,
        what=f"event transfer {transfer.name}",
    )
