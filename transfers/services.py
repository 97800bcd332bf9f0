"""The single entry point to start a transfer run: admin, pages, API, CLI and schedules call it."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from jobs.models import Run, Schedule
from jobs.services import Busy, launch

from .models import Transfer

KIND = "transfer"


#: The name earlier code used for the overlap error; it is the one `jobs.services.Busy`.
TransferBusy = Busy


class NotResumable(Exception):
    pass


def start_transfer(
    transfer: Transfer,
    *,
    user: AbstractBaseUser | None,
    trigger: str,
    schedule: Schedule | None = None,
    enqueue: bool = True,
    dry_run: bool = False,
    full: bool = False,
    resume_of: Run | None = None,
) -> Run:
    """Queue a run of `transfer`; raises `jobs.services.Busy` while one is queued or running.

    The start function of the `transfer` operation (`jobs.registry`): the admin, pages, API,
    schedules, `manage.py transfer` and `manage.py run_job` all call it. `resume_of` continues
    a failed or cancelled run: chunks it checkpointed are not sent again, and the periods it
    resolved are reused. `full` ignores an incremental transfer's watermark.
    """
    params: dict = {"transfer_id": transfer.pk, "dry_run": bool(dry_run)}
    if full:
        params["full"] = True
    if resume_of is not None:
        check_resumable(transfer, resume_of)
        params["resume_of"] = resume_of.pk
        if resume_of.params.get("full"):  # finish a full run as a full run
            params["full"] = True
    label = "Dry run" if dry_run else ("Resume" if resume_of else "Transfer")
    return launch(
        KIND,
        params,
        user=user,
        trigger=trigger,
        title=f"{label}: {transfer.name}",
        target=transfer.target,
        schedule=schedule,
        enqueue=enqueue,
    )


def check_resumable(transfer: Transfer, run: Run) -> None:
    if run.kind != KIND or run.params.get("transfer_id") != transfer.pk:
        raise NotResumable(f"Run #{run.pk} is not a run of transfer {transfer.name}.")
    if run.params.get("dry_run"):
        raise NotResumable(
            "A dry run wrote nothing, so there is nothing to resume: start a new run."
        )
    if run.status not in (Run.Status.FAILED, Run.Status.CANCELLED):
        raise NotResumable(
            f"Only failed or cancelled runs can be resumed; run #{run.pk} is {run.status}."
        )


def resume_chain(run: Run) -> list[int]:
    """Ids of `run` and every run it resumed, newest first (their checkpoints all count)."""
    chain, seen = [], set()
    current: Run | None = run
    while current is not None and current.pk not in seen:
        chain.append(current.pk)
        seen.add(current.pk)
        previous = current.params.get("resume_of")
        current = Run.objects.filter(pk=previous).first() if previous else None
    return chain
