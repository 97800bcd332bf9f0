"""One `Run` record for all background work, and its log lines.

The row is written before the task is queued, so a run exists (and can be watched, cancelled or
diagnosed) even when the queue or the worker is down.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Run(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        WARNING = "warning", "Finished with warnings"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Trigger(models.TextChoices):
        ADMIN = "admin", "Admin"
        WEB = "web", "Web page"
        API = "api", "API"
        SCHEDULE = "schedule", "Schedule"
        CLI = "cli", "Command line"

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    FINISHED = (Status.SUCCEEDED, Status.WARNING, Status.FAILED, Status.CANCELLED)

    kind = models.CharField(max_length=50)
    title = models.CharField(max_length=200, blank=True)
    target = models.CharField(
        max_length=100,
        blank=True,
        help_text='What the run works on, as "<type>:<id>" (e.g. "transfer:5"); finds overlaps.',
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
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

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at"], name="run_created_idx"),
            models.Index(fields=["kind", "status"], name="run_kind_status_idx"),
            models.Index(fields=["status", "heartbeat_at"], name="run_status_heartbeat_idx"),
            models.Index(fields=["target", "status"], name="run_target_status_idx"),
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
