"""`GET /api/v1/audit/`: the audit log, read-only, for admins (auditlog.view_logentry).

Filters: `?actor=<username>`, `?action=created|changed|deleted|launched|cancelled`,
`?target=<type>` or `<type>:<id>` (type is the model name: instance, transfer, schedule, run,
...; for launches `transfer:5` also matches the runs launched for transfer 5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from auditlog.models import LogEntry
from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import ValidationError

from .services import ACTIONS, CHANGE_ACTIONS, changed_fields, entry_action

if TYPE_CHECKING:
    from rest_framework.filters import BaseFilterBackend


class AuditEntrySerializer(serializers.ModelSerializer[LogEntry]):
    actor = serializers.SerializerMethodField()
    action = serializers.SerializerMethodField()
    target = serializers.SerializerMethodField()
    # A declared field, taken out of the class by DRF's metaclass: `Serializer.fields` stays.
    fields = serializers.SerializerMethodField(  # type: ignore[assignment]
        method_name="changed_field_names"
    )
    details = serializers.SerializerMethodField()

    class Meta:
        model = LogEntry
        fields = ["id", "timestamp", "actor", "action", "target", "fields", "details"]
        read_only_fields = fields

    def get_actor(self, entry: LogEntry) -> str | None:
        return entry.actor.get_username() if entry.actor else None

    def get_action(self, entry: LogEntry) -> str:
        return entry_action(entry)

    def get_target(self, entry: LogEntry) -> dict[str, str]:
        return {
            "type": entry.content_type.model,
            "id": entry.object_pk,
            "name": entry.object_repr,
        }

    def changed_field_names(self, entry: LogEntry) -> list[str]:
        return changed_fields(entry)

    def get_details(self, entry: LogEntry) -> dict[str, Any]:
        """For launches and cancels: kind, trigger, job target and a one-line summary."""
        if entry.action != LogEntry.Action.ACCESS:
            return {}
        return {k: v for k, v in (entry.additional_data or {}).items() if k != "action"}


_FILTERS = [
    OpenApiParameter("actor", OpenApiTypes.STR, description="username"),
    OpenApiParameter("action", OpenApiTypes.STR, enum=list(ACTIONS)),
    OpenApiParameter("target", OpenApiTypes.STR, description='"type" or "type:id"'),
]


@extend_schema_view(list=extend_schema(parameters=_FILTERS))
class AuditEntryViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[LogEntry]
):
    queryset = LogEntry.objects.select_related("actor", "content_type").order_by(
        "-timestamp", "-id"
    )
    serializer_class = AuditEntrySerializer
    # the three filters below are the whole interface
    filter_backends: list[type[BaseFilterBackend]] = []

    def get_queryset(self) -> QuerySet[LogEntry]:
        entries = super().get_queryset()
        params = self.request.query_params
        if actor := params.get("actor", "").strip():
            entries = entries.filter(actor__username=actor)
        if action := params.get("action", "").strip():
            if action not in ACTIONS:
                raise ValidationError({"action": f"Use one of: {', '.join(ACTIONS)}."})
            if action in CHANGE_ACTIONS:
                entries = entries.filter(action=CHANGE_ACTIONS[action])
            else:
                entries = entries.filter(
                    action=LogEntry.Action.ACCESS, additional_data__action=action
                )
        if target := params.get("target", "").strip():
            entries = entries.filter(_target_query(target))
        return entries


def _target_query(target: str) -> Q:
    kind, _, pk = target.partition(":")
    kind = kind.strip().lower().replace("_", "")
    if not kind:
        raise ValidationError({"target": 'Use "type" or "type:id", e.g. "transfer:5".'})
    query = Q(content_type__model=kind)
    if pk:
        query &= Q(object_pk=pk.strip())
        # A launch is logged against its run; its job target names what was run.
        query |= Q(additional_data__job_target=target.strip())
    else:
        query |= Q(additional_data__job_target__startswith=f"{target.strip()}:")
    return query
