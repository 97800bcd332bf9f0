"""API for instances and profiles. Passwords and tokens are write-only, never returned.

Serializers parse input; `connections.services.save_instance` / `save_profile` validate and
save, and their `ValidationError` becomes a 400 with field errors."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from dhis2.errors import NotFound
from dhis2.periods import PeriodError
from dhis2.uids import is_valid_uid
from jobs.faces import SavedByServiceMixin

from . import browse
from .models import ConnectionProfile, Instance
from .services import client_for, save_instance, save_profile, test_connection


class InstanceSerializer(SavedByServiceMixin, serializers.ModelSerializer[Instance]):
    password = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )
    token = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )
    has_password = serializers.BooleanField(read_only=True)
    has_token = serializers.BooleanField(read_only=True)

    class Meta:
        model = Instance
        fields = [
            "id", "name", "base_url", "auth_type", "username", "password", "token",
            "verify_tls", "timeout_seconds", "version", "has_password", "has_token",
            "version_checked_at", "last_check_ok", "last_check_message",
        ]  # fmt: skip
        read_only_fields = ["version", "version_checked_at", "last_check_ok", "last_check_message"]

    def save_with(self, obj: Instance | None, data: dict[str, Any], *, user: Any) -> Instance:
        return save_instance(obj, user=user, **data)


class ConnectionTestSerializer(serializers.Serializer[dict[str, Any]]):
    ok = serializers.BooleanField()
    version = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class InstanceViewSet(viewsets.ModelViewSet[Instance]):
    required_perms: list[str] | None = None  # set per action, read by RolePermission
    queryset = Instance.objects.all()
    serializer_class = InstanceSerializer
    filterset_fields = ["auth_type"]

    @extend_schema(request=None, responses=ConnectionTestSerializer)
    @action(detail=True, methods=["post"], required_perms=["connections.test_instance"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        result = test_connection(self.get_object())
        return Response({"ok": result.ok, "version": result.version, "message": result.message})

    # --- read-only browsing of the instance, for the pickers (DHIS2 errors become 502) -------
    @extend_schema(parameters=[OpenApiParameter("search", str)], responses=dict)
    @action(detail=True, methods=["get"], url_path="data-sets")
    def data_sets(self, request: Request, pk: str | None = None) -> Response:
        with client_for(self.get_object(), max_attempts=2) as client:
            items = browse.list_data_sets(client, search=request.query_params.get("search", ""))
        return Response(items)

    @extend_schema(
        operation_id="v1_instances_data_set_structure",
        parameters=[OpenApiParameter("uid", str, OpenApiParameter.PATH)],
        responses=dict,
    )
    @action(detail=True, methods=["get"], url_path=r"data-sets/(?P<uid>[^/.]+)")
    def data_set(self, request: Request, pk: str | None = None, uid: str = "") -> Response:
        if not is_valid_uid(uid):
            return Response({"uid": [f"'{uid}' is not a DHIS2 UID."]}, status=400)
        with client_for(self.get_object(), max_attempts=2) as client:
            return Response(browse.data_set_structure(client, uid))

    @extend_schema(
        parameters=[
            OpenApiParameter("uid", str, OpenApiParameter.PATH),
            OpenApiParameter("count", int),
        ],
        responses=dict,
    )
    @action(detail=True, methods=["get"], url_path=r"data-sets/(?P<uid>[^/.]+)/periods")
    def periods(self, request: Request, pk: str | None = None, uid: str = "") -> Response:
        if not is_valid_uid(uid):
            return Response({"uid": [f"'{uid}' is not a DHIS2 UID."]}, status=400)
        try:
            count = int(request.query_params.get("count", 12))
        except ValueError:
            return Response({"count": ["Give a whole number."]}, status=400)
        with client_for(self.get_object(), max_attempts=2) as client:
            ds = client.get_json(f"dataSets/{uid}", {"fields": "id,periodType"})
        period_type = ds.get("periodType", "")
        try:
            today = timezone.localdate()
            periods = browse.recent_periods(period_type, count=count, today=today)
            relative = browse.relative_choices(period_type, today=today)
        except PeriodError as exc:
            # The data set's own type has no period ids (TwoYearly) or is unknown: the request
            # was fine, the data set cannot be used here. Say so instead of a 500.
            return Response({"uid": [str(exc)]}, status=400)
        return Response({"periodType": period_type, "periods": periods, "relative": relative})

    @extend_schema(
        parameters=[
            OpenApiParameter("search", str),
            OpenApiParameter("parent", str),
            OpenApiParameter("level", int),
        ],
        responses=dict,
    )
    @action(detail=True, methods=["get"], url_path="org-units")
    def org_units(self, request: Request, pk: str | None = None) -> Response:
        params = request.query_params
        parent = params.get("parent", "")
        if parent and not is_valid_uid(parent):
            return Response({"parent": [f"'{parent}' is not a DHIS2 UID."]}, status=400)
        try:
            level = int(params["level"]) if params.get("level") else None
        except ValueError:
            return Response({"level": ["Give a whole number."]}, status=400)
        with client_for(self.get_object(), max_attempts=2) as client:
            items = browse.list_org_units(
                client, search=params.get("search", ""), parent=parent, level=level
            )
        return Response(items)

    @extend_schema(parameters=[OpenApiParameter("search", str)], responses=dict)
    @action(detail=True, methods=["get"], url_path="event-programs")
    def event_programs(self, request: Request, pk: str | None = None) -> Response:
        """Event programs (without registration) and their stages, for event transfers."""
        with client_for(self.get_object(), max_attempts=2) as client:
            items = browse.list_event_programs(
                client, search=request.query_params.get("search", "")
            )
        return Response(items)


class ConnectionProfileSerializer(
    SavedByServiceMixin, serializers.ModelSerializer[ConnectionProfile]
):
    class Meta:
        model = ConnectionProfile
        fields = ["id", "name", "source", "destination", "description"]

    def save_with(
        self, obj: ConnectionProfile | None, data: dict[str, Any], *, user: Any
    ) -> ConnectionProfile:
        return save_profile(obj, user=user, **data)


class ConnectionProfileViewSet(viewsets.ModelViewSet[ConnectionProfile]):
    required_perms: list[str] | None = None  # set per action, read by RolePermission
    queryset = ConnectionProfile.objects.select_related("source", "destination")
    serializer_class = ConnectionProfileSerializer
    filterset_fields = ["source", "destination"]

    @extend_schema(
        parameters=[
            OpenApiParameter("data_set", str, required=True),
            OpenApiParameter("target_data_set", str),
        ],
        responses=dict,
    )
    @action(detail=True, methods=["get"], url_path="mapping-candidates")
    def mapping_candidates(self, request: Request, pk: str | None = None) -> Response:
        """The mapping editor's material: the source data set's elements and option combos by
        name, the destination data set's (the target one, else the same UID), and for each
        source object the destination one to prefill, from the profile's accepted mappings and
        its latest metadata assessment, so nobody types a UID. A destination without the data
        set is not an error: `targetDataSet` is null and `message` says so."""
        from metadata_sync.models import AssessmentItem, MetadataAssessment
        from metadata_sync.services import profile_mappings

        profile = self.get_object()
        uids = {
            name: request.query_params.get(name, "").strip()
            for name in ("data_set", "target_data_set")
        }
        errors = {
            name: [f"'{value}' is not a DHIS2 UID."]
            for name, value in uids.items()
            if (value or name == "data_set") and not is_valid_uid(value)
        }
        if errors:
            return Response(errors, status=400)
        target = uids["target_data_set"] or uids["data_set"]
        with client_for(profile.source, max_attempts=2) as client:
            source = browse.data_set_structure(client, uids["data_set"])
        message = ""
        with client_for(profile.destination, max_attempts=2) as client:
            try:
                destination = browse.data_set_structure(client, target)
            except NotFound:
                destination = None
                message = f"The destination has no data set {target}."
        latest = (
            MetadataAssessment.objects.filter(profile=profile, status="done")
            .order_by("-created", "-id")
            .first()
        )
        assessed: dict[str, dict[str, dict[str, str]]] = {}
        if latest:
            ids = {e["id"] for e in source["dataElements"]} | {
                c["id"] for e in source["dataElements"] for c in e["categoryOptionCombos"]
            }
            items = (
                AssessmentItem.objects.filter(
                    assessment=latest,
                    type__in=["dataElements", "categoryOptionCombos"],
                    status__in=browse.ASSESSED,
                    source_id__in=ids,
                )
                .exclude(destination_id="")
                .exclude(decision=AssessmentItem.Decision.REJECTED)
            )
            for item in items:
                assessed.setdefault(item.type, {})[item.source_id] = {
                    "id": item.destination_id,
                    "name": item.destination_name,
                    "code": item.destination_code,
                    "status": item.status,
                }
        suggestions = browse.suggest_mappings(
            source, destination, accepted=profile_mappings(profile), assessed=assessed
        )
        return Response(
            {
                "dataSet": source,
                "targetDataSet": destination,
                "message": message,
                "suggestions": suggestions,
                "assessment": latest.pk if latest else None,
            }
        )
