"""Saved event transfers and what their runs left behind.

An `EventTransfer` is configuration; each run of it is a `jobs.Run`. Batches the destination
accepted are checkpointed per run (`EventBatchCheckpoint`) so a failed or cancelled run can be
resumed, and the events DHIS2 refused are kept per run (`EventTransferError`) with DHIS2's code.
Mappings are one JSON object per transfer, `{"program": {src: dst}, "program_stage": {...},
"data_element": {...}, "org_unit": {...}, "attribute_option_combo": {...}}` (the shape
`tracker.transform.EventMappings.from_dict` reads): event transfers map a handful of UIDs, and
one object keeps the whole configuration in one row as the API exposes it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from connections.models import ConnectionProfile
from dhis2.uids import is_valid_uid, validate_uid
from jobs.models import Run, RunCheckpoint, SavedJob
from jobs.registry import target_for

STRIPPABLE_FIELDS = ("notes", "assigned_user", "coordinates")
MAPPING_KINDS = ("program", "program_stage", "data_element", "org_unit", "attribute_option_combo")


def _check_uid(value: Any, what: str) -> None:
    """One rule and one wording for UIDs everywhere: `dhis2.uids.validate_uid`."""
    try:
        validate_uid(value, what)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def validate_uid_list(value: Any) -> None:
    if not isinstance(value, list):
        raise ValidationError("Give a list of org unit UIDs.")
    for item in value:
        _check_uid(item, "Org unit")


def validate_mappings(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValidationError("Mappings must be an object of kind → {source UID: target UID}.")
    unknown = sorted(set(value) - set(MAPPING_KINDS))
    if unknown:
        raise ValidationError(
            f"Unknown mapping kind(s) {', '.join(unknown)}; use {', '.join(MAPPING_KINDS)}."
        )
    for kind, pairs in value.items():
        if not isinstance(pairs, dict):
            raise ValidationError(f"Mapping '{kind}' must be an object of source → target UIDs.")
        for source, target in pairs.items():
            _check_uid(source, f"Source {kind}")
            _check_uid(target, f"Target {kind}")


def validate_strip_fields(value: Any) -> None:
    if not isinstance(value, list) or any(v not in STRIPPABLE_FIELDS for v in value):
        raise ValidationError(f"Choose fields to strip among {', '.join(STRIPPABLE_FIELDS)}.")


class EventTransfer(SavedJob):
    """Events of one event program (optionally one stage) from a profile's source to its
    destination."""

    class OuMode(models.TextChoices):
        SELECTED = "SELECTED", "selected org units only"
        CHILDREN = "CHILDREN", "selected and their children"
        DESCENDANTS = "DESCENDANTS", "selected and all below"
        ACCESSIBLE = "ACCESSIBLE", "everything the user can access"

    profile = models.ForeignKey(
        ConnectionProfile, on_delete=models.PROTECT, related_name="event_transfers"
    )
    program = models.CharField(max_length=11)
    program_stage = models.CharField(max_length=11, blank=True)
    org_units = models.JSONField(default=list, blank=True, validators=[validate_uid_list])
    ou_mode = models.CharField(max_length=11, choices=OuMode.choices, default=OuMode.DESCENDANTS)
    start_date = models.DateField(null=True, blank=True, help_text="Event date from (inclusive).")
    end_date = models.DateField(null=True, blank=True, help_text="Event date to (inclusive).")
    incremental = models.BooleanField(
        default=False, help_text="Send only events updated since the last run without errors."
    )
    mappings = models.JSONField(default=dict, blank=True, validators=[validate_mappings])
    use_profile_mappings = models.BooleanField(
        default=True, help_text="Apply the profile's mappings under this transfer's own."
    )
    strip_fields = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_strip_fields],
        help_text="Fields not sent: notes, assigned_user, coordinates.",
    )
    watermark = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="Source time (UTC) at the start of the last incremental run without errors.",
    )
    source_names = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text="Names the source gave when the transfer was saved ({uid: name}), so pages "
        "speak names without asking the source on every view.",
    )

    #: Changing any of these changes which events a run covers: the watermark is reset.
    SCOPE_FIELDS = (
        "profile_id", "program", "program_stage", "org_units", "ou_mode", "start_date",
        "end_date", "mappings", "use_profile_mappings", "strip_fields",
    )  # fmt: skip

    def name_of(self, uid: str) -> str:
        """The source's name of a program, stage or org unit UID (the UID if unknown)."""
        return str((self.source_names or {}).get(uid) or uid)

    @property
    def program_name(self) -> str:
        return self.name_of(self.program)

    @property
    def program_stage_name(self) -> str:
        return self.name_of(self.program_stage) if self.program_stage else ""

    @property
    def org_unit_names(self) -> list[tuple[str, str]]:
        return [(uid, self.name_of(uid)) for uid in self.org_units]

    @property
    def target(self) -> str:
        return target_for("event_transfer", self.pk)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if not is_valid_uid(self.program or ""):
            errors["program"] = "Give the program's UID."
        if self.program_stage and not is_valid_uid(self.program_stage):
            errors["program_stage"] = "Give the program stage's UID, or leave it empty."
        if self.ou_mode != self.OuMode.ACCESSIBLE and not self.org_units:
            errors["org_units"] = "Choose at least one org unit (or the ACCESSIBLE mode)."
        if self.start_date and self.end_date and self.start_date > self.end_date:
            errors["end_date"] = "The end date is before the start date."
        if errors:
            raise ValidationError(errors)


class EventBatchCheckpoint(RunCheckpoint):
    """A batch of events the destination accepted during a run."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="event_checkpoints")
    events = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "key"], name="event_checkpoint_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.events} events)"


class EventTransferError(models.Model):
    """One event DHIS2 refused (or a batch-level problem), with DHIS2's error code."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="event_errors")
    event = models.CharField(max_length=50, blank=True)
    org_unit = models.CharField(max_length=50, blank=True)
    error_code = models.CharField(max_length=20, blank=True)
    message = models.TextField()
    object = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["run", "error_code"], name="event_error_run_code_idx")]

    def __str__(self) -> str:
        return f"{self.error_code or 'error'} {self.event}: {self.message[:60]}"
