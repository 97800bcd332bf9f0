"""One `Run` record for all background work, its log lines, and the schedules that start runs.

The row is written before the task is queued, so a run exists (and can be watched, cancelled or
diagnosed) even when the queue or the worker is down.
"""

from __future__ import annotations

from typing import Any, TypeVar, overload

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.expressions import Combinable

from .registry import target_for

_M = TypeVar("_M", bound=models.Model)


@overload
def optional_link(
    to: type[_M], *, related_name: str = ..., **options: Any
) -> models.ForeignKey[_M | Combinable | None, _M | None]: ...
@overload
def optional_link(
    to: str, *, related_name: str = ..., **options: Any
) -> models.ForeignKey[Any, Any]: ...
def optional_link(
    to: type[models.Model] | str, *, related_name: str = "+", **options: Any
) -> models.ForeignKey[Any, Any]:
    """A link that is emptied, never cascaded, when what it names is deleted: a run, a job
    or an assessment outlives the user, run or schedule it mentions. No reverse accessor
    unless `related_name` asks for one."""
    return models.ForeignKey(
        to, null=True, blank=True, on_delete=models.SET_NULL, related_name=related_name, **options
    )


def user_link(*, editable: bool = True) -> models.ForeignKey[Any, Any]:
    """Who started or created a row (kept as NULL when the account is deleted).

    Typed `Any`: the user model is swappable, named by `AUTH_USER_MODEL`."""
    return optional_link(settings.AUTH_USER_MODEL, editable=editable)


class Run(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        WARNING = "warning", "Finished with warnings"
        FAILED = "failed"
        CANCELLED = "cancelled"
        SKIPPED = "skipped"

    class Trigger(models.TextChoices):
        ADMIN = "admin"
        WEB = "web", "Web page"
        API = "api", "API"
        SCHEDULE = "schedule"
        CLI = "cli", "Command line"

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    FINISHED = (Status.SUCCEEDED, Status.WARNING, Status.FAILED, Status.CANCELLED, Status.SKIPPED)

    kind = models.CharField(max_length=50)
    title = models.CharField(max_length=200, blank=True)
    target = models.CharField(
        max_length=100,
        blank=True,
        help_text='What the run works on, as "<type>:<id>" (e.g. "transfer:5"); finds overlaps.',
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    started_by = user_link()
    params = models.JSONField(default=dict, blank=True, help_text="Never holds secrets.")
    progress = models.PositiveSmallIntegerField(default=0)
    progress_message = models.CharField(max_length=200, blank=True)
    stats = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    schedule = optional_link(
        "Schedule",
        related_name="runs",
        help_text="The schedule that started this run (scheduled or 'run now'), if any.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at"], name="run_created_idx"),
            models.Index(fields=["kind", "status"], name="run_kind_status_idx"),
            models.Index(fields=["status", "heartbeat_at"], name="run_status_heartbeat_idx"),
            models.Index(fields=["target", "status"], name="run_target_status_idx"),
            # The run list, the admin and the API filtered by status or kind, newest first:
            # without these a page of 100,000 runs sorted every matching row (~80 ms).
            models.Index(fields=["status", "-created_at", "-id"], name="run_status_created_idx"),
            models.Index(fields=["kind", "-created_at", "-id"], name="run_kind_created_idx"),
        ]
        constraints = [
            # At most one queued or running run per job, whoever starts it (pages, API,
            # schedules, CLI): the database settles races that row locks alone would not.
            models.UniqueConstraint(
                fields=["target"],
                condition=models.Q(status__in=["queued", "running"]) & ~models.Q(target=""),
                name="run_one_active_per_target",
            )
        ]
        permissions = [
            ("launch_run", "Can launch runs"),
            ("cancel_run", "Can cancel runs"),
        ]

    def __str__(self) -> str:
        return f"Run #{self.pk} {self.title or self.kind} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def duration_seconds(self) -> float | None:
        if not self.started_at:
            return None
        from django.utils import timezone

        end = self.finished_at or timezone.now()
        return round((end - self.started_at).total_seconds(), 3)


