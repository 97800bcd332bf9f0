"""E-mail notices about scheduled runs: failed, paused after failures, and (when asked)
succeeded or finished with warnings. The text lives in templates (`jobs/email/`).

Mail problems are logged and noted in the run's log, never raised: they must not undo the
bookkeeping of the run that caused them.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .cron import describe_cron
from .models import Run, RunLogEntry, Schedule

logger = logging.getLogger(__name__)

Event = Literal["failed", "paused", "succeeded", "warning"]


def site_link(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _local(when: datetime | None) -> str:
    return f"{timezone.localtime(when):%Y-%m-%d %H:%M:%S %Z}" if when else ""


def notification_message(schedule: Schedule, run: Run, event: Event) -> tuple[str, str]:
    """Subject and plain-text body of a notice; names the schedule, the run, status and links."""
    results = ""
    if run.stats and event != "failed":
        results = ", ".join(f"{k}={v}" for k, v in run.stats.items())
    context = {
        "schedule": schedule,
        "run": run,
        "event": event,
        "when": describe_cron(schedule.cron),
        "status_text": run.get_status_display().lower(),
        "started": _local(run.started_at),
        "finished": _local(run.finished_at),
        "results": results,
        "run_url": site_link(reverse("run-detail", args=[run.pk])),
        "schedule_url": site_link(reverse("schedule-detail", args=[schedule.pk])),
    }
    subject = render_to_string("jobs/email/schedule_notice_subject.txt", context).strip()
    body = render_to_string("jobs/email/schedule_notice_body.txt", context)
    return subject, body


def notify(schedule: Schedule, run: Run, event: Event) -> list[str]:
    """E-mail a notice to the schedule's recipients (or the site admins) and note it in the
    run's log. Returns the recipients it was sent to."""
    recipients = schedule.recipients or [email for _, email in settings.ADMINS]
    if not recipients:
        RunLogEntry.objects.create(
            run=run,
            level=RunLogEntry.Level.WARNING,
            message=f"No {event} notice sent: the schedule has no e-mail addresses and "
            "ADMIN_EMAILS is empty.",
        )
        return []
    subject, body = notification_message(schedule, run, event)
    try:
        send_mail(subject, body, None, recipients, fail_silently=False)
    except Exception as exc:
        logger.exception("Could not e-mail the %s notice of run %s", event, run.pk)
        RunLogEntry.objects.create(
            run=run,
            level=RunLogEntry.Level.WARNING,
            message=f"Could not e-mail the {event} notice: {exc}",
        )
        return []
    RunLogEntry.objects.create(
        run=run, message=f"E-mailed the {event} notice to {', '.join(recipients)}."
    )
    return recipients
