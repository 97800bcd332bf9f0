"""Delete finished runs older than an age, with their log lines and per-run rows.

`RUN_RETENTION_DAYS` does the same every day from a housekeeping schedule; this command is for
a one-off clean-up or for sites that prefer cron. Queued and running runs are never deleted.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs.retention import BATCH_SIZE, parse_age, prune_runs


class Command(BaseCommand):
    help = (
        "Delete finished runs (succeeded, warning, failed, cancelled) older than --older-than, "
        "with their logs, checkpoints and conflicts. Active runs are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            required=True,
            metavar="AGE",
            help="How long ago a run must have finished: e.g. 90d, 12h, 2w.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count what would be deleted."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"Runs deleted per transaction (default {BATCH_SIZE}).",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            age = parse_age(opts["older_than"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if opts["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        result = prune_runs(older_than=age, dry_run=opts["dry_run"], batch_size=opts["batch_size"])
        when = result.cutoff.strftime("%Y-%m-%d %H:%M %Z")
        if result.dry_run:
            self.stdout.write(
                f"Would delete {result.runs} finished runs (and {result.log_lines} log lines) "
                f"that finished before {when}. Nothing was deleted (dry run)."
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Deleted {result.runs} finished runs (and {result.log_lines} log lines) "
                    f"that finished before {when}."
                )
            )
