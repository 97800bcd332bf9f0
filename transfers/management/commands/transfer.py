"""Run a saved transfer from the shell, in the foreground: `manage.py transfer <name-or-id>`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs.models import Run
from jobs.services import Busy
from jobs.tasks import execute_run
from transfers.models import Transfer
from transfers.services import start_transfer


class Command(BaseCommand):
    help = "Run a saved transfer now, in this process (for cron users and debugging)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("transfer", help="The transfer's name or id.")
        parser.add_argument("--dry-run", action="store_true", help="Validate only; write nothing.")
        parser.add_argument(
            "--full",
            action="store_true",
            help="Send everything even if the transfer is incremental (ignore the watermark).",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        key = opts["transfer"]
        transfer = Transfer.objects.filter(name=key).first()
        if transfer is None and key.isdigit():
            transfer = Transfer.objects.filter(pk=int(key)).first()
        if transfer is None:
            names = ", ".join(Transfer.objects.values_list("name", flat=True)[:20]) or "none yet"
            raise CommandError(f"No transfer named or numbered {key!r}. Transfers: {names}.")
        try:
            run = start_transfer(
                transfer,
                user=None,
                trigger=Run.Trigger.CLI,
                enqueue=False,  # run here, in the foreground
                dry_run=opts["dry_run"],
                full=opts["full"],
            )
        except Busy as exc:
            raise CommandError(f"Not started: {exc}") from None
        status = execute_run(run.pk)
        for entry in run.log_entries.all():
            self.stdout.write(f"{entry.time:%H:%M:%S} {entry.level:7} {entry.message}")
        run.refresh_from_db()
        stats = ", ".join(f"{k}={v}" for k, v in run.stats.items() if not isinstance(v, list))
        self.stdout.write(f"Run #{run.pk}: {status}. {stats}")
        if status == Run.Status.FAILED:
            raise CommandError(run.error)
