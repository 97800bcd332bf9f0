"""API for runs (list, detail with the live log, cancel, incremental log polling) and
schedules (CRUD, cron preview, pause, resume, run now)."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from . import cron, schedules
from .models import Run, RunLogEntry, Schedule
from .registry import OPERATIONS, job_type_choices
from .services import Busy, request_cancel


class RunLogEntrySerializer(serializers.ModelSerializer[RunLogEntry]):
    class Meta:
        model = RunLogEntry
        fields = ["id", "time", "level", "message"]


class RunSerializer(serializers.ModelSerializer[Run]):
    started_by: serializers.SlugRelatedField[AbstractBaseUser] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = Run
        fields = [
            "id", "kind", "title", "target", "status", "progress", "progress_message", "stats",
            "error", "trigger", "started_by", "params", "cancel_requested", "created_at",
            "started_at", "finished_at", "duration_seconds", "schedule",
        ]  # fmt: skip
        read_only_fields = fields


class RunDetailSerializer(RunSerializer):
    log = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "log"]
        read_only_fields = fields

    def get_log(self, run: Run) -> list[dict[str, Any]]:
        # `many=True` makes a ListSerializer, whose data is a list; the stubs see the child's.
        return cast(
            list[dict[str, Any]], RunLogEntrySerializer(run.log_entries.all(), many=True).data
        )


class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Run]):
    required_perms: list[str] | None = None  # set per action, read by RolePermission
    queryset = Run.objects.select_related("started_by")
    filterset_fields = ["kind", "status", "trigger", "target", "schedule"]

    def get_serializer_class(self) -> type[RunSerializer]:
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
    @action(detail=True, methods=["get"], pagination_class=None)  # at most 1000 lines, unpaged
    def log(self, request: Request, pk: str | None = None) -> Response:
        run = self.get_object()
        try:
            after = int(request.query_params.get("after", 0))
        except ValueError:
            return Response({"after": ["Give a whole number."]}, status=400)
        entries = run.log_entries.filter(id__gt=after)[:1000]
        return Response(RunLogEntrySerializer(entries, many=True).data)


# --- Schedules --------------------------------------------------------------------------------


@extend_schema_field({"type": "array", "items": {"type": "string", "format": "email"}})
class EmailListField(serializers.Field[str, Any, list[str], Any]):
    """Stored comma-separated; read as a list; written as a list or a comma-separated string."""

    def to_representation(self, value: str) -> list[str]:
        return [e.strip() for e in (value or "").split(",") if e.strip()]

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str | list) or (
            isinstance(data, list) and not all(isinstance(e, str) for e in data)
        ):
            raise serializers.ValidationError("Give a list of e-mail addresses.")
        try:
            return cron.validate_emails(data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


@extend_schema_field(
    {"type": "string", "enum": [op.key for op in OPERATIONS.values() if op.schedulable]}
)
class JobTypeField(serializers.CharField):
    """Checked against the job types available when the request is made, not at import."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value not in dict(job_type_choices()):
            keys = ", ".join(k for k, _ in job_type_choices()) or "none yet"
            raise serializers.ValidationError(
                f'"{value}" is not a job type that can be scheduled; use one of: {keys}.'
            )
        return value


class RunSummarySerializer(serializers.ModelSerializer[Run]):
    skipped = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = ["id", "status", "trigger", "skipped", "error", "created_at", "finished_at"]
        read_only_fields = fields

    def get_skipped(self, run: Run) -> bool:
        return run.status == Run.Status.SKIPPED