class RunLogEntry(models.Model):
    """One line of a run's live log.

    A table rather than a JSON list, so that polling reads only the new lines.
    """

    class Level(models.TextChoices):
        DEBUG = "debug"
        INFO = "info"
        WARNING = "warning"
        ERROR = "error"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="log_entries")
    time = models.DateTimeField(auto_now_add=True)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.INFO)
    message = models.TextField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["run", "id"], name="runlog_run_id_idx")]

    def __str__(self) -> str:
        return f"[{self.level}] {self.message[:80]}"


class SavedJob(models.Model):
    """A saved, named configuration that runs of an operation work on (an aggregate or an
    event transfer): the fields and ordering every such job shares, written once."""

    name = models.CharField(max_length=100, unique=True)
    last_run = optional_link(Run)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RunCheckpoint(models.Model):
    """A batch the destination accepted during a run; a resumed run skips these keys
    (`jobs.resume`). Each operation adds its `run` link and what one batch held."""

    key = models.CharField(max_length=64)
    accepted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


def default_timezone() -> str:
    return settings.TIME_ZONE


class Schedule(models.Model):
    """A cron-driven job: runs a saved transfer (or another job type) unattended.

    `enabled` is the admin's switch; `status` is what the schedule does now: `disabled` when
    switched off, `paused_by_failures` once `max_consecutive_failures` runs in a row failed
    (until an admin resumes it), `active` otherwise. Only an active schedule owns a django-q2
    schedule (`q_schedule`); the logic lives in `jobs.schedules`.
    """

    class Status(models.TextChoices):
        ACTIVE = "active"
        PAUSED_BY_FAILURES = "paused_by_failures", "Paused after failures"
        DISABLED = "disabled"

    name = models.CharField(max_length=100, unique=True)
    job_type = models.CharField(
        max_length=30, help_text="What the schedule runs; an operation of jobs.registry."
    )
    job_id = models.PositiveBigIntegerField(help_text="The id of the transfer (or other job).")
    cron = models.CharField(
        max_length=100,
        help_text='Five fields: minute hour day-of-month month day-of-week, e.g. "0 2 * * *".',
    )
    timezone = models.CharField(
        "time zone",
        max_length=64,
        default=default_timezone,
        help_text="The cron times are wall-clock times in this zone.",
    )
    enabled = models.BooleanField(default=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    consecutive_failures = models.PositiveIntegerField(default=0)
    max_consecutive_failures = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Pause the schedule after this many failed runs in a row.",
    )
    notify_emails = models.TextField(
        blank=True,
        help_text="Comma-separated addresses to e-mail; empty means the site admins.",
    )
    notify_on_success = models.BooleanField(
        default=False,
        help_text="Also e-mail when a run succeeds or finishes with warnings "
        "(failures and pauses are always e-mailed).",
    )
    next_run = models.DateTimeField(null=True, blank=True, editable=False)
    last_run = optional_link(Run, editable=False)
    q_schedule = models.OneToOneField(
        "django_q.Schedule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        help_text="The django-q2 schedule that fires this one (only while active).",
    )
    created_by = user_link(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["job_type", "job_id"], name="schedule_job_idx")]
        permissions = [("run_schedule", "Can run a schedule now")]

    def __str__(self) -> str:
        return self.name

    @property
    def target(self) -> str:
        """The overlap key shared with every run of the same job, e.g. "transfer:5"."""
        return target_for(self.job_type, self.job_id)

    @property
    def recipients(self) -> list[str]:
        return [e.strip() for e in self.notify_emails.split(",") if e.strip()]

    @property
    def badge_class(self) -> str:
        """The `status-*` badge class of app.css that matches this status."""
        classes: dict[str, str] = {
            self.Status.ACTIVE: "status-succeeded",
            self.Status.PAUSED_BY_FAILURES: "status-failed",
            self.Status.DISABLED: "status-cancelled",
        }
        return classes.get(self.status, "")
