"""Saved aggregate data transfers, their mappings, and what their runs left behind.

A `Transfer` is configuration (admin-managed, operator-launchable), saved only through
`transfers.services.save_transfer`, which validates it, replaces its mapping rows and resets
the incremental watermark when the scope changed (no `save()` override, no signals). Each run
of it is a `jobs.Run` of kind "transfer"; accepted chunks are checkpointed per run
(`ChunkCheckpoint`) so a failed run can be resumed, and conflicts are kept per run
(`TransferConflict`) for the run page and its CSV download.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from connections.models import ConnectionProfile
from dhis2 import uids
from jobs.models import Run, RunCheckpoint, SavedJob
from jobs.registry import target_for


def validate_uid(value: object) -> None:
    """The Django face of `dhis2.uids.validate_uid`: one rule and one wording for a UID,
    whether the client library, a form or the API checks it."""
    try:
        uids.validate_uid(value, what="")
    except ValueError as exc:
        raise ValidationError(
            f"{str(exc).strip()} A DHIS2 UID is 11 letters or digits, starting with a letter "
            "(e.g. BfMAe6Itzgt).",
            code="invalid_uid",
        ) from exc


def validate_uid_list(value: object) -> None:
    if not isinstance(value, list):
        raise ValidationError("Give a list of UIDs.")
    for item in value:
        validate_uid(str(item))


def validate_uid_map(value: object) -> None:
    """Kept for migration 0001, which references it; maps are now checked by id scheme."""
    validate_identifier_map(value, "UID")


def validate_identifier(value: str, scheme: str) -> None:
    """A data element, option combo or org unit reference in the transfer's id scheme."""
    if scheme == "CODE":
        if not value or len(value) > 50:
            raise ValidationError(f"'{value}' is not a DHIS2 code (1 to 50 characters).")
    else:
        validate_uid(value)


def validate_identifier_map(value: object, scheme: str) -> None:
    if not isinstance(value, dict):
        raise ValidationError("Give an object mapping source identifiers to destination ones.")
    for key, target in value.items():
        validate_identifier(str(key), scheme)
        validate_identifier(str(target), scheme)


def validate_period_list(value: object) -> None:
    from dhis2.periods import parse_period

    if not isinstance(value, list):
        raise ValidationError("Give a list of DHIS2 period ids.")
    for item in value:
        try:
            parse_period(str(item))
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class Transfer(SavedJob):
    class Unmapped(models.TextChoices):
        SEND = "send", "Send unchanged (by UID)"
        SKIP = "skip", "Skip and report"

    class IdScheme(models.TextChoices):
        UID = "UID", "UID"
        CODE = "CODE"

    class AsyncImport(models.TextChoices):
        AUTO = "auto", "For large chunks (5,000 values or more)"
        ALWAYS = "always", "Always (DHIS2 imports in the background, we poll its task)"
        NEVER = "never"

    class ImportStrategy(models.TextChoices):
        CREATE_AND_UPDATE = "CREATE_AND_UPDATE", "Create and update"
        CREATE = "CREATE", "Create only"
        UPDATE = "UPDATE", "Update only"
        DELETE = "DELETE"

    profile = models.ForeignKey(
        ConnectionProfile, on_delete=models.PROTECT, related_name="transfers"
    )
    data_set = models.CharField("source data set", max_length=11, validators=[validate_uid])
    target_data_set = models.CharField(
        "destination data set",
        max_length=11,
        blank=True,
        validators=[validate_uid],
        help_text="Leave blank when the destination uses the same data set UID.",
    )
    periods = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_period_list],
        help_text="Explicit DHIS2 period ids, e.g. 202401, 2024Q1 (or a relative choice instead).",
    )
    relative_period = models.CharField(
        max_length=40,
        blank=True,
        help_text="Resolved at run time for the data set's period type, e.g. LAST_3_MONTHS.",
    )
    relative_count = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="N for LAST_N / THIS_AND_LAST_N."
    )
    org_units = models.JSONField(default=list, validators=[validate_uid_list])
    include_descendants = models.BooleanField(default=True)
    org_unit_map = models.JSONField("org unit mapping", default=dict, blank=True)
    attribute_option_combo_map = models.JSONField(
        "attribute option combo mapping", default=dict, blank=True
    )
    unmapped = models.CharField(max_length=4, choices=Unmapped.choices, default=Unmapped.SEND)
    id_scheme = models.CharField(max_length=4, choices=IdScheme.choices, default=IdScheme.UID)
    import_strategy = models.CharField(
        max_length=20, choices=ImportStrategy.choices, default=ImportStrategy.CREATE_AND_UPDATE
    )
    propagate_deletions = models.BooleanField(
        default=False,
        help_text="Also delete on the destination the values deleted on the source.",
    )
    mark_complete = models.BooleanField(
        default=False, help_text="Register the data set as complete where data was imported."
    )
    incremental = models.BooleanField(
        default=False, help_text="Only send values changed since the last fully successful run."
    )
    async_import = models.CharField(
        max_length=6,
        choices=AsyncImport.choices,
        default=AsyncImport.AUTO,
        help_text="async=true imports survive proxies that cut long requests.",
    )
    chunk_size = models.PositiveIntegerField(
        # Below the async threshold (5,000): a synchronous import answers at once, while an
        # async one is polled; larger chunks are fewer round trips (split on 504/413 anyway).
        default=4000,
        validators=[MinValueValidator(1), MaxValueValidator(100_000)],
    )
    continue_on_preflight_problems = models.BooleanField(
        default=False,
        help_text="Import anyway when the preflight finds problems (they are still reported).",
    )
    use_profile_mappings = models.BooleanField(
        default=False,
        help_text="Also apply the connection profile's accepted metadata mappings to values "
        "this transfer's own mapping rows and maps do not cover (UID scheme only).",
    )
    min_completeness = models.FloatField(
        "minimum completeness (%)",
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Send an org unit's period only when at least this percent of the data set's "
        "data elements are filled on the source; the others are held back and listed on the "
        "run. Blank: send everything. Not with incremental runs or the CODE scheme.",
    )
    watermark = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Start of the last fully successful run; incremental runs fetch changes since.",
    )

    #: Changing any of these changes which values a run covers, so an incremental watermark
    #: kept from before would skip the older values of the new scope: `save_transfer` resets it.
    SCOPE_FIELDS = (
        "profile_id", "data_set", "target_data_set", "periods", "relative_period",
        "relative_count", "org_units", "include_descendants", "org_unit_map",
        "attribute_option_combo_map", "unmapped", "id_scheme", "propagate_deletions",
        "import_strategy", "mark_complete", "use_profile_mappings", "min_completeness",
    )  # fmt: skip

    @property
    def target(self) -> str:
        """The overlap key of this transfer's runs (built in one place, `jobs.registry`)."""
        return target_for("transfer", self.pk)

    def clean(self) -> None:
        from dhis2.periods import PeriodError, validate_relative

        if not self.periods and not self.relative_period:
            raise ValidationError({"periods": "Give explicit periods or choose a relative period."})
        if self.periods and self.relative_period:
            raise ValidationError(
                {"relative_period": "Use either explicit periods or a relative period, not both."}
            )
        if self.relative_period:
            try:
                self.relative_period = validate_relative(self.relative_period, self.relative_count)
            except PeriodError as exc:
                raise ValidationError({"relative_period": str(exc)}) from exc
        if not self.org_units:
            raise ValidationError({"org_units": "Choose at least one org unit."})
        errors: dict[str, list[str]] = {}
        for name in ("org_unit_map", "attribute_option_combo_map"):
            try:
                validate_identifier_map(getattr(self, name), self.id_scheme)
            except ValidationError as exc:
                errors[name] = exc.messages
        errors.update(self._option_errors())
        if errors:
            raise ValidationError(errors)

    def _option_errors(self) -> dict[str, list[str]]:
        """Options that cannot work together (see `transfers.engine`, completeness gate)."""
        errors: dict[str, list[str]] = {}
        code = self.id_scheme == self.IdScheme.CODE
        if self.use_profile_mappings and code:
            errors["use_profile_mappings"] = [
                "A profile's mappings are by UID; they cannot apply with the CODE scheme."
            ]
        if self.min_completeness is not None:
            gate: list[str] = []
            if code:
                # The source structure that compliance is computed on is keyed by UIDs.
                gate.append("The minimum completeness needs the UID scheme.")
            if self.incremental:
                # An incremental run fetches only changed values: compliance would be
                # understated and complete forms held back.
                gate.append(
                    "The minimum completeness needs every value of a form, so it cannot be "
                    "used with incremental runs."
                )
            if gate:
                errors["min_completeness"] = gate
        return errors


