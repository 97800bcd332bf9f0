"""API for instances and profiles. Passwords and tokens are write-only, never returned."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from .models import ConnectionProfile, Instance, validate_base_url
from .services import test_connection


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

    def validate_base_url(self, value: str) -> str:
        try:
            validate_base_url(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return value

    def validate_timeout_seconds(self, value: int) -> int:
        if not 1 <= value <= 3600:
            raise serializers.ValidationError("Use a timeout between 1 and 3600 seconds.")
        return value

    def _apply(self, instance: Instance, data: dict) -> Instance:
        password, token = data.pop("password", ""), data.pop("token", "")
        for key, value in data.items():
            setattr(instance, key, value)
        if password:
            instance.set_password(password)
        if token:
            instance.set_token(token)
        try:
            instance.full_clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        instance.save()
        return instance

    def create(self, validated_data: dict) -> Instance:
        return self._apply(Instance(), validated_data)

    def update(self, instance: Instance, validated_data: dict) -> Instance:
        return self._apply(instance, validated_data)


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


class ConnectionProfileSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConnectionProfile
        fields = ["id", "name", "source", "destination", "description"]

    def validate(self, attrs: dict) -> dict:
        source = attrs.get("source", getattr(self.instance, "source", None))
        destination = attrs.get("destination", getattr(self.instance, "destination", None))
        if source is not None and source == destination:
            raise serializers.ValidationError(
                {"destination": "The source and destination must be different instances."}
            )
        return attrs


class ConnectionProfileViewSet(viewsets.ModelViewSet):
    queryset = ConnectionProfile.objects.select_related("source", "destination")
    serializer_class = ConnectionProfileSerializer
    filterset_fields = ["source", "destination"]
