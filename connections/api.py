"""API for instances and profiles. Passwords and tokens are write-only, never returned.

Serializers parse input; `connections.services.save_instance` / `save_profile` validate and
save, and their `ValidationError` becomes a 400 with field errors."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from dhis2.periods import PeriodError
from dhis2.uids import is_valid_uid

from . import browse
from .models import ConnectionProfile, Instance
from .services import client_for, save_instance, save_profile, test_connection


class InstanceSerializer(serializers.ModelSerializer):
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

    def _save(self, instance: Instance | None, data: dict) -> Instance:
        request = self.context.get("request")
        try:
            return save_instance(instance, user=getattr(request, "user", None), **data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc

    def create(self, validated_data: dict) -> Instance:
        return self._save(None, validated_data)

    def update(self, instance: Instance, validated_data: dict) -> Instance:
        return self._save(instance, validated_data)


class ConnectionTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    version = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class InstanceViewSet(viewsets.ModelViewSet):
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
            periods = browse.recent_periods(period_type, count=count, today=timezone.localdate())
        except PeriodError as exc:
            # The data set's own type has no period ids (TwoYearly) or is unknown: the request
            # was fine, the data set cannot be used here. Say so instead of a 500.
            return Response({"uid": [str(exc)]}, status=400)
        return Response({"periodType": period_type, "periods": periods})

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


class ConnectionProfileSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConnectionProfile
        fields = ["id", "name", "source", "destination", "description"]

    def _save(self, profile: ConnectionProfile | None, data: dict) -> ConnectionProfile:
        request = self.context.get("request")
        try:
            return save_profile(profile, user=getattr(request, "user", None), **data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc

    def create(self, validated_data: dict) -> ConnectionProfile:
        return self._save(None, validated_data)

    def update(self, instance: ConnectionProfile, validated_data: dict) -> ConnectionProfile:
        return self._save(instance, validated_data)


class ConnectionProfileViewSet(viewsets.ModelViewSet):
    queryset = ConnectionProfile.objects.select_related("source", "destination")
    serializer_class = ConnectionProfileSerializer
    filterset_fields = ["source", "destination"]
