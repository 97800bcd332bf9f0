"""Metadata assessments, their items, and the mappings a review makes of them.

An assessment is one comparison of a profile's destination with its source for some metadata
types; it keeps one `AssessmentItem` per source object (50,000 org units make 50,000 rows, so
items are indexed for paging by type and status and ordered by name) and the counts per type
and status for the summary. Accepted matches become `ProfileMapping` rows, one per
(profile, type, source UID), which every transfer of the profile can use.
"""

from __future__ import annotations

from django.db import models
from django.db.models.expressions import Combinable
from django.utils import timezone

from connections.models import ConnectionProfile
from jobs.models import Run, optional_link, user_link

from .match import Status
from .schema import MAPPING_TYPES, ORDER, SPECS

TYPE_CHOICES = [(t, SPECS[t].label) for t in ORDER]
MAPPING_TYPE_CHOICES = [
    (t, SPECS[t].label if t in SPECS else "attribute option combos") for t in MAPPING_TYPES
]


def _one_per_source(scope: str, name: str) -> models.UniqueConstraint:
    """One row per source object (type, UID) within `scope`: an object has one status in an
    assessment and one mapping in a profile."""
    return models.UniqueConstraint(fields=[scope, "type", "source_id"], name=name)


class MetadataAssessment(models.Model):
    class State(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    profile = models.ForeignKey(
        ConnectionProfile, on_delete=models.CASCADE, related_name="metadata_assessments"
    )
    types = models.JSONField(default=list, help_text="Metadata types compared, e.g. dataElements.")
    run = optional_link(Run, related_name="metadata_assessments")
    status = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    counts = models.JSONField(
        default=dict, blank=True, help_text="type -> status -> number of source objects"
    )
    defaults = models.JSONField(
        default=dict,
        blank=True,
        help_text="side -> type -> UID of the default category objects found there",
    )
    created = models.DateTimeField(auto_now_add=True)
    created_by = user_link()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["profile", "-created"], name="md_assessment_profile_idx")]
        permissions = [
            ("review_assessment", "Can accept or reject the suggestions of an assessment"),
            ("apply_metadata", "Can apply (commit) metadata to the destination"),
        ]

    def __str__(self) -> str:
        return f"Assessment {self.pk} of {self.profile}"


def _made_by_assessment(
    related_name: str,
) -> models.ForeignKey[MetadataAssessment | Combinable | None, MetadataAssessment | None]:
    """The assessment a row came from while it exists: mappings and import errors outlive
    the assessment that made them (deleting it empties the link, not the rows)."""
    return optional_link(MetadataAssessment, related_name=related_name)


class AssessmentItem(models.Model):
    class Decision(models.TextChoices):
        UNDECIDED = ""
        ACCEPTED = "accepted"
        REJECTED = "rejected"

    assessment = models.ForeignKey(
        MetadataAssessment, on_delete=models.CASCADE, related_name="items"
    )
    type = models.CharField(max_length=40, choices=TYPE_CHOICES)
    source_id = models.CharField(max_length=11)
    source_code = models.CharField(max_length=100, blank=True)
    source_name = models.CharField(max_length=255, blank=True)
    destination_id = models.CharField(max_length=11, blank=True)
    destination_code = models.CharField(max_length=100, blank=True)
    destination_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=20, choices=[(s.value, s.value) for s in Status])
    score = models.FloatField(null=True, blank=True, help_text="Name similarity of a suggestion.")
    differences = models.JSONField(default=dict, blank=True)
    attribute = models.BooleanField(
        default=False, help_text="An option combo of an attribute category combo."
    )
    decision = models.CharField(
        max_length=10, choices=Decision.choices, default=Decision.UNDECIDED, blank=True
    )

    class Meta:
        ordering = ["type", "source_name", "id"]
        indexes = [
            models.Index(fields=["assessment", "type", "status"], name="md_item_type_status_idx"),
            models.Index(fields=["assessment", "type", "source_name"], name="md_item_name_idx"),
            models.Index(fields=["assessment", "destination_id"], name="md_item_destination_idx"),
        ]
        constraints = [_one_per_source("assessment", "md_item_unique_source")]

    def __str__(self) -> str:
        return f"{self.type} {self.source_name or self.source_id}: {self.status}"


class ProfileMapping(models.Model):
    profile = models.ForeignKey(
        ConnectionProfile, on_delete=models.CASCADE, related_name="metadata_mappings"
    )
    type = models.CharField(max_length=40, choices=MAPPING_TYPE_CHOICES)
    source_id = models.CharField(max_length=11)
    destination_id = models.CharField(max_length=11)
    assessment = _made_by_assessment(related_name="mappings")
    accepted_by = user_link()
    accepted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["profile", "type", "source_id"]
        constraints = [_one_per_source("profile", "md_mapping_unique_source")]

    def __str__(self) -> str:
        return f"{self.type} {self.source_id} → {self.destination_id}"


class MetadataImportError(models.Model):
    """One error report of a metadata validation or commit, kept for the run page.

    DHIS2's report is the only account of why an import was refused (E5002 a missing reference,
    E5003 a duplicate name ...); the run's stats keep the figures, these rows the errors.
    """

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="metadata_import_errors")
    assessment = _made_by_assessment(related_name="import_errors")
    mode = models.CharField(max_length=10, help_text="VALIDATE or COMMIT")
    error_code = models.CharField(max_length=20, blank=True)
    type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=50, blank=True)
    object_name = models.CharField(max_length=255, blank=True)
    property = models.CharField(max_length=100, blank=True)
    message = models.TextField()

    class Meta:
        ordering = ["run", "id"]

    def __str__(self) -> str:
        return f"{self.error_code} {self.type} {self.object_id}: {self.message[:60]}"
