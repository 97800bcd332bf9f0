"""Run a job in the foreground: an existing queued run, or a new one of an operation."""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs.models import Run
from jobs.registry import OPERATIONS, Operation
from jobs.services import Busy
from jobs.tasks import execute_run


def _object_and_options(op: Operation, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Split run parameters into the object the operation works on and its start options.

    The object's id is the operation's `object_param` ("transfer_id", "instance_id"); a
    connection check also takes the `{"instance_ids": [N]}` form its runs are stored with.
    """
    options = dict(params)
    key = op.object_param
    if key not in options and key.endswith("_id") and f"{key}s" in options:
        ids = options.pop(f"{key}s")
        if not (isinstance(ids, list) and len(ids) == 1):
            raise CommandError(f'Give one object: {{"{key}": N}}.')
        options[key] = ids[0]
    pk = options.pop(key, None)
    obj = op.get_object(pk)
    if obj is None:
        raise CommandError(
            f"There is no {op.label.lower()} with id {pk!r}; give one in --params, "
            f'e.g. {{"{key}": 1}}.'
        )
    if "resume_of" in options:  # a run id on the command line, a run for the start function
        previous = Run.objects.filter(pk=options["resume_of"]).first()
        if previous is None:
            raise CommandError(f"There is no run #{options['resume_of']} to resume.")
        options["resume_of"] = previous
    return obj, options


class Command(BaseCommand):
    help = "Run a queued run in the foreground, or start a new run of an operation (trigger: cli)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run_id", nargs="?", type=int, help="A queued run to execute.")
        parser.add_argument(
            "--kind", choices=sorted(OPERATIONS), help="Start a new run of this operation."
        )
        parser.add_argument(
            "--params",
            default="{}",
            help='JSON: the object\'s id and start options, e.g. {"transfer_id": 1}.',
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if bool(opts["run_id"]) == bool(opts["kind"]):
            raise CommandError("Give either a run id or --kind.")
        if opts["kind"]:
            run_id = self._start(OPERATIONS[opts["kind"]], opts["params"]).pk
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

    def _start(self, op: Operation, raw_params: str) -> Run:
        """Start through the operation's own start function, like every other face: same
        parameters, title and overlap guard."""
        try:
            params = json.loads(raw_params)
        except json.JSONDecodeError as exc:
            raise CommandError(f"--params is not valid JSON: {exc}") from exc
        if not isinstance(params, dict):
            raise CommandError(f'--params must be a JSON object, e.g. {{"{op.object_param}": 1}}.')
        obj, options = _object_and_options(op, params)
        try:
            return op.start_run(obj, user=None, trigger=Run.Trigger.CLI, enqueue=False, **options)
        except Busy as exc:
            raise CommandError(f"Not started: {exc}") from None
        except TypeError as exc:  # an option the start function does not take
            name = re.search(r"keyword argument '([^']+)'", str(exc))
            what = f"'{name.group(1)}'" if name else str(exc)
            raise CommandError(f"--params has an option {op.key} does not take: {what}.") from None
        except (ValueError, LookupError) as exc:
            raise CommandError(str(exc)) from None
