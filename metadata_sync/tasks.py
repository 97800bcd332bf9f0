"""The `metadata_assessment` and `metadata_apply` jobs: load by id, build clients, call the core.

The assessment streams its items from `assess.assess_metadata` into the database in batches
(50,000 org units never sit in memory as model objects), reports progress per type and keeps the
counts and default UIDs on the assessment. The apply job builds the payload from the selected
items, validates it (`importMode=VALIDATE`) and, unless it is a dry run, commits it only when the
validation reported no error; every error report is kept as a `MetadataImportError` row.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from connections.services import client_for
from jobs.bulk import insert_rows
from jobs.context import RunContext
from jobs.models import Run

from .apply import ImportOutcome, apply_payload, import_metadata
from .assess import assess_metadata
from .match import ItemResult
from .models import AssessmentItem, MetadataAssessment, MetadataImportError
from .schema import SPECS
from .services import build_assessment_payload

READ_SHARE = 70  # percent of an assessment's progress spent reading both sides
INSERT_BATCH = 1000

#: The columns of an assessment item, in `_item_row` order.
ITEM_COLUMNS = (
    "assessment_id",
    "type",
    "source_id",
    "source_code",
    "source_name",
    "destination_id",
    "destination_code",
    "destination_name",
    "status",
    "score",
    "differences",
    "attribute",
    "decision",
)


def _item_row(
    assessment_id: int, item: ItemResult, kept: dict[tuple[str, str], tuple[str, str]]
) -> tuple[Any, ...]:
    """One `AssessmentItem` as a tuple of `ITEM_COLUMNS` (for `jobs.bulk.insert_rows`: 50,000
    model instances cost seconds). A decision survives when the item still points at the same
    destination object."""
    previous = kept.get((item.type, item.source_id))
    decision = previous[1] if previous and previous[0] == item.destination_id else ""
    return (
        assessment_id,
        item.type,
        item.source_id,
        item.source_code[:100],
        item.source_name[:255],
        item.destination_id,
        item.destination_code[:100],
        item.destination_name[:255],
        str(item.status),
        item.score,
        item.differences,
        item.attribute,
        decision,
    )


def run_metadata_assessment(ctx: RunContext) -> Run.Status | None:
    assessment = MetadataAssessment.objects.select_related(
        "profile__source", "profile__destination"
    ).get(pk=ctx.params["assessment_id"])
    MetadataAssessment.objects.filter(pk=assessment.pk).update(
        status=MetadataAssessment.State.RUNNING, run_id=ctx.run_id
    )
    try:
        outcome = _assess(ctx, assessment)
    except BaseException:
        MetadataAssessment.objects.filter(pk=assessment.pk).update(
            status=MetadataAssessment.State.FAILED
        )
        raise
    return outcome


def _assess(ctx: RunContext, assessment: MetadataAssessment) -> Run.Status | None:
    types = list(assessment.types)
    profile = assessment.profile
    # Decisions survive a re-run when the item still points at the same destination object.
    kept = {
        (t, s): (d, decision)
        for t, s, d, decision in assessment.items.exclude(decision="").values_list(
            "type", "source_id", "destination_id", "decision"
        )
    }
    assessment.items.all().delete()
    ctx.info(f"Comparing {', '.join(SPECS[t].label for t in types)} of {profile}.")
    read_fraction: dict[str, float] = {}
    matched_types: list[str] = []
    inserted = 0

    def progress(type_: str, read: int, total: int) -> None:
        read_fraction[type_] = read / total if total else 1.0
        percent = READ_SHARE * sum(read_fraction.values()) / len(types)
        ctx.progress(percent, f"Reading {SPECS[type_].label}: {read} of {total} objects")

    def sink(batch: list[ItemResult]) -> None:
        nonlocal inserted
        inserted += insert_rows(
            AssessmentItem, ITEM_COLUMNS, (_item_row(assessment.pk, i, kept) for i in batch)
        )
        if batch and (not matched_types or matched_types[-1] != batch[0].type):
            matched_types.append(batch[0].type)
        percent = READ_SHARE + (100 - READ_SHARE) * len(matched_types) / len(types)
        ctx.progress(min(percent, 99), f"Matched {SPECS[batch[0].type].label}: {inserted} items")

    with (
        client_for(profile.source) as source,
        client_for(profile.destination) as destination,
    ):
        result = assess_metadata(source, destination, types, sink=sink, progress=progress)

    totals: Counter[str] = Counter()
    for type_ in result.types:
        counts = result.counts.get(type_, {})
        totals.update(counts)
        sides = result.totals.get(type_, {})
        shown = ", ".join(f"{n} {status}" for status, n in counts.items()) or "nothing"
        ctx.info(
            f"{SPECS[type_].label.capitalize()}: {sides.get('source', 0)} on the source, "
            f"{sides.get('destination', 0)} on the destination; {shown}."
        )
    ctx.stats.update({"objects compared": inserted, **dict(sorted(totals.items()))})
    ctx.stats["counts"] = result.counts
    MetadataAssessment.objects.filter(pk=assessment.pk).update(
        counts=result.counts, defaults=result.defaults, status=MetadataAssessment.State.DONE
    )
    skipped = {t: s.fuzzy_skipped for t, s in result.stats.items() if s.fuzzy_skipped}
    for type_, n in skipped.items():
        ctx.warning(
            f"{SPECS[type_].label}: {n} objects got no suggestion because the comparison budget "
            "was spent; review them by searching the destination."
        )
    ctx.progress(100, f"{inserted} objects compared", force=True)
    return Run.Status.WARNING if skipped else None


def _record(ctx: RunContext, assessment: MetadataAssessment, outcome: ImportOutcome) -> None:
    """Keep an import report: figures in the run's stats, every error as a row."""
    names = dict(
        assessment.items.values_list("source_id", "source_name").filter(
            source_id__in=[e.object_id for e in outcome.errors][:5000]
        )
    )
    MetadataImportError.objects.bulk_create(
        [
            MetadataImportError(
                run_id=ctx.run_id,
                assessment=assessment,
                mode=outcome.mode,
                error_code=e.error_code[:20],
                type=e.type[:100],
                object_id=e.object_id[:50],
                object_name=names.get(e.object_id, "")[:255],
                property=e.property[:100],
                message=e.message,
            )
            for e in outcome.errors
        ],
        batch_size=INSERT_BATCH,
    )
    key = "validation" if outcome.mode == "VALIDATE" else "commit"
    ctx.stats[key] = {k: v for k, v in outcome.as_dict().items() if k != "errors"}
    ctx.stats[f"{key} errors"] = len(outcome.errors)
    for error in outcome.errors[:20]:
        ctx.error(f"{error.error_code} {error.type} {error.object_id}: {error.message}")
    if len(outcome.errors) > 20:
        ctx.error(f"… and {len(outcome.errors) - 20} more errors (see the import report).")


