from django.apps import AppConfig
from django.db.models.signals import post_migrate

STALL_CHECK_NAME = "dhis2sync: fail stalled runs"


def _ensure_housekeeping(sender, **kwargs) -> None:
    """Keep one django-q2 schedule that reaps stalled runs every five minutes."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=STALL_CHECK_NAME,
        defaults={
            "func": "jobs.tasks.fail_stalled_runs",
            "schedule_type": Schedule.MINUTES,
            "minutes": 5,
            "repeats": -1,
        },
    )


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Runs and schedules"

    def ready(self) -> None:
        post_migrate.connect(_ensure_housekeeping, sender=self, dispatch_uid="jobs.housekeeping")
