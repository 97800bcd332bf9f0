"""The single entry points of metadata assessment and sync: admin, pages, API and schedules.

* `create_assessment` validates and saves an assessment (profile and types; the types are
  widened to `payload.dependency_types`, so every dependency the destination holds under another
  UID is known when a payload is built from it); `start_metadata_assessment` runs it (again).
* `accept_items` / `reject_items` record review decisions; accepted data element, option combo,
  attribute option combo and org unit matches become `ProfileMapping` rows (`review.py`).
* `build_assessment_payload` is the preview; `start_metadata_apply` validates (dry run) or
  validates and commits it as a run.
* `profile_mappings(profile)` is what transfer engines read when `use_profile_mappings` is on.

Every rule about input is checked here and raised as a Django `ValidationError` keyed by field,
so forms and serializers only parse and map it to their own errors.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Unpack, cast

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor
from connections.models import ConnectionProfile
from connections.services import client_for
from dhis2.filters import flt_in
from dhis2.uids import is_valid_uid
from jobs.models import Run
from jobs.registry import target_for
from jobs.services import Busy, StartOptions, active_run_for, launch_on

from .apply import ATOMIC_MODES, IMPORT_STRATEGIES
from .match import PRESENT, Status
from .models import MAPPING_TYPE_CHOICES, AssessmentItem, MetadataAssessment, ProfileMapping
from .payload import Payload, build_payload, dependency_types, destination_lookup, source_fetcher
from .review import mapping_rows, mapping_type
from .schema import ORDER, SPECS, validate_types

ASSESSMENT_KIND = "metadata_assessment"
APPLY_KIND = "metadata_apply"

#: The statuses a person reviews: the destination object was found by code, by name or guessed.
REVIEWABLE = (Status.MATCHED_BY_CODE, Status.MATCHED_BY_NAME, Status.SUGGESTED)
MAX_SELECTION = 100_000


# --- assessments ----------------------------------------------------------------------------
def create_assessment(
    profile: ConnectionProfile | None, *, types: Sequence[str] | None, user: Actor
) -> MetadataAssessment:
    """Validate and save a new assessment of `profile` for `types` (and their dependencies)."""
    errors: dict[str, list[str]] = {}
    if profile is None:
        errors["profile"] = ["Choose a connection profile."]
    wanted: list[str] = []
    if types is None or (not isinstance(types, list | tuple)) or not types:
        errors["types"] = [f"Choose at least one metadata type of {', '.join(ORDER)}."]
    elif not all(isinstance(t, str) for t in types):
        errors["types"] = ["Give the metadata types as a list of names."]
    else:
        try:
            wanted = validate_types(list(types))
        except ValueError as exc:
            errors["types"] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    return MetadataAssessment.objects.create(
        profile=cast(ConnectionProfile, profile),  # not None: that is an error above
        types=dependency_types(wanted),
        created_by=user if user is not None and user.is_authenticated else None,
    )


def start_metadata_assessment(assessment: MetadataAssessment, **start: Unpack[StartOptions]) -> Run:
    """Queue a run of `assessment` (the `metadata_assessment` operation of `jobs.registry`).

    A run replaces the assessment's items and counts; decisions on items whose destination is
    unchanged are kept. Raises `jobs.services.Busy` while it, or a sync of it, is active.
    """
    _check_idle(assessment)
    # One transaction: the task is queued on commit, after the assessment points at its run.
    with transaction.atomic():
        run = launch_on(
            ASSESSMENT_KIND,
            assessment.pk,
            {"assessment_id": assessment.pk},
            title=f"Metadata assessment: {assessment.profile}",
            **start,
        )
        MetadataAssessment.objects.filter(pk=assessment.pk).update(
            run=run, status=MetadataAssessment.State.PENDING
        )
    assessment.run, assessment.status = run, MetadataAssessment.State.PENDING
    return run


def _check_idle(assessment: MetadataAssessment) -> None:
    """An assessment and a sync of it never run at once: a sync reads the items."""
    for kind in (ASSESSMENT_KIND, APPLY_KIND):
        target = target_for(kind, assessment.pk)
        if (active := active_run_for(target)) is not None:
            raise Busy(active, target)


# --- selections ---------------------------------------------------------------------------
def _ids(value: Any, field: str) -> list[int]:
    if not isinstance(value, list | tuple) or not value:
        raise ValidationError({field: ["Give a non-empty list of item ids."]})
    if len(value) > MAX_SELECTION:
        raise ValidationError({field: [f"Select at most {MAX_SELECTION} items at once."]})
    ids: list[int] = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int | str) or not str(v).isdigit():
            raise ValidationError({field: [f"{v!r} is not an item id."]})
        ids.append(int(v))
    return list(dict.fromkeys(ids))


def selected_items(
    assessment: MetadataAssessment, item_ids: Any, *, statuses: Iterable[str] | None = None
) -> list[AssessmentItem]:
    """The items `item_ids` of `assessment`; ids of other assessments are a field error."""
    ids = _ids(item_ids, "items")
    found: list[AssessmentItem] = []
    for start in range(0, len(ids), 5000):  # stay under SQLite's variable limit
        found += AssessmentItem.objects.filter(
            assessment=assessment, pk__in=ids[start : start + 5000]
        )
    unknown = sorted(set(ids) - {i.pk for i in found})
    if unknown:
        shown = ", ".join(str(i) for i in unknown[:10])
        raise ValidationError({"items": [f"Not items of assessment {assessment.pk}: {shown}."]})
    if statuses is not None:
        allowed = {str(s) for s in statuses}
        wrong = [i for i in found if i.status not in allowed]
        if wrong:
            shown = ", ".join(f"{i.pk} ({i.status})" for i in wrong[:10])
            raise ValidationError(
                {"items": [f"Only {', '.join(sorted(allowed))} items can be chosen here: {shown}."]}
            )
    return found


# --- review ---------------------------------------------------------------------------------
def _lookup_destinations(
    assessment: MetadataAssessment, wanted: Mapping[str, set[str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """(type, uid) -> the destination object (id, code, name) for picked destinations."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    with client_for(assessment.profile.destination, max_attempts=2) as client:
        for type_, uids in wanted.items():
            ordered = sorted(uids)
            for start in range(0, len(ordered), 100):
                for obj in client.list_all(
                    type_,
                    fields="id,code,name",
                    filters=[flt_in("id", ordered[start : start + 100])],
                ):
                    found[(type_, str(obj.get("id")))] = obj
    return found


