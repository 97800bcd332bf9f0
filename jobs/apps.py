from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_housekeeping(sender: AppConfig, **kwargs: Any) -> None:
    from .qschedules import ensure_housekeeping

    ensure_housekeeping()


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Runs and schedules"

    def ready(self) -> None:
        post_migrate.connect(_ensure_housekeeping, sender=self, dispatch_uid="jobs.housekeeping")
