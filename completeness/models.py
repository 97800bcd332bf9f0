"""Stored completeness assessments: one summary per assessment, a row per (org unit, period),
and the roll-ups up the hierarchy (definitions in `completeness.compliance` and
`completeness.hierarchy`). Field names follow the API contract."""

from __future__ import annotations

from django.db import models

from connections.models import Instance
from jobs.models import Run, optional_link, user_link

from .assess import SUMMARY_FIELDS


class CompletenessAssessment(models.Model):
    """One assessment of a data set on an instance. `params` keeps the request as given
    (`periods` or `relative_period`, `org_units`, `include_descendants`, `level`,
    `required_data_elements`, `threshold`, `disaggregation`); `periods` the resolved ones."""

    instance = models.ForeignKey(
        Instance, on_delete=models.PROTECT, related_name="completeness_assessments"
    )
    data_set = models.CharField(max_length=11)
    data_set_name = models.CharField(max_length=230, blank=True)
    period_type = models.CharField(max_length=30, blank=True)
    #: Data element UID -> name, from the data set's structure when the assessment was
    #: validated and refreshed by every run: pages and exports speak names without asking DHIS2.
    element_names = models.JSONField(default=dict, blank=True)
    #: UID -> name of the org units chosen as roots (the selection, shown on the results page).
    org_unit_names = models.JSONField(default=dict, blank=True)
    params = models.JSONField(default=dict, blank=True)
    periods = models.JSONField(default=list, blank=True)
    run = optional_link(Run, related_name="completeness_assessments")
    assessed = models.PositiveIntegerField(default=0)
    compliant = models.PositiveIntegerField(default=0)
    non_compliant = models.PositiveIntegerField(default=0)
    no_data = models.PositiveIntegerField(default=0)
    registered = models.PositiveIntegerField(default=0)
    average_compliance = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = user_link(editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["instance", "data_set"], name="compl_instance_ds_idx")]

    def __str__(self) -> str:
        return f"{self.data_set_name or self.data_set} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def summary(self) -> dict[str, int | float | None]:
        return {name: getattr(self, name) for name in SUMMARY_FIELDS}


class _Place(models.Model):
    """Where a stored figure stands: an org unit in one period. The name, level and path are
    kept with it so pages sort and filter by the hierarchy without asking DHIS2."""

    org_unit = models.CharField(max_length=11)
    org_unit_name = models.CharField(max_length=230, blank=True)
    level = models.PositiveSmallIntegerField(default=0)
    path = models.CharField(max_length=500, blank=True)
    period = models.CharField(max_length=20)

    class Meta:
        abstract = True
        ordering = ["period", "path"]


def _one_per_place(name: str) -> models.UniqueConstraint:
    """One figure per (assessment, org unit, period): a rerun replaces them, never adds."""
    return models.UniqueConstraint(fields=["assessment", "org_unit", "period"], name=name)


#: A row's fields as the API and the JSON export show them (the path only orders the rows).
ROW_API_FIELDS = (
    "org_unit", "org_unit_name", "level", "period", "present", "missing", "compliance",
    "compliant", "no_data", "registered",
)  # fmt: skip


class CompletenessRow(_Place):
    """One (org unit, period) form. `present`/`missing` are data element UIDs."""

    assessment = models.ForeignKey(
        CompletenessAssessment, on_delete=models.CASCADE, related_name="rows"
    )
    present = models.JSONField(default=list, blank=True)
    missing = models.JSONField(default=list, blank=True)
    compliance = models.FloatField(default=0.0)
    compliant = models.BooleanField(default=False)
    no_data = models.BooleanField(default=False)
    registered = models.BooleanField(default=False)

    class Meta(_Place.Meta):
        constraints = [_one_per_place("compl_row_unique")]
        indexes = [
            models.Index(fields=["assessment", "period", "path"], name="compl_row_period_idx"),
            models.Index(fields=["assessment", "compliant"], name="compl_row_compliant_idx"),
            models.Index(fields=["assessment", "compliance"], name="compl_row_score_idx"),
            models.Index(fields=["assessment", "path"], name="compl_row_path_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.org_unit_name or self.org_unit} {self.period}: {self.compliance}%"


class CompletenessRollup(_Place):
    """An ancestor's figures for one period, from the rows strictly below it."""

    assessment = models.ForeignKey(
        CompletenessAssessment, on_delete=models.CASCADE, related_name="rollups"
    )
    assessed = models.PositiveIntegerField(default=0)
    compliant = models.PositiveIntegerField(default=0)
    non_compliant = models.PositiveIntegerField(default=0)
    no_data = models.PositiveIntegerField(default=0)
    registered = models.PositiveIntegerField(default=0)
    average_compliance = models.FloatField(default=0.0)
    compliant_percent = models.FloatField(default=0.0)

    class Meta(_Place.Meta):
        constraints = [_one_per_place("compl_rollup_unique")]
        indexes = [
            models.Index(fields=["assessment", "level", "period"], name="compl_rollup_level_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.org_unit_name or self.org_unit} {self.period}: {self.average_compliance}%"
