"""API of completeness assessments: start one, read it, page its results, export, mark.

Creating an assessment starts a run, so it needs `jobs.launch_run` (operators may), not the
model's add permission: an assessment is a run's record, not configuration. Serializers only
parse; `services.create_assessment` and `services.start_completeness_mark` validate and their
`ValidationError` becomes a 400 with field errors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import negotiation, renderers, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from connections.models import Instance
from jobs.faces import PAGE_PARAMETERS, LaunchedRecordViewSet, api_launch, paginated
from jobs.models import Run

from . import exports
from .compliance import DISAGGREGATIONS
from .models import ROW_API_FIELDS, CompletenessAssessment, CompletenessRow
from .results import filter_rows, parse_filter
from .services import (
    MARK_ACTIONS,
    AssessmentInput,
    create_and_start_assessment,
    start_completeness_assessment,
    start_completeness_mark,
)

VIEW = "completeness.view_completenessassessment"
LAUNCH = [VIEW, "jobs.launch_run"]


def drf_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    if hasattr(exc, "error_dict"):
        return serializers.ValidationError(exc.message_dict)
    return serializers.ValidationError({"non_field_errors": exc.messages})


class CompletenessCreateSerializer(serializers.Serializer[None]):
    # A declared field named like `BaseSerializer.instance`: the serializer's metaclass takes
    # it off the class into `_declared_fields`, so the two never meet (the stubs cannot tell).
    instance = serializers.PrimaryKeyRelatedField(queryset=Instance.objects.all())  # type: ignore[assignment]
    data_set = serializers.CharField(max_length=50)
    periods = serializers.ListField(
        child=serializers.CharField(max_length=30), required=False, default=list
    )
    relative_period = serializers.CharField(
        max_length=40, required=False, allow_blank=True, allow_null=True, default=None
    )
    relative_count = serializers.IntegerField(required=False, allow_null=True, default=None)
    org_units = serializers.ListField(child=serializers.CharField(max_length=50))
    include_descendants = serializers.BooleanField(required=False, default=True)
    level = serializers.IntegerField(required=False, allow_null=True, default=None)
    required_data_elements = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, default=list
    )
    threshold = serializers.FloatField(required=False, default=100.0)
    disaggregation = serializers.ChoiceField(
        choices=list(DISAGGREGATIONS), required=False, default="any"
    )

    def to_input(self) -> AssessmentInput:
        d = self.validated_data
        return AssessmentInput(
            instance=d["instance"],
            data_set=d["data_set"].strip(),
            org_units=[ou.strip() for ou in d["org_units"] if ou.strip()],
            periods=[pe.strip() for pe in d["periods"] if pe.strip()],
            relative_period=(d.get("relative_period") or "").strip() or None,
            relative_count=d.get("relative_count"),
            include_descendants=d["include_descendants"],
            level=d.get("level"),
            required_data_elements=tuple(de.strip() for de in d["required_data_elements"]),
            threshold=d["threshold"],
            disaggregation=d["disaggregation"],
        )


class CompletenessAssessmentSerializer(serializers.ModelSerializer[CompletenessAssessment]):
    """An assessment: its parameters, its (latest) run and the summary."""

    instance_name = serializers.CharField(source="instance.name", read_only=True)
    run_status = serializers.CharField(
        source="run.status", read_only=True, default=None, allow_null=True
    )
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = CompletenessAssessment
        fields = [
            "id", "instance", "instance_name", "data_set", "data_set_name", "period_type",
            "run", "run_status", "assessed", "compliant", "non_compliant", "no_data",
            "average_compliance", "registered", "element_names", "org_unit_names",
            "created_at", "created_by",
        ]  # fmt: skip
        read_only_fields = fields

    def to_representation(self, instance: CompletenessAssessment) -> dict[str, Any]:
        data = super().to_representation(instance)
        p = instance.params or {}
        for key in (
            "periods", "relative_period", "relative_count", "org_units", "include_descendants",
            "level", "required_data_elements", "threshold", "disaggregation",
        ):  # fmt: skip
            data[key] = p.get(key)
        data["resolved_periods"] = list(instance.periods or [])
        return data


class CompletenessRowSerializer(serializers.ModelSerializer[CompletenessRow]):
    class Meta:
        model = CompletenessRow
        fields = ROW_API_FIELDS


class CompletenessRowRef(serializers.Serializer[None]):
    org_unit = serializers.CharField(max_length=50)
    period = serializers.CharField(max_length=30)


class CompletenessMarkSerializer(serializers.Serializer[None]):
    action = serializers.ChoiceField(choices=list(MARK_ACTIONS))
    rows = CompletenessRowRef(many=True, required=False)
    compliant = serializers.BooleanField(required=False, default=False)


class _FileRenderer(renderers.BaseRenderer):
    """Lets `?format=csv|xlsx` through DRF's content negotiation (the view answers with a
    Django response of its own, so nothing is rendered here)."""

    charset = None

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return json.dumps(data).encode() if data is not None else b""


class _AnyFormat(negotiation.DefaultContentNegotiation):
    """Content negotiation for the export, where `?format=` is the file type: an unknown one
    (`pdf`) reaches the view, which answers 400 with the choices, instead of DRF's 404."""

    def select_renderer(self, request, renderers, format_suffix=None):  # type: ignore[no-untyped-def]
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except Http404:
            return renderers[0], renderers[0].media_type


