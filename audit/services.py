"""Audit entries of our own: runs launched and cancelled.

They are django-auditlog `LogEntry` rows too, so the admin and `GET /api/v1/audit/` show one
table in one shape: the target is the run, `action` is auditlog's ACCESS (its only action that
is not a model change) and `additional_data["action"]` says what happened ("launched",
"cancelled") with the run's kind, trigger and job target ("transfer:5"). Metadata apply and
completeness marking are runs of their own kinds, so "launched metadata_apply ..." is the
entry that says who applied or marked what.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auditlog.models import LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model

from accounts.actors import Actor

LAUNCHED = "launched"
CANCELLED = "cancelled"

#: API action name -> auditlog action, for model changes.
CHANGE_ACTIONS = {
    "created": LogEntry.Action.CREATE,
    "changed": LogEntry.Action.UPDATE,
    "deleted": LogEntry.Action.DELETE,
}
#: Our own actions (stored as ACCESS with `additional_data["action"]`).
RUN_ACTIONS = (LAUNCHED, CANCELLED)
ACTIONS = (*CHANGE_ACTIONS, *RUN_ACTIONS)


def _actor(user: Actor) -> User | None:
    return user if user is not None and user.is_authenticated else None


def record_run_action(action: str, run: Model, *, user: Actor) -> LogEntry:
    """Record that `user` (None: the system, e.g. a schedule) launched or cancelled `run`."""
    if action not in RUN_ACTIONS:
        raise ValueError(f"Unknown run action {action!r}; use one of {', '.join(RUN_ACTIONS)}.")
    actor = _actor(user)
    kind: str = getattr(run, "kind", "")
    title: str = getattr(run, "title", "") or str(run)
    trigger: str = getattr(run, "trigger", "")
    details: dict[str, Any] = {
        "action": action,
        "kind": kind,
        "trigger": trigger,
        "job_target": getattr(run, "target", ""),
        "summary": f"{action} {kind} “{title}” (run #{run.pk}, {trigger})",
    }
    return LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(run),
        object_pk=str(run.pk),
        object_id=run.pk,
        object_repr=title[:200],
        action=LogEntry.Action.ACCESS,
        changes=None,
        actor=actor,
        actor_email=getattr(actor, "email", None) if actor is not None else None,
        additional_data=details,
    )


def entry_action(entry: LogEntry) -> str:
    """The readable action of an entry: created, changed, deleted, launched or cancelled."""
    if entry.action == LogEntry.Action.ACCESS:
        return str((entry.additional_data or {}).get("action") or "accessed")
    for name, value in CHANGE_ACTIONS.items():
        if entry.action == value:
            return name
    return str(entry.action)


def changed_fields(entry: LogEntry) -> list[str]:
    """Names of the fields an entry changed, secrets by their plain name ("password")."""
    changes = entry.changes if isinstance(entry.changes, dict) else {}
    return [name.removesuffix("_encrypted") for name in changes]


def log_bulk_created(objects: Iterable[Model]) -> None:
    """Log rows saved with `bulk_create` (which sends no signal) as auditlog's own receiver
    would have, with the registered field rules and the request's actor."""
    from auditlog.receivers import log_create

    for obj in objects:
        log_create(sender=type(obj), instance=obj, created=True)