def accept_items(
    assessment: MetadataAssessment,
    item_ids: Any,
    *,
    destinations: Mapping[Any, Any] | None = None,
    user: Actor,
) -> list[AssessmentItem]:
    """Accept suggested or code/name matches, optionally with another destination object.

    `destinations` maps item id -> destination UID (picked from a search); each is checked on
    the destination. Accepted mappable items become or replace `ProfileMapping` rows.
    """
    items = selected_items(assessment, item_ids, statuses=REVIEWABLE)
    by_id = {i.pk: i for i in items}
    picks: dict[int, str] = {}
    if destinations is not None:
        if not isinstance(destinations, Mapping):
            raise ValidationError({"destinations": ["Give an object of item id: UID."]})
        for key, uid in destinations.items():
            if not str(key).isdigit() or int(key) not in by_id:
                raise ValidationError(
                    {"destinations": [f"{key} is not one of the accepted items."]}
                )
            if not is_valid_uid(uid):
                raise ValidationError({"destinations": [f"{uid!r} is not a DHIS2 UID."]})
            picks[int(key)] = uid
    if picks:
        wanted: dict[str, set[str]] = defaultdict(set)
        for pk, uid in picks.items():
            wanted[by_id[pk].type].add(uid)
        found = _lookup_destinations(assessment, wanted)
        for pk, uid in picks.items():
            item = by_id[pk]
            obj = found.get((item.type, uid))
            if obj is None:
                raise ValidationError(
                    {"destinations": [f"The destination has no {SPECS[item.type].label} {uid}."]}
                )
            item.destination_id = uid
            item.destination_code = str(obj.get("code") or "")[:100]
            item.destination_name = str(obj.get("name") or "")[:255]
    now = timezone.now()
    with transaction.atomic():
        for item in items:
            item.decision = AssessmentItem.Decision.ACCEPTED
        AssessmentItem.objects.bulk_update(
            items,
            ["decision", "destination_id", "destination_code", "destination_name"],
            batch_size=1000,
        )
        rows = mapping_rows(items)
        for row in rows:
            ProfileMapping.objects.update_or_create(
                profile_id=assessment.profile_id,
                type=row.type,
                source_id=row.source_id,
                defaults={
                    "destination_id": row.destination_id,
                    "assessment": assessment,
                    "accepted_by": user if user is not None and user.is_authenticated else None,
                    "accepted_at": now,
                },
            )
        # An item accepted with its own UID needs no mapping: drop one it had before.
        mapped = {(r.type, r.source_id) for r in rows}
        for item in items:
            kind = mapping_type(item.type, item.attribute)
            if kind and (kind, item.source_id) not in mapped:
                ProfileMapping.objects.filter(
                    profile_id=assessment.profile_id, type=kind, source_id=item.source_id
                ).delete()
    return items


def reject_items(
    assessment: MetadataAssessment, item_ids: Any, *, user: Actor
) -> list[AssessmentItem]:
    """Reject matches: the mapping an earlier acceptance made of the same pair is removed."""
    items = selected_items(assessment, item_ids, statuses=REVIEWABLE)
    with transaction.atomic():
        for item in items:
            item.decision = AssessmentItem.Decision.REJECTED
            kind = mapping_type(item.type, item.attribute)
            if kind and item.destination_id:
                ProfileMapping.objects.filter(
                    profile_id=assessment.profile_id,
                    type=kind,
                    source_id=item.source_id,
                    destination_id=item.destination_id,
                ).delete()
        AssessmentItem.objects.bulk_update(items, ["decision"], batch_size=1000)
    return items


