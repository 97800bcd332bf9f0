"""Rebuild the django-q2 schedules from ours where they drifted (deleted or edited by hand, a
lost runner task, a restored database), and remove django-q2 schedules nobody owns."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs.qschedules import repair_schedules


class Command(BaseCommand):
    help = "Make the django-q2 schedules match the dhis2sync schedules (safe to run any time)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Only report drift; exit with an error if anything needs rebuilding.",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        report = repair_schedules(dry_run=opts["check"])
        verb = "would rebuild" if opts["check"] else "rebuilt"
        for line in report.rebuilt:
            self.stdout.write(f"{verb}: {line}")
        summary = (
            f"{report.in_sync} in sync, {len(report.rebuilt)} {verb}, "
            f"{report.removed} stray django-q2 schedule(s) "
            f"{'to remove' if opts['check'] else 'removed'}."
        )
        if opts["check"] and (report.rebuilt or report.removed):
            raise CommandError(f"Schedules have drifted: {summary}")
        self.stdout.write(self.style.SUCCESS(summary))
