"""Run a job in the foreground: an existing queued run, or a new one of a given kind."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from jobs.kinds import KINDS
from jobs.models import Run
from jobs.services import launch
from jobs.tasks import execute_run


class Command(BaseCommand):
    help = "Run a queued run in the foreground, or start a new run of a kind (trigger: cli)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("run_id", nargs="?", type=int, help="A queued run to execute.")
        parser.add_argument("--kind", choices=sorted(KINDS), help="Start a new run of this kind.")
        parser.add_argument("--params", default="{}", help="JSON parameters for --kind.")

    def handle(self, *args, **opts) -> None:
        if bool(opts["run_id"]) == bool(opts["kind"]):
            raise CommandError("Give either a run id or --kind.")
        if opts["kind"]:
            try:
                params = json.loads(opts["params"])
            except json.JSONDecodeError as exc:
                raise CommandError(f"--params is not valid JSON: {exc}") from exc
            if not isinstance(params, dict):
                raise CommandError('--params must be a JSON object, e.g. {"instance_ids": [1]}.')
            run = launch(opts["kind"], params, user=None, trigger=Run.Trigger.CLI, enqueue=False)
            run_id = run.pk
        else:
            run_id = opts["run_id"]
            run = Run.objects.filter(pk=run_id).first()
            if run is None:
                raise CommandError(f"There is no run #{run_id}.")
            if run.status != Run.Status.QUEUED:
                raise CommandError(f"Run #{run_id} is {run.status}; only queued runs can be run.")
        status = execute_run(run_id)
        run = Run.objects.get(pk=run_id)
        for entry in run.log_entries.all():
            self.stdout.write(f"{entry.time:%H:%M:%S} {entry.level:7} {entry.message}")
        self.stdout.write(f"Run #{run_id}: {status}")
        if status == Run.Status.FAILED:
            raise CommandError(run.error or "The run failed.")
