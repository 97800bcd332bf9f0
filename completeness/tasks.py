"""Job bodies of completeness: load by id, build the client, call the pure core, keep results.

`run_completeness_assessment` stores rows block by block as `assess_completeness` hands them
over (bulk inserts, so thousands of forms never sit in memory), then the summary and roll-ups.
`run_completeness_mark` calls `marking.mark_complete`/`mark_incomplete` and updates the rows'
`registered` flags from the outcome of every form.
"""

from __future__ import annotations

from django.db import transaction

from connections.services import client_for
from jobs.bulk import insert_rows
from jobs.context import RunContext
from jobs.models import Run

from .assess import AssessmentFailed, AssessmentRow, AssessmentSpec, assess_completeness
from .marking import MarkReport, mark_complete, mark_incomplete
from .models import CompletenessAssessment, CompletenessRollup, CompletenessRow
from .services import compliant_forms, recount_registered

#: The columns of a stored row, in the order `sink` builds them (`jobs.bulk.insert_rows`:
#: 60,000 rows as model instances through bulk_create took most of an assessment's time).
ROW_COLUMNS = (
    "assessment_id",
    "org_unit",
    "org_unit_name",
    "level",
    "path",
    "period",
    "present",
    "missing",
    "compliance",
    "compliant",
    "no_data",
    "registered",
)

#: Run stats of a marking (the API contract); `not_registered` is kept for un-marking.
MARK_STATS = ("registered", "already_registered", "unregistered", "not_registered", "failed")


def _spec(assessment: CompletenessAssessment) -> AssessmentSpec:
    p = assessment.params or {}
    return AssessmentSpec(
        data_set=assessment.data_set,
        org_units=list(p.get("org_units") or []),
        periods=list(p.get("periods") or []),
        relative_period=p.get("relative_period") or None,
        relative_count=p.get("relative_count"),
        include_descendants=bool(p.get("include_descendants", True)),
        level=p.get("level"),
        required_data_elements=list(p.get("required_data_elements") or []),
        threshold=float(p.get("threshold", 100.0)),
        disaggregation=str(p.get("disaggregation") or "any"),
    )


def run_completeness_assessment(ctx: RunContext) -> str | None:
    assessment = CompletenessAssessment.objects.select_related("instance").get(
        pk=ctx.params["assessment_id"]
    )
    # A run replaces what an earlier run of the same assessment found.
    with transaction.atomic():
        assessment.rows.all().delete()
        assessment.rollups.all().delete()
        CompletenessAssessment.objects.filter(pk=assessment.pk).update(
            run_id=ctx.run_id,
            assessed=0,
            compliant=0,
            non_compliant=0,
            no_data=0,
            registered=0,
            average_compliance=None,
        )
    stored = 0

    def sink(rows: list[AssessmentRow]) -> None:
        nonlocal stored
        stored += insert_rows(
            CompletenessRow,
            ROW_COLUMNS,
            (
                (
                    assessment.pk,
                    r.org_unit,
                    r.org_unit_name[:230],
                    r.level,
                    r.path[:500],
                    r.period,
                    r.present,
                    r.missing,
                    r.compliance,
                    r.compliant,
                    r.no_data,
                    r.registered,
                )
                for r in rows
            ),
        )
        ctx.stats["rows"] = stored
        ctx.heartbeat()

    with client_for(assessment.instance) as client:
        try:
            result = assess_completeness(
                client, _spec(assessment), sink=sink, progress=ctx.progress
            )
        except AssessmentFailed as exc:
            raise AssessmentFailed(f"The assessment could not run: {exc}") from exc

    summary = result.summary
    CompletenessRollup.objects.bulk_create(
        CompletenessRollup(
            assessment_id=assessment.pk,
            org_unit=r.org_unit,
            org_unit_name=r.org_unit_name[:230],
            level=r.level,
            path=r.path[:500],
            period=r.period,
            assessed=r.assessed,
            compliant=r.compliant,
            non_compliant=r.non_compliant,
            no_data=r.no_data,
            registered=r.registered,
            average_compliance=r.average_compliance,
            compliant_percent=r.compliant_percent,
        )
        for r in result.rollups
    )
    CompletenessAssessment.objects.filter(pk=assessment.pk).update(
        periods=result.periods,
        data_set_name=result.data_set.name[:230],
        period_type=result.data_set.period_type,
        element_names=dict(result.data_set.element_names),
        assessed=summary.assessed,
        compliant=summary.compliant,
        non_compliant=summary.non_compliant,
        no_data=summary.no_data,
        registered=summary.registered,
        average_compliance=summary.average_compliance if summary.assessed else None,
    )
    ctx.stats.update({**summary.as_dict(), "rows": stored, "requests": result.requests})
    ctx.set_param("resolved_periods", result.periods)
    ctx.info(
        f"{summary.assessed} forms of {result.data_set.name} for {', '.join(result.periods)}: "
        f"{summary.compliant} compliant, {summary.non_compliant} non-compliant, "
        f"{summary.no_data} without data; average compliance {summary.average_compliance}%."
    )
    status = None
    if result.missing_org_units:
        ctx.warning(
            "These org units do not exist on the instance (any more): "
            f"{', '.join(result.missing_org_units)}."
        )
        status = Run.Status.WARNING
    if summary.assessed == 0:
        ctx.warning(
            "No form was assessed: the data set is not assigned to any of the chosen org units"
            " (at that level)."
        )
        status = Run.Status.WARNING
    return status


