"""The single entry points of completeness: validate and save an assessment, start its run,
start a marking run. The admin, pages, API and schedules call these; none re-creates params or
the busy check.

An assessment is the record of a run, not configuration: creating one needs `jobs.launch_run`
(operators may), and its parameters are validated here against the instance's DHIS2 (the data
set exists, periods are of its type, required elements belong to it, org units exist there), so
bad input is a field error before any run starts, never a failed run with a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Unpack

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.actors import Actor
from connections.crypto import CredentialDecryptionError
from connections.models import Instance
from connections.services import CredentialsMissing, client_for
from dhis2.errors import Dhis2Error
from dhis2.periods import PeriodError, parse_period, validate_relative
from dhis2.uids import is_valid_uid
from jobs.models import Run
from jobs.services import StartOptions, launch_on

from .assess import AssessmentFailed, AssessmentSpec, read_data_set, resolve_periods
from .compliance import DISAGGREGATIONS
from .models import CompletenessAssessment, CompletenessRow

ASSESS = "completeness_assessment"
MARK = "completeness_mark"
MARK_ACTIONS = ("complete", "incomplete")
#: Org units checked per `organisationUnits?filter=id:in:[...]` request (URL length).
_OU_BATCH = 100


@dataclass(frozen=True)
class AssessmentInput:
    """What a user asks to assess, as parsed by a form or serializer (field names = API)."""

    instance: Instance | None
    data_set: str
    org_units: list[str]
    periods: list[str]
    relative_period: str | None = None
    relative_count: int | None = None
    include_descendants: bool = True
    level: int | None = None
    required_data_elements: tuple[str, ...] = ()
    threshold: float = 100.0
    disaggregation: str = "any"

    def params(self) -> dict[str, Any]:
        """The request as stored on the assessment (ids and options only)."""
        return {
            "periods": list(self.periods),
            "relative_period": self.relative_period or None,
            "relative_count": self.relative_count,
            "org_units": list(self.org_units),
            "include_descendants": bool(self.include_descendants),
            "level": self.level,
            "required_data_elements": list(self.required_data_elements),
            "threshold": float(self.threshold),
            "disaggregation": self.disaggregation,
        }


def _add(errors: dict[str, list[str]], key: str, message: str) -> None:
    errors.setdefault(key, []).append(message)


def _local_errors(data: AssessmentInput) -> dict[str, list[str]]:
    """Everything that can be judged without asking DHIS2."""
    errors: dict[str, list[str]] = {}
    if data.instance is None:
        _add(errors, "instance", "Choose an instance.")
    if not is_valid_uid(data.data_set):
        _add(errors, "data_set", f"'{data.data_set}' is not a DHIS2 UID (11 characters).")
    if not data.org_units:
        _add(errors, "org_units", "Choose at least one org unit.")
    bad = [ou for ou in data.org_units if not is_valid_uid(ou)]
    if bad:
        _add(errors, "org_units", f"Not DHIS2 UIDs: {', '.join(map(str, bad))}.")
    if data.periods and data.relative_period:
        _add(errors, "periods", "Use either explicit periods or a relative period, not both.")
    elif not data.periods and not data.relative_period:
        _add(errors, "periods", "Give explicit periods or choose a relative period.")
    unreadable = []
    for period in data.periods:
        try:
            parse_period(period)
        except PeriodError:
            unreadable.append(str(period))
    if unreadable:
        # Whether a period suits the data set's period type needs DHIS2; an id of no period
        # type at all is wrong wherever the instance is, so it is said before asking it.
        _add(errors, "periods", f"Not DHIS2 period ids: {', '.join(unreadable)}.")
    if data.relative_period:
        try:
            validate_relative(data.relative_period, data.relative_count)
        except PeriodError as exc:
            key = "relative_count" if "number of periods" in str(exc) else "relative_period"
            _add(errors, key, str(exc))
    elif data.relative_count is not None:
        _add(errors, "relative_count", "A number of periods goes with a relative period only.")
    if data.level is not None:
        if data.level < 1:
            _add(errors, "level", "A level is 1 (the top of the hierarchy) or more.")
        elif not data.include_descendants:
            _add(errors, "level", "A level applies only when descendants are included.")
    bad = [de for de in data.required_data_elements if not is_valid_uid(de)]
    if bad:
        _add(errors, "required_data_elements", f"Not DHIS2 UIDs: {', '.join(map(str, bad))}.")
    if not 0 <= data.threshold <= 100:
        _add(errors, "threshold", "The threshold must be between 0 and 100 percent.")
    if data.disaggregation not in DISAGGREGATIONS:
        _add(
            errors,
            "disaggregation",
            f"Choose 'any' or 'all', not {data.disaggregation!r}.",
        )
    return errors


def _org_unit_names(client: Any, uids: Sequence[str]) -> dict[str, str]:
    """UID -> name of those of `uids` that exist on the instance."""
    found: dict[str, str] = {}
    for start in range(0, len(uids), _OU_BATCH):
        batch = list(dict.fromkeys(uids[start : start + _OU_BATCH]))
        items = client.list_all(
            "organisationUnits", fields="id,name", filters=[f"id:in:[{','.join(batch)}]"]
        )
        for item in items:
            if isinstance(item, dict) and item.get("id"):
                found[str(item["id"])] = str(item.get("name") or item["id"])
    return found


def create_assessment(data: AssessmentInput, *, user: Actor) -> CompletenessAssessment:
    """Validate `data` (locally, then against the instance's DHIS2) and save the assessment.

    Raises `ValidationError` with a dict keyed by field: forms show it as field errors, the API
    as a 400. A DHIS2 that cannot be reached, or a credential that cannot be used, is an error
    on `instance` with DHIS2's message (the user can act on it), not a 500.
    """
    errors = _local_errors(data)
    if errors:
        raise ValidationError(errors)
    assert data.instance is not None
    spec = AssessmentSpec(
        data_set=data.data_set,
        org_units=list(data.org_units),
        periods=list(data.periods),
        relative_period=data.relative_period or None,
        relative_count=data.relative_count,
    )
    try:
        with client_for(data.instance, max_attempts=2) as client:
            try:
                structure = read_data_set(client, data.data_set)
            except AssessmentFailed as exc:
                raise ValidationError({"data_set": [str(exc)]}) from exc
            try:
                resolve_periods(client, structure, spec)
            except AssessmentFailed as exc:
                raise ValidationError({"periods": [str(exc)]}) from exc
            except PeriodError as exc:
                key = "relative_period" if data.relative_period else "periods"
                raise ValidationError({key: [str(exc)]}) from exc
            try:
                structure.counted(list(data.required_data_elements) or None)
            except ValueError as exc:
                raise ValidationError({"required_data_elements": [str(exc)]}) from exc
            if not structure.elements:
                raise ValidationError(
                    {"data_set": [f"Data set {structure.name} has no data elements to assess."]}
                )
            names = _org_unit_names(client, list(data.org_units))
    except (CredentialsMissing, CredentialDecryptionError) as exc:
        raise ValidationError({"instance": [str(exc)]}) from exc
    except Dhis2Error as exc:
        raise ValidationError(
            {"instance": [f"Could not check the assessment on {data.instance.name}: {exc}"]}
        ) from exc
    unknown = [ou for ou in data.org_units if ou not in names]
    if unknown:
        raise ValidationError(
            {
                "org_units": [
                    f"These org units do not exist on {data.instance.name}: {', '.join(unknown)}."
                ]
            }
        )
    return CompletenessAssessment.objects.create(
        instance=data.instance,
        data_set=structure.uid,
        data_set_name=structure.name[:230],
        period_type=structure.period_type,
        element_names=dict(structure.element_names),
        org_unit_names={ou: names[ou] for ou in data.org_units},
        params=data.params(),
        created_by=user if user is not None and user.is_authenticated else None,
    )


def start_completeness_assessment(
    assessment: CompletenessAssessment, **start: Unpack[StartOptions]
) -> Run:
    """Queue a run of `assessment` (the `completeness_assessment` operation of
    `jobs.registry`); raises `jobs.services.Busy` while one is active. A run re-assesses the
    stored parameters (a relative period resolves anew) and replaces the rows."""
    run = launch_on(
        ASSESS,
        assessment.pk,
        {"assessment_id": assessment.pk},
        title=f"Completeness: {assessment.data_set_name or assessment.data_set}",
        **start,
    )
    CompletenessAssessment.objects.filter(pk=assessment.pk).update(run=run)
    assessment.run = run
    return run


def create_and_start_assessment(
    data: AssessmentInput, *, user: Actor, trigger: str
) -> tuple[CompletenessAssessment, Run]:
    """What the form and the API do: save the assessment and queue its first run, together."""
    with transaction.atomic():
        assessment = create_assessment(data, user=user)
        run = start_completeness_assessment(assessment, user=user, trigger=trigger)
    return assessment, run


def compliant_forms(assessment: CompletenessAssessment) -> list[tuple[str, str]]:
    """(org unit, period) of every compliant row, in period and hierarchy order."""
    return list(
        assessment.rows.filter(compliant=True)
        .order_by("period", "path")
        .values_list("org_unit", "period")
    )


def _mark_targets(
    assessment: CompletenessAssessment,
    rows: Iterable[tuple[str, str]] | None,
    compliant: bool,
) -> list[tuple[str, str]]:
    if compliant:
        if rows:
            raise ValidationError({"rows": ["Give either rows or compliant, not both."]})
        targets = compliant_forms(assessment)
        if not targets:
            raise ValidationError({"compliant": ["This assessment has no compliant rows."]})
        return targets
    wanted = list(dict.fromkeys((str(ou), str(pe)) for ou, pe in rows or []))
    if not wanted:
        raise ValidationError({"rows": ["Choose the rows to mark, or every compliant row."]})
    known = set(
        assessment.rows.filter(
            org_unit__in={ou for ou, _ in wanted}, period__in={pe for _, pe in wanted}
        ).values_list("org_unit", "period")
    )
    unknown = [f"{ou}/{pe}" for ou, pe in wanted if (ou, pe) not in known]
    if unknown:
        shown = ", ".join(unknown[:10]) + (" …" if len(unknown) > 10 else "")
        raise ValidationError({"rows": [f"Not rows of this assessment: {shown}."]})
    return wanted


def start_completeness_mark(
    assessment: CompletenessAssessment,
    *,
    action: str = "complete",
    rows: Iterable[tuple[str, str]] | None = None,
    compliant: bool = False,
    **start: Unpack[StartOptions],
) -> Run:
    """Queue marking forms of `assessment` complete or incomplete in DHIS2 (the
    `completeness_mark` operation). `rows` are (org unit, period) pairs of the assessment, or
    `compliant=True` for every compliant row (read by the task; only the flag is stored on
    the run). The run records who did it (`started_by`).
    Raises `ValidationError` for bad input and `jobs.services.Busy` while a marking of this
    assessment is active."""
    if action not in MARK_ACTIONS:
        raise ValidationError({"action": [f"Choose 'complete' or 'incomplete', not {action!r}."]})
    if assessment.run is not None and assessment.run.status in Run.ACTIVE:
        raise ValidationError(
            {"assessment": ["The assessment is still running; mark its rows when it is done."]}
        )
    targets = _mark_targets(assessment, rows, compliant)
    verb = "Mark complete" if action == "complete" else "Mark incomplete"
    params: dict[str, Any] = {"assessment_id": assessment.pk, "action": action}
    if compliant:  # the task reads the compliant rows again: the run's record stays small
        params["compliant"] = True
    else:
        params["rows"] = [list(t) for t in targets]
    title = f"{verb}: {assessment.data_set_name or assessment.data_set} ({len(targets)} forms)"
    return launch_on(MARK, assessment.pk, params, title=title, **start)


def recount_registered(assessment: CompletenessAssessment) -> int:
    """Refresh the summary's `registered` from the rows (after a marking)."""
    count = CompletenessRow.objects.filter(assessment=assessment, registered=True).count()
    CompletenessAssessment.objects.filter(pk=assessment.pk).update(registered=count)
    assessment.registered = count
    return count
