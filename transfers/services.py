"""The entry points of aggregate data transfers: save a configuration, start a run.

Every face (admin, pages, API, schedules, `manage.py transfer`) calls these; none re-creates
their checks.

* `save_transfer` validates a configuration (the model's rules, then every mapping row in the
  transfer's id scheme), replaces the mapping rows, and resets the incremental watermark when
  what a run covers changed: a watermark means "everything before it was sent" only for the
  scope and rows it was earned with. Forms and serializers only parse input into its
  arguments; its `TransferInvalid` becomes form errors or a DRF 400.
* `start_transfer` is the `transfer` operation's start function (`jobs.registry`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol, Unpack

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.actors import Actor
from audit.services import log_bulk_created
from jobs.models import Run
from jobs.resume import NotResumable as NotResumable  # re-exported: what a resume refuses
from jobs.services import Busy, ResumableStartOptions, launch_resumable

from .models import Transfer, TransferMapping, validate_identifier

KIND = "transfer"


#: The name earlier code used for the overlap error; it is the one `jobs.services.Busy`.
TransferBusy = Busy


# --- saving -----------------------------------------------------------------------------------

#: The fields `save_transfer` takes as keyword arguments (the API's and the form's writable
#: fields; `profile` is a `ConnectionProfile`).
EDITABLE_FIELDS = (
    "name", "profile", "data_set", "target_data_set", "periods", "relative_period",
    "relative_count", "org_units", "include_descendants", "org_unit_map",
    "attribute_option_combo_map", "unmapped", "id_scheme", "import_strategy", "mark_complete",
    "incremental", "chunk_size", "continue_on_preflight_problems", "propagate_deletions",
    "async_import", "use_profile_mappings", "min_completeness",
)  # fmt: skip

MAPPING_FIELDS = (
    "source_data_element", "source_category_option_combo",
    "target_data_element", "target_category_option_combo",
)  # fmt: skip

RowErrors = dict[int, dict[str, list[str]]]


class TransferInvalid(ValidationError):
    """A configuration `save_transfer` refuses.

    A Django `ValidationError` keyed by field (row problems also as "Row n, field: ..." lines
    under `mappings`, for faces that show one list), plus `detail`: the same errors with the
    row problems nested by 0-based row index, as DRF reports nested rows:
    `{"mappings": {"0": {"source_data_element": ["..."]}}}`.
    """

    def __init__(self, errors: Mapping[str, list[str]], rows: RowErrors | None = None) -> None:
        rows = rows or {}
        flat = {key: list(messages) for key, messages in errors.items()}
        for index, found in sorted(rows.items()):
            flat.setdefault("mappings", []).extend(
                f"Row {index + 1}, {name}: {' '.join(messages)}" for name, messages in found.items()
            )
        super().__init__(flat)
        self.detail: dict[str, Any] = {key: list(messages) for key, messages in errors.items()}
        if rows:
            self.detail["mappings"] = {str(index): found for index, found in sorted(rows.items())}
        self.rows = rows


def _row(raw: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """A mapping row as stored: blank (not None) for an absent option combo."""
    a, b, c, d = (str(raw.get(name) or "").strip() for name in MAPPING_FIELDS)
    return a, b, c, d


def check_mappings(rows: Iterable[Mapping[str, Any]], id_scheme: str) -> RowErrors:
    """Problems of mapping rows, by 0-based row index then field.

    Identifiers are checked in the transfer's id scheme (UIDs, or codes with CODE); option
    combos may be blank. A second row for the same source (data element, option combo) is an
    error on that row: the engine would only ever use the first.
    """
    errors: RowErrors = {}
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(rows):
        row = dict(zip(MAPPING_FIELDS, _row(raw), strict=True))
        found: dict[str, list[str]] = {}
        for name, value in row.items():
            if not value and name.endswith("option_combo"):
                continue
            if not value:
                found[name] = ["This field is required."]
                continue
            try:
                validate_identifier(value, id_scheme)
            except ValidationError as exc:
                found[name] = list(exc.messages)
        key = (row["source_data_element"], row["source_category_option_combo"])
        if key in seen and "source_data_element" not in found:
            shown = ".".join(k for k in key if k)
            found["source_data_element"] = [
                f"{shown} is mapped twice (also row {seen[key] + 1}); keep one row per source."
            ]
        seen.setdefault(key, index)
        if found:
            errors[index] = found
    return errors


def check_transfer(transfer: Transfer, mappings: list[Mapping[str, Any]] | None = None) -> None:
    """Raise `TransferInvalid` unless `transfer` (its fields already set) and `mappings` (None:
    the stored rows) make a valid configuration. Saves nothing; `save_transfer` calls it, and
    the admin calls it while validating its forms, so its errors show on them."""
    errors: dict[str, list[str]] = {}
    try:
        transfer.full_clean(exclude=["watermark", "last_run"])
    except ValidationError as exc:
        errors = {key: list(messages) for key, messages in exc.message_dict.items()}
    if mappings is None and transfer.pk:
        # The rows stay, but the id scheme may have changed: they must fit it too.
        mappings = list(TransferMapping.objects.filter(transfer=transfer).values(*MAPPING_FIELDS))
    rows = check_mappings(mappings or [], transfer.id_scheme)
    if errors or rows:
        raise TransferInvalid(errors, rows)


def save_transfer(
    transfer: Transfer | None,
    *,
    user: Actor,
    mappings: list[Mapping[str, Any]] | None = None,
    **fields: Any,
) -> Transfer:
    """Create (`transfer=None`) or update a transfer: the one way a configuration is saved.

    `fields` are any of `EDITABLE_FIELDS` (on update, those given change); `mappings` are row
    dicts (`MAPPING_FIELDS`, blank or None option combos) that replace the stored rows, or
    None to keep them. Raises `TransferInvalid`. The watermark is reset when a scope field
    (`Transfer.SCOPE_FIELDS`) or the rows changed; otherwise the watermark and the last run are
    left as the database holds them (a run may have moved them since `transfer` was read).
    `user` is who saves (the faces pass it; nothing records it yet).
    """
    unknown = sorted(set(fields) - set(EDITABLE_FIELDS))
    if unknown:
        raise TypeError(f"save_transfer() got unknown field(s): {', '.join(unknown)}")
    transfer = transfer if transfer is not None else Transfer()
    before = (
        Transfer.objects.filter(pk=transfer.pk).values(*Transfer.SCOPE_FIELDS).first()
        if transfer.pk
        else None
    )
    for name, value in fields.items():
        if name == "target_data_set" and value is None:
            value = ""
        setattr(transfer, name, value)
    check_transfer(transfer, mappings)
    rows = [_row(m) for m in mappings] if mappings is not None else None
    with transaction.atomic():
        if before is None:
            transfer.save()
            changed = rows is not None
        else:
            stored = set(
                TransferMapping.objects.filter(transfer=transfer).values_list(*MAPPING_FIELDS)
            )
            changed = rows is not None and stored != set(rows)
            scope = any(before[f] != getattr(transfer, f) for f in Transfer.SCOPE_FIELDS)
            transfer.save(update_fields=[*EDITABLE_FIELDS, "updated_at"])
            if scope or changed:
                # Another scope or other rows: the next run must send everything again.
                Transfer.objects.filter(pk=transfer.pk).update(watermark=None)
                transfer.watermark = None
        if rows is not None and changed:
            TransferMapping.objects.filter(transfer=transfer).delete()
            log_bulk_created(  # the audit log of the new rows (bulk_create sends no signal)
                TransferMapping.objects.bulk_create(
                    TransferMapping(
                        transfer=transfer, **dict(zip(MAPPING_FIELDS, row, strict=True))
                    )
                    for row in rows
                )
            )
    return transfer


def start_transfer(transfer: Transfer, **options: Unpack[ResumableStartOptions]) -> Run:
    """Queue a run of `transfer`; raises `jobs.services.Busy` while one is queued or running.

    The start function of the `transfer` operation (`jobs.registry`): the admin, pages, API,
    schedules, `manage.py transfer` and `manage.py run_job` all call it. `resume_of` continues
    a failed or cancelled run: chunks it checkpointed are not sent again, and the periods it
    resolved are reused. `full` ignores an incremental transfer's watermark.
    """
    return launch_resumable(
        KIND, transfer.pk, param="transfer_id", noun="transfer", name=transfer.name, **options
    )


# --- incremental runs ---------------------------------------------------------------------------
class Incremental(Protocol):
    """A job that may read only what changed since its watermark (aggregate and event
    transfers): the rule below is the same for both."""

    incremental: bool
    watermark: datetime | None


def incremental_bound(job: Incremental, *, full: bool = False) -> datetime | None:
    """The lower bound of what the next run reads: the watermark minus the overlap (what the
    source saved while the last run read it is read again, harmlessly); None to read
    everything (not incremental, no watermark yet, or a `full` run)."""
    if not job.incremental or job.watermark is None or full:
        return None
    return job.watermark - timedelta(minutes=settings.TRANSFER_INCREMENTAL_OVERLAP_MINUTES)


# --- profile mappings -------------------------------------------------------------------------
def profile_mappings_for(transfer: Transfer) -> dict[str, dict[str, str]]:
    """What a run of `transfer` maps with besides its own rows: the profile's accepted
    mappings (`metadata_sync.services.profile_mappings`) when `use_profile_mappings` is on."""
    if not transfer.use_profile_mappings:
        return {}
    from metadata_sync.services import profile_mappings  # that app builds on this one

    return profile_mappings(transfer.profile_id)


def profile_mappings_in_force(transfer: Transfer) -> list[dict[str, str]]:
    """The profile mappings a run of `transfer` would apply, for its page: type, both UIDs
    and, where the review that accepted them knew them, both names. Empty when off."""
    if not transfer.use_profile_mappings:
        return []
    from metadata_sync.models import AssessmentItem, ProfileMapping

    rows = list(
        ProfileMapping.objects.filter(profile_id=transfer.profile_id).values(
            "type", "source_id", "destination_id", "assessment_id"
        )
    )
    names: dict[tuple[int, str], tuple[str, str]] = {}
    reviewed = {r["assessment_id"] for r in rows if r["assessment_id"]}
    if reviewed:
        items = AssessmentItem.objects.filter(
            assessment_id__in=reviewed, source_id__in={r["source_id"] for r in rows}
        ).values_list("assessment_id", "source_id", "source_name", "destination_name")
        names = {(a, s): (sn, dn) for a, s, sn, dn in items}
    out = []
    for r in rows:
        source_name, destination_name = names.get((r["assessment_id"], r["source_id"]), ("", ""))
        out.append(
            {
                "type": r["type"],
                "source_id": r["source_id"],
                "source_name": source_name,
                "destination_id": r["destination_id"],
                "destination_name": destination_name,
            }
        )
    return out
