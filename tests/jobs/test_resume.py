"""The one rule for resuming a run (`jobs.resume`), which aggregate and event transfers share."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.models import Run
from jobs.resume import NotResumable, check_resumable, resumable_params, resume_chain, run_label

pytestmark = pytest.mark.django_db


def _run(status: str = "failed", **params) -> Run:
    return Run.objects.create(
        kind="transfer", trigger="web", status=status, params={"transfer_id": 7, **params}
    )


def _check(run: Run, pk: int = 7) -> None:
    check_resumable(run, kind="transfer", param="transfer_id", pk=pk, what="transfer Nightly")


def test_a_stopped_writing_run_of_the_job_may_be_resumed() -> None:
    _check(_run("failed"))
    _check(_run("cancelled"))


@pytest.mark.parametrize(
    ("run_kwargs", "pk", "expected"),
    [
        ({}, 8, "is not a run of transfer Nightly."),
        ({"dry_run": True}, 7, "A dry run wrote nothing"),
        ({"status": "succeeded"}, 7, "Only failed or cancelled runs can be resumed"),
        ({"status": "running"}, 7, "is running."),
    ],
)
def test_other_runs_are_refused_saying_why(run_kwargs: dict, pk: int, expected: str) -> None:
    with pytest.raises(NotResumable, match=expected):
        _check(_run(**run_kwargs), pk=pk)


def test_a_run_of_another_kind_is_refused_even_with_the_same_id() -> None:
    other = Run.objects.create(
        kind="event_transfer", trigger="web", status="failed", params={"transfer_id": 7}
    )
    with pytest.raises(NotResumable, match="not a run of"):
        _check(other)


def test_not_resumable_is_a_value_error() -> None:
    # The faces answer it as bad input: a 400 on the API, a warning on the pages.
    assert issubclass(NotResumable, ValueError)


#: What names the job in `resumable_params`: transfer 7, "transfer Nightly" in messages.
TRANSFER_7: dict[str, Any] = {
    "kind": "transfer",
    "param": "transfer_id",
    "pk": 7,
    "what": "transfer Nightly",
}


def test_params_of_a_resume_finish_a_full_run_as_full() -> None:
    stopped = _run(full=True)
    params = resumable_params(**TRANSFER_7, dry_run=False, full=False, resume_of=stopped)
    assert params == {"transfer_id": 7, "dry_run": False, "resume_of": stopped.pk, "full": True}


def test_params_of_a_new_run_are_only_what_was_asked() -> None:
    common = {**TRANSFER_7, "resume_of": None}
    assert resumable_params(dry_run=True, full=False, **common) == {
        "transfer_id": 7,
        "dry_run": True,
    }
    assert resumable_params(dry_run=False, full=True, **common) == {
        "transfer_id": 7,
        "dry_run": False,
        "full": True,
    }


def test_a_refused_resume_gives_no_params() -> None:
    with pytest.raises(NotResumable):
        resumable_params(**TRANSFER_7, dry_run=False, full=False, resume_of=_run("succeeded"))


def test_labels() -> None:
    resumed = _run()
    assert run_label("Transfer", dry_run=True, resume_of=resumed) == "Dry run"
    assert run_label("Transfer", dry_run=False, resume_of=resumed) == "Resume"
    assert run_label("Transfer", dry_run=False, resume_of=None) == "Transfer"


def test_the_chain_is_newest_first_and_stops_at_a_loop_or_a_missing_run() -> None:
    first = _run()
    second = _run(resume_of=first.pk)
    third = _run(resume_of=second.pk)
    assert resume_chain(third) == [third.pk, second.pk, first.pk]
    # A loop (a corrupted record) ends the chain instead of running forever.
    first.params = {**first.params, "resume_of": third.pk}
    first.save()
    assert resume_chain(third) == [third.pk, second.pk, first.pk]
    gone = _run(resume_of=999_999)
    assert resume_chain(gone) == [gone.pk]
