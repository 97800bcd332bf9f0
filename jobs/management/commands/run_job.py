"""Run a job in the foreground: an existing queued run, or a new one of a given kind."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jobs.kinds import KINDS
from jobs.models import Run
from jobs.services import TargetBusy, active_run_for, launch
from jobs.tasks import execute_run


def _transfer_job(params: dict[str, Any]) -> tuple[str, str]:
    """The overlap target and title of a transfer run, as `transfers.services.start_transfer`
    makes them, so a run started here never overlaps one started from a page or a schedule."""
    from transfers.models import Transfer
    from transfers.services import NotResumable, check_resumable

    transfer_id = params.get("transfer_id")
    transfer = Transfer.objects.filter(pk=transfer_id).first() if transfer_id else None
    if transfer is None:
        raise CommandError(
            f"There is no transfer with id {transfer_id!r}; "
            'give one in --params, e.g. {"transfer_id": 1}.'
        )
    if resume_of := params.get("resume_of"):
        previous = Run.objects.filter(pk=resume_of).first()
        if previous is None:
            raise CommandError(f"There is no run #{resume_of} to resume.")
        try:
            check_resumable(transfer, previous)
        except NotResumable as exc:
            raise CommandError(str(exc)) from None
    label = "Dry run" if params.get("dry_run") else ("Resume" if resume_of else "Transfer")
    return transfer.target, f"{label}: {transfer.name}"


def _connection_check_job(params: dict[str, Any]) -> tuple[str, str]:
    """A check of one instance shares the target a schedule of that instance uses; a check of
    several (or all) instances has none, since it only reads."""
    ids = params.get("instance_ids") or []
    if isinstance(ids, list) and len(ids) == 1:
        return f"connection_check:{ids[0]}", ""
    return "", ""


#: How each kind's own start path names its overlap target (and title) from the parameters.
#: A kind missing here has no target, so its runs may overlap.
JOB_TARGETS = {"transfer": _transfer_job, "connection_check": _connection_check_job}


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
            run = self._start(opts["kind"], opts["params"])
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

    def _start(self, kind: str, raw_params: str) -> Run:
        """Save a new queued run through the same overlap guard as every other face."""
        try:
            params = json.loads(raw_params)
        except json.JSONDecodeError as exc:
            raise CommandError(f"--params is not valid JSON: {exc}") from exc
        if not isinstance(params, dict):
            raise CommandError('--params must be a JSON object, e.g. {"instance_ids": [1]}.')
        target, title = JOB_TARGETS[kind](params) if kind in JOB_TARGETS else ("", "")
        busy = active_run_for(target)
        if busy is not None:
            raise CommandError(_busy_message(target, busy))
        try:
            return launch(
                kind,
                params,
                user=None,
                trigger=Run.Trigger.CLI,
                title=title,
                target=target,
                enqueue=False,
            )
        except TargetBusy as exc:  # started elsewhere between the check and the save
            if exc.run is None:
                raise CommandError(str(exc)) from None
            raise CommandError(_busy_message(target, exc.run)) from None


def _busy_message(target: str, busy: Run) -> str:
    return (
        f"Not started: {busy.title or target} is already {busy.status} as run #{busy.pk}; "
        "runs of one job never overlap. Wait for it to finish or cancel it."
    )
