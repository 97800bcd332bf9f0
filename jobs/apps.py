from django.apps import AppConfig
from django.db.models.signals import post_migrate

from config.health import WORKER_HEARTBEAT_FUNC, WORKER_HEARTBEAT_NAME

STALL_CHECK_NAME = "dhis2sync: fail stalled runs"
REPAIR_NAME = "dhis2sync: repair schedules"
PRUNE_NAME = "dhis2sync: prune old runs"


def _ensure_housekeeping(sender, **kwargs) -> None:
    """Keep the housekeeping django-q2 schedules: reap stalled runs, and re-arm our schedules
    whose django-q2 counterpart drifted (a lost runner task would otherwise stop them)."""
    from django_q.models import Schedule

    for name, func, minutes in (
        (STALL_CHECK_NAME, "jobs.tasks.fail_stalled_runs", 5),
        (REPAIR_NAME, "jobs.tasks.repair_schedules", 10),
        # The proof of a live worker that /readyz reads (config.health), and daily pruning
        # by RUN_RETENTION_DAYS (a no-op while it is 0).
        (WORKER_HEARTBEAT_NAME, WORKER_HEARTBEAT_FUNC, 1),
        (PRUNE_NAME, "jobs.retention.prune_expired_runs", 24 * 60),
    ):
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
            },
        )


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Runs and schedules"

    def ready(self) -> None:
        post_migrate.connect(_ensure_housekeeping, sender=self, dispatch_uid="jobs.housekeeping")