class ScheduleSerializer(serializers.ModelSerializer[Schedule]):
    job_type = JobTypeField(max_length=30)
    notify_emails = EmailListField(required=False)
    description = serializers.SerializerMethodField(help_text="The cron expression in words.")
    # `last_run` is the run's id, like every other reference in the API; the summary is beside.
    last_run: serializers.PrimaryKeyRelatedField[Run] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )
    last_run_detail = RunSummarySerializer(source="last_run", read_only=True, allow_null=True)

    class Meta:
        model = Schedule
        fields = [
            "id", "name", "job_type", "job_id", "cron", "description", "timezone", "enabled",
            "status", "consecutive_failures", "max_consecutive_failures", "notify_emails",
            "notify_on_success", "next_run", "last_run", "last_run_detail",
        ]  # fmt: skip
        read_only_fields = ["status", "consecutive_failures", "next_run", "last_run"]

    def get_description(self, obj: Schedule) -> str:
        return cron.describe_cron(obj.cron)

    def validate_cron(self, value: str) -> str:
        return cron.validate_cron(value)

    def validate_timezone(self, value: str) -> str:
        return cron.validate_timezone(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        job_type = attrs.get("job_type", getattr(self.instance, "job_type", None))
        job_id = attrs.get("job_id", getattr(self.instance, "job_id", None))
        if "job_type" in attrs or "job_id" in attrs:
            try:
                # A string here: on create both fields are required, on update it is the
                # instance's when the request leaves it out.
                schedules.validate_job(cast(str, job_type), job_id)
            except DjangoValidationError as exc:
                raise serializers.ValidationError(exc.message_dict) from None
        return attrs

    def create(self, validated_data: dict[str, Any]) -> Schedule:
        user = self.context["request"].user
        return schedules.save_schedule(Schedule(**validated_data), user=user)

    def update(self, instance: Schedule, validated_data: dict[str, Any]) -> Schedule:
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return schedules.save_schedule(instance, user=self.context["request"].user)


class PreviewSerializer(serializers.Serializer[None]):
    cron = serializers.CharField()
    timezone = serializers.CharField()
    description = serializers.CharField()
    next_runs = serializers.ListField(child=serializers.DateTimeField())


class ScheduleViewSet(viewsets.ModelViewSet[Schedule]):
    """Schedules. Admins create, change, delete, pause and resume; operators read and run now."""

    required_perms: list[str] | None = None  # set per action, read by RolePermission
    queryset = Schedule.objects.select_related("last_run")
    serializer_class = ScheduleSerializer
    filterset_fields = ["status", "job_type", "enabled"]

    def perform_destroy(self, instance: Schedule) -> None:
        schedules.delete_schedule(instance)

    @extend_schema(
        parameters=[
            OpenApiParameter("cron", str, required=True, description='e.g. "0 2 * * *"'),
            OpenApiParameter("timezone", str, description="IANA zone; default TIME_ZONE"),
            OpenApiParameter("count", int, description="How many next runs (1-50, default 5)"),
        ],
        responses={200: PreviewSerializer, 400: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"])
    def preview(self, request: Request) -> Response:
        """The next run times and a sentence for a cron expression (for forms as users type)."""
        try:
            count = max(1, min(50, int(request.query_params.get("count", 5))))
        except ValueError:
            return Response({"count": ["Give a whole number."]}, status=400)
        try:
            result = cron.preview(
                request.query_params.get("cron", ""),
                request.query_params.get("timezone") or None,
                count=count,
            )
        except DjangoValidationError as exc:
            return Response(exc.message_dict, status=400)
        # ISO 8601 in the schedule's own zone (with its offset), not the project's.
        return Response(
            {
                "cron": result.cron,
                "timezone": result.timezone,
                "description": result.description,
                "next_runs": [when.isoformat() for when in result.next_runs],
            }
        )

    @extend_schema(request=None, responses=ScheduleSerializer)
    @action(detail=True, methods=["post"], required_perms=["jobs.change_schedule"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        """Clear the failure counter and re-activate the schedule."""
        schedule = schedules.resume(self.get_object(), user=request.user)
        return Response(self.get_serializer(schedule).data)

    @extend_schema(request=None, responses=ScheduleSerializer)
    @action(detail=True, methods=["post"], required_perms=["jobs.change_schedule"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        """Switch the schedule off (status `disabled`) until it is resumed."""
        schedule = schedules.pause(self.get_object(), user=request.user)
        return Response(self.get_serializer(schedule).data)

    @extend_schema(request=None, responses={202: RunSerializer, 409: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], required_perms=["jobs.run_schedule"])
    def run(self, request: Request, pk: str | None = None) -> Response:
        """Start the schedule's job now; 409 when a run of the same job is still active."""
        schedule = self.get_object()
        try:
            run = schedules.run_now(schedule, user=request.user, trigger=Run.Trigger.API)
        except Busy as exc:
            return Response(exc.body(), status=status.HTTP_409_CONFLICT)
        except schedules.JobMissing as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        # `run` (the id) as in POST /transfers/{id}/run/, plus the run itself.
        return Response({"run": run.pk, **RunSerializer(run).data}, status=status.HTTP_202_ACCEPTED)
