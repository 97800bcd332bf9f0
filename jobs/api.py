"""API for runs: list, detail with the live log, cancel, and incremental log polling."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from .models import Run, RunLogEntry
from .services import request_cancel


class RunLogEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = RunLogEntry
        fields = ["id", "time", "level", "message"]


class RunSerializer(serializers.ModelSerializer):
    started_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = Run
        fields = [
            "id", "kind", "title", "target", "status", "progress", "progress_message", "stats", "error",
            "trigger", "started_by", "params", "cancel_requested", "created_at", "started_at",
            "finished_at", "duration_seconds",
        ]  # fmt: skip
        read_only_fields = fields


class RunDetailSerializer(RunSerializer):
    log = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "log"]
        read_only_fields = fields

    def get_log(self, run: Run) -> list[dict]:
        return RunLogEntrySerializer(run.log_entries.all(), many=True).data


class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    required_perms: list[str] | None = None  # set per action, read by RolePermission
    queryset = Run.objects.select_related("started_by")
    filterset_fields = ["kind", "status", "trigger", "target"]

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return RunDetailSerializer if self.action == "retrieve" else RunSerializer

    @extend_schema(request=None, responses=RunSerializer)
    @action(detail=True, methods=["post"], required_perms=["jobs.cancel_run"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        run = self.get_object()
        if not run.is_active:
            return Response(
                {"detail": f"Run #{run.pk} has already finished ({run.status})."}, status=409
            )
        run = request_cancel(run, user=request.user)
        return Response(RunSerializer(run).data)

    @extend_schema(
        parameters=[OpenApiParameter("after", int, description="Only log lines with a larger id")],
        responses=RunLogEntrySerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def log(self, request: Request, pk: str | None = None) -> Response:
        run = self.get_object()
        try:
            after = int(request.query_params.get("after", 0))
        except ValueError:
            return Response({"after": ["Give a whole number."]}, status=400)
        entries = run.log_entries.filter(id__gt=after)[:1000]
        return Response(RunLogEntrySerializer(entries, many=True).data)
