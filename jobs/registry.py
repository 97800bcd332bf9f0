"""The one registry of operations: every kind of background work, described once.

An operation is its app plus one `Operation` entry in `OPERATIONS`. The entry says what the
operation is called, which model a run of it works on, the single start function that every
face calls (admin action, page, API endpoint, schedule, `manage.py run_job` and the app's own
command), the task body the worker executes, how its overlap target is built, and whether a
schedule may run it. Nothing else in the project lists operations: the run and schedule forms,
the admin filters and the API choices are all read from here.

Functions are named by dotted path, so this module imports no app code and an app can be added
without import cycles.

Adding an operation
-------------------
1. In the app: `start_<op>(obj, **start: Unpack[StartOptions]) -> Run` in `services.py` (it
   builds the run's parameters and title and calls `jobs.services.launch_on(key, obj.pk, ...)`,
   or `launch_resumable(...)` for a run that can resume an earlier one), and
   `run_<op>(ctx) -> status` in `tasks.py`.
2. Here: one `_operation(...)` entry in `OPERATIONS` (it derives the start and task paths).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import models

if TYPE_CHECKING:
    from .context import RunContext
    from .models import Run


def _resolve(dotted: str) -> Any:
    module, _, name = dotted.rpartition(".")
    return getattr(import_module(module), name)


def target_for(key: str, pk: int | str) -> str:
    """The overlap key of one job, e.g. "transfer:5": at most one active run per target."""
    return f"{key}:{pk}"


@dataclass(frozen=True)
class Operation:
    key: str  # Run.kind, Schedule.job_type and the prefix of the overlap target
    label: str
    model: str  # "app_label.Model": what one job of this operation is
    start: str  # dotted path of start(obj, *, user, trigger, schedule, enqueue, **options)
    task: str  # dotted path of the task body: handler(ctx) -> Run.Status | None
    object_param: str  # the run parameter that holds the object's id
    schedulable: bool = True

    # --- the object a job works on ---------------------------------------------------------
    def model_class(self) -> type[models.Model] | None:
        try:
            return apps.get_model(self.model)
        except (LookupError, ValueError):
            return None

    @property
    def available(self) -> bool:
        return self.model_class() is not None

    def objects(self) -> models.QuerySet[models.Model]:
        model = self.model_class()
        if model is None:
            raise LookupError(f"The model {self.model} of operation {self.key!r} does not exist.")
        return model._default_manager.all()

    def get_object(self, pk: Any) -> models.Model | None:
        if pk in (None, "") or not self.available:
            return None
        try:
            return self.objects().filter(pk=pk).first()
        except (ValueError, TypeError):
            return None

    def target(self, pk: int | str) -> str:
        return target_for(self.key, pk)

    # --- starting and running ----------------------------------------------------------------
    def start_run(self, obj: models.Model, **kwargs: Any) -> Run:
        """Start a run of this operation on `obj` (raises `jobs.services.Busy` on overlap)."""
        start: Callable[..., Run] = _resolve(self.start)
        return start(obj, **kwargs)

    def handler(self) -> Callable[[RunContext], str | None]:
        task: Callable[[RunContext], str | None] = _resolve(self.task)
        return task


def _operation(
    key: str,
    label: str,
    model: str,
    object_param: str,
    *,
    task: str | None = None,
    schedulable: bool = True,
) -> Operation:
    """An entry that follows the app conventions, so each one states only what differs.

    The app is the model's app label; its start function is `<app>.services.start_<key>` and
    its task body `<app>.tasks.run_<key>` unless `task` names another function in `tasks.py`.
    """
    app = model.partition(".")[0]
    return Operation(
        key=key,
        label=label,
        model=model,
        start=f"{app}.services.start_{key}",
        task=f"{app}.tasks.{task or f'run_{key}'}",
        object_param=object_param,
        schedulable=schedulable,
    )


OPERATIONS: dict[str, Operation] = {
    op.key: op
    for op in (
        # key, label, model, object_param (start and task follow from key and app)
        _operation("transfer", "Aggregate data transfer", "transfers.Transfer", "transfer_id"),
        _operation(
            "connection_check",
            "Connection check",
            "connections.Instance",
            "instance_id",
            task="check_connection",  # named before the convention
        ),
        _operation(
            "event_transfer", "Tracker event transfer", "tracker.EventTransfer", "event_transfer_id"
        ),
        _operation(
            "metadata_assessment",
            "Metadata assessment",
            "metadata_sync.MetadataAssessment",
            "assessment_id",
        ),
        _operation(
            "metadata_apply",
            "Metadata validation and apply",
            "metadata_sync.MetadataAssessment",
            "assessment_id",
            schedulable=False,
        ),
        _operation(
            "completeness_assessment",
            "Completeness assessment",
            "completeness.CompletenessAssessment",
            "assessment_id",
        ),
        _operation(
            "completeness_mark",
            "Completeness marking",
            "completeness.CompletenessAssessment",
            "assessment_id",
            schedulable=False,
        ),
    )
}


def get_operation(key: str) -> Operation:
    try:
        return OPERATIONS[key]
    except KeyError:
        known = ", ".join(sorted(OPERATIONS))
        raise ValueError(f"Unknown job kind {key!r}; known kinds: {known}.") from None


def kind_choices() -> list[tuple[str, str]]:
    """Every operation, for filters and the run list."""
    return [(op.key, op.label) for op in OPERATIONS.values()]


def schedulable_operations() -> list[Operation]:
    """The operations a schedule may run right now (schedulable, model present)."""
    return [op for op in OPERATIONS.values() if op.schedulable and op.available]


def job_type_choices() -> list[tuple[str, str]]:
    return [(op.key, op.label) for op in schedulable_operations()]