class CSVRenderer(_FileRenderer):
    media_type = "text/csv"
    format = "csv"


class XLSXRenderer(_FileRenderer):
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    format = "xlsx"


RUN_RESPONSE = inline_serializer("CompletenessRunStarted", {"run": serializers.IntegerField()})
CREATED = inline_serializer(
    "CompletenessAssessmentStarted",
    {"id": serializers.IntegerField(), "run": serializers.IntegerField()},
)


class CompletenessAssessmentViewSet(LaunchedRecordViewSet):
    queryset = CompletenessAssessment.objects.select_related("instance", "run", "created_by")
    serializer_class = CompletenessAssessmentSerializer
    filterset_fields = ["instance", "data_set"]
    launch_perms = LAUNCH

    @extend_schema(request=CompletenessCreateSerializer, responses={201: CREATED})
    def create(self, request: Request) -> Response:
        body = CompletenessCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            assessment, run = create_and_start_assessment(
                body.to_input(), user=request.user, trigger=Run.Trigger.API
            )
        except DjangoValidationError as exc:
            raise drf_errors(exc) from exc
        return Response({"id": assessment.pk, "run": run.pk}, status=201)

    @extend_schema(request=None, responses={202: RUN_RESPONSE})
    @action(detail=True, methods=["post"], required_perms=LAUNCH)
    def run(self, request: Request, pk: str | None = None) -> Response:
        """Run the assessment again (relative periods resolve anew; rows are replaced)."""
        assessment = self.get_object()
        return api_launch(request, start_completeness_assessment, assessment)

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=["compliant", "non_compliant", "no_data"]),
            OpenApiParameter("level", int),
            OpenApiParameter("search", str),
            OpenApiParameter("ordering", str),
            *PAGE_PARAMETERS,
        ],
        responses=CompletenessRowSerializer(many=True),
    )
    @action(detail=True, methods=["get"], required_perms=[VIEW])
    def results(self, request: Request, pk: str | None = None) -> Response:
        assessment = self.get_object()
        try:
            rows = filter_rows(assessment, parse_filter(request.query_params))
        except DjangoValidationError as exc:
            raise drf_errors(exc) from exc
        return paginated(self, request, rows, CompletenessRowSerializer)

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=["csv", "json", "xlsx"]),
            OpenApiParameter("part", str, enum=["rows", "missing"]),
        ],
        responses={(200, "text/csv"): bytes},
    )
    @action(
        detail=True,
        methods=["get"],
        required_perms=[VIEW],
        renderer_classes=[renderers.JSONRenderer, CSVRenderer, XLSXRenderer],
        content_negotiation_class=_AnyFormat,
    )
    def export(self, request: Request, pk: str | None = None) -> Any:
        assessment = self.get_object()
        fmt = request.query_params.get("format", "csv")
        part = request.query_params.get("part", "rows")
        if fmt not in ("csv", "json", "xlsx"):
            return Response({"format": ["Choose csv, json or xlsx."]}, status=400)
        if part not in ("rows", "missing"):
            return Response({"part": ["Choose rows or missing."]}, status=400)
        try:
            rows = filter_rows(assessment, parse_filter(request.query_params))
        except DjangoValidationError as exc:
            raise drf_errors(exc) from exc
        return export_response(assessment, rows, fmt=fmt, part=part)

    @extend_schema(request=CompletenessMarkSerializer, responses={202: RUN_RESPONSE})
    @action(detail=True, methods=["post"], required_perms=LAUNCH)
    def mark(self, request: Request, pk: str | None = None) -> Response:
        assessment = self.get_object()
        body = CompletenessMarkSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            return api_launch(
                request,
                start_completeness_mark,
                assessment,
                action=data["action"],
                rows=[(r["org_unit"], r["period"]) for r in data.get("rows") or []],
                compliant=data["compliant"],
            )
        except DjangoValidationError as exc:
            raise drf_errors(exc) from exc


def export_response(
    assessment: CompletenessAssessment, rows: Any, *, fmt: str, part: str = "rows"
) -> HttpResponse | StreamingHttpResponse:
    """The download, shared by the API, the page and the admin action."""
    if fmt == "json":
        response: HttpResponse | StreamingHttpResponse = HttpResponse(
            json.dumps(exports.json_document(assessment, rows.iterator()), indent=1),
            content_type="application/json",
        )
    elif fmt == "xlsx":
        response = HttpResponse(
            exports.xlsx_bytes(assessment, rows), content_type=XLSXRenderer.media_type
        )
    else:
        response = StreamingHttpResponse(
            exports.csv_lines(assessment, rows, part=part), content_type="text/csv; charset=utf-8"
        )
    name = exports.filename(assessment, fmt, part if fmt == "csv" else "rows")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