def profile_mappings(profile: ConnectionProfile | int) -> dict[str, dict[str, str]]:
    """type -> {source UID: destination UID} of a profile's accepted mappings.

    The types are `schema.MAPPING_TYPES` (dataElements, categoryOptionCombos,
    attributeOptionCombos, organisationUnits); a type without mappings is absent.
    """
    pk = profile.pk if isinstance(profile, ConnectionProfile) else profile
    out: dict[str, dict[str, str]] = {}
    for type_, source, destination in ProfileMapping.objects.filter(profile_id=pk).values_list(
        "type", "source_id", "destination_id"
    ):
        out.setdefault(type_, {})[source] = destination
    return out


def validate_mapping(*, type: str, source_id: str, destination_id: str) -> None:
    """The rule of a mapping row an admin edits: both sides are UIDs of a mapped type."""
    errors: dict[str, list[str]] = {}
    if type not in {t for t, _ in MAPPING_TYPE_CHOICES}:
        errors["type"] = [f"{type!r} is not a mapping type."]
    for name, value in (("source_id", source_id), ("destination_id", destination_id)):
        if not is_valid_uid(value):
            errors[name] = [f"{value!r} is not a DHIS2 UID."]
    if errors:
        raise ValidationError(errors)


# --- payload and apply ----------------------------------------------------------------------
def resolution_of(assessment: MetadataAssessment) -> dict[str, dict[str, str]]:
    """type -> source UID -> destination UID of every object the destination has.

    Present matches count unless rejected; suggestions only once accepted.
    """
    resolution: dict[str, dict[str, str]] = defaultdict(dict)
    rows = (
        AssessmentItem.objects.filter(assessment=assessment)
        .exclude(destination_id="")
        .exclude(decision=AssessmentItem.Decision.REJECTED)
        .values_list("type", "source_id", "destination_id", "status", "decision")
        .iterator(chunk_size=5000)
    )
    present = {str(s) for s in PRESENT}
    for type_, source, destination, status, decision in rows:
        if status in present or decision == AssessmentItem.Decision.ACCEPTED:
            resolution[type_][source] = destination
    return dict(resolution)


def build_assessment_payload(assessment: MetadataAssessment, item_ids: Any) -> Payload:
    """The `/api/metadata` payload that creates the selected items and what they need.

    Reads the objects from the source and checks on the destination which dependencies it has
    under the same UID (so they are referenced, not sent again).
    """
    items = selected_items(assessment, item_ids)
    selected: dict[str, list[str]] = defaultdict(list)
    for item in items:
        selected[item.type].append(item.source_id)
    defaults = assessment.defaults or {}
    profile = assessment.profile
    with client_for(profile.source) as source, client_for(profile.destination) as destination:
        return build_payload(
            selected=selected,
            fetch=source_fetcher(source),
            resolution=resolution_of(assessment),
            defaults=(defaults.get("source", {}), defaults.get("destination", {})),
            exists=destination_lookup(destination),
        )


def apply_options(
    *, dry_run: Any = True, import_strategy: Any = "CREATE_AND_UPDATE", atomic_mode: Any = "ALL"
) -> dict[str, Any]:
    """The checked options of a validation or apply run."""
    errors: dict[str, list[str]] = {}
    if not isinstance(dry_run, bool):
        errors["dry_run"] = ["Give true or false."]
    if import_strategy not in IMPORT_STRATEGIES:
        errors["import_strategy"] = [f"Choose one of {', '.join(IMPORT_STRATEGIES)}."]
    if atomic_mode not in ATOMIC_MODES:
        errors["atomic_mode"] = [f"Choose one of {', '.join(ATOMIC_MODES)}."]
    if errors:
        raise ValidationError(errors)
    return {"dry_run": dry_run, "import_strategy": import_strategy, "atomic_mode": atomic_mode}


def start_metadata_apply(
    assessment: MetadataAssessment,
    *,
    items: Any = None,
    dry_run: Any = True,
    import_strategy: Any = "CREATE_AND_UPDATE",
    atomic_mode: Any = "ALL",
    **start: Unpack[StartOptions],
) -> Run:
    """Queue a validation (`dry_run`) or a validate-then-commit of the selected items.

    The `metadata_apply` operation of `jobs.registry`. Permission to commit is the caller's
    check (`metadata_sync.apply_metadata`); this checks the input and the overlap.
    """
    options = apply_options(
        dry_run=dry_run, import_strategy=import_strategy, atomic_mode=atomic_mode
    )
    chosen = selected_items(assessment, items)
    _check_idle(assessment)
    if assessment.status != MetadataAssessment.State.DONE:
        raise ValidationError(
            {"items": ["The assessment has not finished; wait for it before a sync."]}
        )
    label = "Metadata validation" if options["dry_run"] else "Metadata apply"
    params = {"assessment_id": assessment.pk, "item_ids": [i.pk for i in chosen], **options}
    title = f"{label}: {len(chosen)} item(s) of {assessment.profile}"
    return launch_on(APPLY_KIND, assessment.pk, params, title=title, **start)