class TransferMapping(models.Model):
    """One mapping row, in the transfer's id scheme (UIDs, or codes when the scheme is CODE).

    Rows are checked and replaced only by `transfers.services.save_transfer` (they depend on
    the transfer's scheme, so a row cannot judge itself)."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="mappings")
    source_data_element = models.CharField(max_length=50)
    source_category_option_combo = models.CharField(
        max_length=50, blank=True, help_text="Blank: any option combo."
    )
    target_data_element = models.CharField(max_length=50)
    target_category_option_combo = models.CharField(
        max_length=50, blank=True, help_text="Blank: keep the option combo."
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["transfer", "source_data_element", "source_category_option_combo"],
                name="transfer_mapping_unique_source",
                violation_error_message="This source data element and combo is mapped twice.",
            )
        ]

    def __str__(self) -> str:
        src = self.source_data_element + (
            f".{self.source_category_option_combo}" if self.source_category_option_combo else ""
        )
        dst = self.target_data_element + (
            f".{self.target_category_option_combo}" if self.target_category_option_combo else ""
        )
        return f"{src} → {dst}"


class ChunkCheckpoint(RunCheckpoint):
    """A chunk of data values the destination accepted during a run."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="transfer_checkpoints")
    values = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="checkpoint_unique_key")]

    def __str__(self) -> str:
        return f"{self.key} ({self.values} values)"


class TransferConflict(models.Model):
    """One value DHIS2 refused (or one chunk-level error), with DHIS2's error code."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="transfer_conflicts")
    error_code = models.CharField(max_length=20, blank=True)
    message = models.TextField()
    object = models.TextField(blank=True)
    property = models.CharField(max_length=100, blank=True)
    data_element = models.CharField(max_length=50, blank=True)
    period = models.CharField(max_length=20, blank=True)
    org_unit = models.CharField(max_length=50, blank=True)
    category_option_combo = models.CharField(max_length=50, blank=True)
    attribute_option_combo = models.CharField(max_length=50, blank=True)
    value = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["run", "error_code"], name="conflict_run_code_idx")]

    def __str__(self) -> str:
        return f"{self.error_code or 'conflict'}: {self.message[:60]}"
