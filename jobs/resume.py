"""Resuming a run: the rule for which runs may be resumed, and the chain of runs a resume reads.

Aggregate and event transfers checkpoint what they sent; a new run started with `resume_of`
skips what the stopped run (and every run it resumed in turn) already sent. Both operations
build their run parameters and check the run to resume here, so the rule is written once.
"""

from __future__ import annotations

from typing import Any

from .models import Run


class NotResumable(ValueError):
    """The run asked for cannot be resumed (another job's, a dry run, or not stopped).

    A `ValueError`, so faces that refuse bad input answer it as they answer other bad input
    (a 400 on the API, a warning on the pages)."""


def check_resumable(run: Run, *, kind: str, param: str, pk: int, what: str) -> None:
    """Raise `NotResumable` unless `run` is a stopped, writing run of the job `param`=`pk`.

    `what` names the job in the message ("transfer Nightly")."""
    if run.kind != kind or run.params.get(param) != pk:
        raise NotResumable(f"Run #{run.pk} is not a run of {what}.")
    if run.params.get("dry_run"):
        raise NotResumable(
            "A dry run wrote nothing, so there is nothing to resume: start a new run."
        )
    if run.status not in (Run.Status.FAILED, Run.Status.CANCELLED):
        raise NotResumable(
            f"Only failed or cancelled runs can be resumed; run #{run.pk} is {run.status}."
        )


def resumable_params(
    *,
    kind: str,
    param: str,
    pk: int,
    what: str,
    dry_run: bool,
    full: bool,
    resume_of: Run | None,
) -> dict[str, Any]:
    """The parameters of a new run of a resumable job (`param`: the id of its object).

    A resume is checked first (`check_resumable`) and finishes a full run as a full run, since
    the watermark it would otherwise read belongs to the runs that came before it."""
    params: dict[str, Any] = {param: pk, "dry_run": bool(dry_run)}
    if full:
        params["full"] = True
    if resume_of is not None:
        check_resumable(resume_of, kind=kind, param=param, pk=pk, what=what)
        params["resume_of"] = resume_of.pk
        if resume_of.params.get("full"):
            params["full"] = True
    return params


def run_label(default: str, *, dry_run: bool, resume_of: Run | None) -> str:
    """The first word of a resumable run's title: what kind of run it is."""
    return "Dry run" if dry_run else ("Resume" if resume_of else default)


def resume_chain(run: Run) -> list[int]:
    """Ids of `run` and every run it resumed, newest first (their checkpoints all count)."""
    chain: list[int] = []
    seen: set[int] = set()
    current: Run | None = run
    while current is not None and current.pk not in seen:
        chain.append(current.pk)
        seen.add(current.pk)
        previous = current.params.get("resume_of")
        current = Run.objects.filter(pk=previous).first() if previous else None
    return chain
