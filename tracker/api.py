"""API for event transfers: configuration, preview, run/resume, and the per-event errors of runs.

`run` and `resume` are `jobs.faces.RunActionsMixin`'s, as for aggregate transfers.

Serializers only parse input; `tracker.services.save_event_transfer` validates (also against
the source DHIS2) and saves, and its `ValidationError` becomes a 400 with field errors.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from jobs.faces import JobSerializer, RunActionsMixin
from jobs.models import Run

from .models import EventTransfer, EventTransferError
from .services import (
    EDITABLE_FIELDS,
    preview_event_transfer,
    save_event_transfer,
    start_event_transfer,
)


def drf_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    """A Django `ValidationError` from a service as DRF field errors (`__all__` →
    `non_field_errors`)."""
    if not hasattr(exc, "error_dict"):
        return serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: exc.messages})
    return serializers.ValidationError(
        {
            (api_settings.NON_FIELD_ERRORS_KEY if key == NON_FIELD_ERRORS else key): messages
            for key, messages in exc.message_dict.items()
        }
    )


class EventTransferSerializer(JobSerializer):
    program_stage = serializers.CharField(
        max_length=11, required=False, allow_blank=True, allow_null=True
    )
    profile_name = serializers.CharField(source="profile.name", read_only=True)

    class Meta:
        model = EventTransfer
        fields = [
            "id", "name", "profile", "profile_name", "program", "program_stage", "org_units",
            "ou_mode", "start_date", "end_date", "incremental", "mappings",
            "use_profile_mappings", "strip_fields", "watermark", "last_run", "last_run_status",
        ]  # fmt: skip
        read_only_fields = ["watermark", "last_run", "last_run_status"]

    def to_representation(self, instance: EventTransfer) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["program_stage"] = data["program_stage"] or None
        return data

    def save_with(
        self, obj: EventTransfer | None, data: dict[str, Any], *, user: Any
    ) -> EventTransfer:
        values = {k: v for k, v in data.items() if k in EDITABLE_FIELDS}
        return save_event_transfer(obj, data=values, user=user)

    def field_errors(self, exc: DjangoValidationError) -> serializers.ValidationError:
        return drf_errors(exc)


PREVIEW_RESPONSE = inline_serializer(
    "EventPreview",
    {
        "count": serializers.IntegerField(allow_null=True),
        "by_org_unit": serializers.ListField(child=serializers.DictField()),
        "sample": serializers.ListField(child=serializers.DictField()),
    },
)
LAUNCH = ["tracker.view_eventtransfer", "jobs.launch_run"]


class EventTransferViewSet(RunActionsMixin, viewsets.ModelViewSet[EventTransfer]):
    queryset = EventTransfer.objects.select_related("profile", "last_run")
    serializer_class = EventTransferSerializer
    filterset_fields = ["profile", "incremental"]
    required_perms: list[str] | None = None
    launch_perms = LAUNCH

    @extend_schema(request=None, responses={200: PREVIEW_RESPONSE})
    @action(detail=True, methods=["post"], required_perms=["tracker.view_eventtransfer"])
    def preview(self, request: Request, pk: str | None = None) -> Response:
        return Response(preview_event_transfer(self.get_object()).as_dict())

    def start_run(self, obj: EventTransfer, **options: Any) -> Run:
        return start_event_transfer(obj, **options)


class EventErrorSerializer(serializers.ModelSerializer[EventTransferError]):
    class Meta:
        model = EventTransferError
        fields = ["id", "run", "event", "org_unit", "error_code", "message", "object"]


class EventTransferErrorViewSet(viewsets.ReadOnlyModelViewSet[EventTransferError]):
    """Events DHIS2 refused in event transfer runs: `/api/v1/tracker-errors/?run=<id>`."""

    queryset = EventTransferError.objects.all()
    serializer_class = EventErrorSerializer
    filterset_fields = ["run", "error_code"]