def run_metadata_apply(ctx: RunContext) -> Run.Status | None:
    assessment = MetadataAssessment.objects.select_related(
        "profile__source", "profile__destination"
    ).get(pk=ctx.params["assessment_id"])
    dry_run = bool(ctx.params.get("dry_run", True))
    strategy = ctx.params.get("import_strategy", "CREATE_AND_UPDATE")
    atomic = ctx.params.get("atomic_mode", "ALL")
    ctx.progress(5, "Reading the selected objects and their dependencies from the source")
    payload = build_assessment_payload(assessment, ctx.params["item_ids"])
    for warning in payload.warnings:
        ctx.warning(warning)
    counts = {t: n for t, n in payload.counts.items() if n}
    ctx.stats["payload"] = counts
    ctx.stats["objects to send"] = sum(counts.values())
    if payload.empty:
        ctx.info("Nothing to send: the destination already has every selected object.")
        return None
    ctx.info(
        "Payload: " + ", ".join(f"{n} {SPECS[t].label}" for t, n in counts.items() if t in SPECS)
    )
    ctx.progress(40, "Validating on the destination (importMode=VALIDATE)")
    with client_for(assessment.profile.destination) as destination:
        if dry_run:
            validation = import_metadata(
                destination, payload.metadata, mode="VALIDATE", strategy=strategy, atomic=atomic
            )
            commit = None
        else:
            validation, commit = apply_payload(
                destination, payload.metadata, strategy=strategy, atomic=atomic
            )
    _record(ctx, assessment, validation)
    if not validation.ok:
        ctx.save_stats()
        raise RuntimeError(
            f"The destination's validation reported {len(validation.errors)} error(s) "
            f"(status {validation.status}); nothing was changed."
        )
    if dry_run:
        ctx.info("Validation passed: the destination would accept this payload.")
        return None
    assert commit is not None
    ctx.progress(80, "Committed; reading the import report")
    _record(ctx, assessment, commit)
    for key in ("created", "updated", "ignored", "deleted"):
        ctx.stats[key] = commit.totals.get(key, 0)
    if not commit.ok:
        ctx.warning(
            f"The destination imported with {len(commit.errors)} error(s) (status {commit.status})."
        )
        return Run.Status.WARNING
    ctx.info(
        f"Applied: {commit.totals.get('created', 0)} created, "
        f"{commit.totals.get('updated', 0)} updated."
    )
    return None