def _apply_outcomes(assessment: CompletenessAssessment, action: str, report: MarkReport) -> None:
    """Set the rows' `registered` flag from what DHIS2 now holds for each form."""
    now_registered = {"registered", "already_registered"}
    now_unregistered = {"unregistered", "not_registered"}
    flags: dict[bool, list[tuple[str, str]]] = {True: [], False: []}
    for form, outcome in report.outcomes.items():
        if action == "complete" and outcome in now_registered:
            flags[True].append(form)
        elif action == "incomplete" and outcome in now_unregistered:
            flags[False].append(form)
    for value, forms in flags.items():
        by_period: dict[str, list[str]] = {}
        for ou, pe in forms:
            by_period.setdefault(pe, []).append(ou)
        for period, org_units in by_period.items():
            for start in range(0, len(org_units), 500):
                CompletenessRow.objects.filter(
                    assessment=assessment,
                    period=period,
                    org_unit__in=org_units[start : start + 500],
                ).update(registered=value)
    recount_registered(assessment)


def run_completeness_mark(ctx: RunContext) -> str | None:
    assessment = CompletenessAssessment.objects.select_related("instance").get(
        pk=ctx.params["assessment_id"]
    )
    action = ctx.params.get("action", "complete")
    if ctx.params.get("compliant"):
        targets = compliant_forms(assessment)
    else:
        targets = [(str(ou), str(pe)) for ou, pe in ctx.params.get("rows") or []]
    ctx.info(
        f"Marking {len(targets)} form(s) of {assessment.data_set_name or assessment.data_set} "
        f"{'complete' if action == 'complete' else 'incomplete'} on {assessment.instance.name}."
    )

    def progress(done: int, total: int) -> None:
        ctx.progress(100.0 * done / max(1, total), f"Batch {done} of {total}")

    with client_for(assessment.instance) as client:
        marker = mark_complete if action == "complete" else mark_incomplete
        report = marker(client, data_set=assessment.data_set, targets=targets, progress=progress)
    _apply_outcomes(assessment, action, report)
    counts = report.as_dict()
    ctx.stats.update({key: counts[key] for key in MARK_STATS})
    if counts["messages"]:  # DHIS2's own words, also in the log
        ctx.stats["messages"] = counts["messages"]
    for message in report.messages:
        ctx.warning(f"DHIS2: {message}")
    ctx.info(", ".join(f"{key.replace('_', ' ')} {counts[key]}" for key in MARK_STATS) + ".")
    if report.failed:
        if report.failed == len(targets):
            ctx.save_stats()
            raise RuntimeError(
                f"DHIS2 accepted none of the {len(targets)} form(s): "
                + ("; ".join(report.messages[:5]) or "see the log.")
            )
        return Run.Status.WARNING
    return None
