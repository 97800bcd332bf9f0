"""API of metadata assessments, their items and review, payload previews, syncs and mappings.

Serializers only parse; every rule is checked by `services.py` and its Django `ValidationError`
becomes a 400 with field errors here (`_service`). Operators may start assessments and
validations and review suggestions (`metadata_sync.review_assessment`); committing a sync needs
`metadata_sync.apply_metadata`, editing and deleting mappings the model permissions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from connections.models import ConnectionProfile
from connections.services import client_for
from dhis2.filters import flt_eq, flt_ilike
from dhis2.uids import is_valid_uid
from jobs.faces import (
    PAGE_PARAMETERS,
    LaunchedRecordViewSet,
    ResultsPagination,
    api_start,
    paginated,
    search_match,
)
from jobs.models import Run

from . import services
from .apply import ATOMIC_MODES, IMPORT_STRATEGIES
from .match import Status
from .models import AssessmentItem, MetadataAssessment, ProfileMapping
from .schema import ORDER

T = TypeVar("T")
_Row = TypeVar("_Row")
VIEW = "metadata_sync.view_metadataassessment"
REVIEW = "metadata_sync.review_assessment"
APPLY = "metadata_sync.apply_metadata"
RUN_RESPONSE = inline_serializer("MetadataRunStarted", {"run": serializers.IntegerField()})


def _service(call: Callable[[], T]) -> T:
    """Run a service call; its `ValidationError` becomes DRF's 400 with the same field keys."""
    try:
        return call()
    except DjangoValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        raise serializers.ValidationError(detail) from exc


# --- serializers ------------------------------------------------------------------------------
class AssessmentSerializer(serializers.ModelSerializer[MetadataAssessment]):
    class Meta:
        model = MetadataAssessment
        fields = ["id", "profile", "types", "run", "status", "counts", "created", "created_by"]
        read_only_fields = fields


class AssessmentRequestSerializer(serializers.Serializer[None]):
    profile = serializers.PrimaryKeyRelatedField(queryset=ConnectionProfile.objects.all())
    types = serializers.ListField(
        child=serializers.CharField(), allow_empty=False, help_text=f"Of {', '.join(ORDER)}."
    )


class ItemSerializer(serializers.ModelSerializer[AssessmentItem]):
    class Meta:
        model = AssessmentItem
        fields = [
            "id", "type", "source_id", "source_code", "source_name", "destination_id",
            "destination_code", "destination_name", "status", "score", "differences",
            "decision",
        ]  # fmt: skip
        read_only_fields = fields


class ItemsRequestSerializer(serializers.Serializer[None]):
    # max_value: a larger id cannot exist and would overflow the database query (a 500).
    items = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), allow_empty=False
    )


class AcceptRequestSerializer(ItemsRequestSerializer):
    destinations = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="item id -> destination UID"
    )


class ApplyRequestSerializer(ItemsRequestSerializer):
    dry_run = serializers.BooleanField(default=True)
    import_strategy = serializers.ChoiceField(IMPORT_STRATEGIES, default="CREATE_AND_UPDATE")
    atomic_mode = serializers.ChoiceField(ATOMIC_MODES, default="ALL")


class MappingSerializer(serializers.ModelSerializer[ProfileMapping]):
    class Meta:
        model = ProfileMapping
        fields = [
            "id", "profile", "type", "source_id", "destination_id", "assessment", "accepted_by",
            "accepted_at",
        ]  # fmt: skip
        read_only_fields = [
            "id", "profile", "type", "source_id", "assessment", "accepted_by", "accepted_at"
        ]  # fmt: skip

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance
        _service(
            lambda: services.validate_mapping(
                type=instance.type if instance else "",
                source_id=instance.source_id if instance else "",
                destination_id=attrs.get("destination_id", getattr(instance, "destination_id", "")),
            )
        )
        return attrs


# --- views --------------------------------------------------------------------------------
def _parse(
    serializer_class: type[serializers.Serializer[None]], request: Request
) -> dict[str, Any]:
    body = serializer_class(data=request.data)
    body.is_valid(raise_exception=True)
    return dict(body.validated_data)


class MetadataAssessmentViewSet(LaunchedRecordViewSet):
    """Assessments: create (and run), read, items, review, payload preview and sync."""

    queryset = MetadataAssessment.objects.select_related("profile", "run", "created_by")
    serializer_class = AssessmentSerializer
    filterset_fields = ["profile", "status"]
    launch_perms = [VIEW, "jobs.launch_run"]  # operators run assessments

    def filter_queryset(self, queryset: QuerySet[Any, _Row]) -> QuerySet[Any, _Row]:
        # `status` and `type` of the items endpoint are item filters, not assessment filters.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    @extend_schema(request=AssessmentRequestSerializer, responses={201: AssessmentSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = _parse(AssessmentRequestSerializer, request)
        assessment = _service(
            lambda: services.create_assessment(
                data["profile"], types=data["types"], user=request.user
            )
        )
        services.start_metadata_assessment(assessment, user=request.user, trigger=Run.Trigger.API)
        return Response(AssessmentSerializer(assessment).data, status=201)

    @extend_schema(
        parameters=[
            OpenApiParameter("type", str, enum=list(ORDER)),
            OpenApiParameter("status", str, enum=[s.value for s in Status]),
            OpenApiParameter("search", str),
            *PAGE_PARAMETERS,
        ],
        responses=ItemSerializer(many=True),
    )
    @action(detail=True, methods=["get"], required_perms=[VIEW])
    def items(self, request: Request, pk: str | None = None) -> Response:
        assessment = self.get_object()
        items = filter_items(assessment.items.all(), request.query_params)
        return paginated(self, request, items, ItemSerializer)

    @extend_schema(request=ItemsRequestSerializer, responses=dict)
    @action(detail=True, methods=["post"], required_perms=[VIEW])
    def payload(self, request: Request, pk: str | None = None) -> Response:
        assessment = self.get_object()
        data = _parse(ItemsRequestSerializer, request)
        built = _service(lambda: services.build_assessment_payload(assessment, data["items"]))
        return Response(built.metadata)

    @extend_schema(request=ApplyRequestSerializer, responses={202: RUN_RESPONSE})
    @action(detail=True, methods=["post"], required_perms=[VIEW, "jobs.launch_run"])
    def apply(self, request: Request, pk: str | None = None) -> Response:
        assessment = self.get_object()
        data = _parse(ApplyRequestSerializer, request)
        if not data["dry_run"] and not request.user.has_perm(APPLY):
            return Response(
                {"detail": "Only admins may apply metadata; run a validation (dry_run) instead."},
                status=403,
            )
        return api_start(
            lambda: _service(
                lambda: services.start_metadata_apply(
                    assessment,
                    user=request.user,
                    trigger=Run.Trigger.API,
                    **data,
                )
            )
        )

    @extend_schema(request=AcceptRequestSerializer, responses=ItemSerializer(many=True))
    @action(detail=True, methods=["post"], required_perms=[VIEW, REVIEW])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        return self._review(
            request,
            AcceptRequestSerializer,
            lambda assessment, data: services.accept_items(
                assessment,
                data["items"],
                destinations=data.get("destinations"),
                user=request.user,
            ),
        )

    @extend_schema(request=ItemsRequestSerializer, responses=ItemSerializer(many=True))
    @action(detail=True, methods=["post"], required_perms=[VIEW, REVIEW])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        return self._review(
            request,
            ItemsRequestSerializer,
            lambda assessment, data: services.reject_items(
                assessment, data["items"], user=request.user
            ),
        )

    def _review(
        self,
        request: Request,
        body: type[serializers.Serializer[None]],
        decide: Callable[[MetadataAssessment, dict[str, Any]], list[AssessmentItem]],
    ) -> Response:
        """Accept or reject items: `decide` (a review service) on the parsed `body`; the
        answer is the items as they are now."""
        assessment = self.get_object()
        data = _parse(body, request)
        items = _service(lambda: decide(assessment, data))
        return Response({"items": ItemSerializer(items, many=True).data})

    @extend_schema(
        parameters=[
            OpenApiParameter("type", str, enum=list(ORDER), required=True),
            OpenApiParameter("search", str),
        ],
        responses=dict,
    )
    @action(detail=True, methods=["get"], required_perms=[VIEW])
    def destinations(self, request: Request, pk: str | None = None) -> Response:
        """Destination objects of a type by name, code or UID: the "pick another" search."""
        assessment = self.get_object()
        type_ = request.query_params.get("type", "")
        if type_ not in ORDER:
            return Response({"type": [f"Choose one of {', '.join(ORDER)}."]}, status=400)
        return Response(search_destination(assessment, type_, request.query_params.get("search")))


def filter_items(items: QuerySet[AssessmentItem], params: Any) -> QuerySet[AssessmentItem]:
    """Items filtered by `type`, `status` and `search` (name, code or UID of either side)."""
    errors: dict[str, list[str]] = {}
    type_ = params.get("type") or ""
    status = params.get("status") or ""
    if type_ and type_ not in ORDER:
        errors["type"] = [f"Choose one of {', '.join(ORDER)}."]
    if status and status not in {s.value for s in Status}:
        errors["status"] = [f"Choose one of {', '.join(s.value for s in Status)}."]
    if errors:
        raise serializers.ValidationError(errors)
    if type_:
        items = items.filter(type=type_)
    if status:
        items = items.filter(status=status)
    search = (params.get("search") or "").strip()
    if search:
        items = items.filter(
            search_match(
                search,
                contains=("source_name", "source_code", "destination_name"),
                equals=("source_id", "destination_id"),
            )
        )
    return items


def search_destination(
    assessment: MetadataAssessment, type_: str, search: str | None, *, limit: int = 25
) -> list[dict[str, Any]]:
    """Up to `limit` destination objects of `type_` whose name contains `search` (or UID)."""
    search = (search or "").strip()
    filters = [flt_eq("id", search)] if is_valid_uid(search) else []
    if search and not filters:
        filters = [flt_ilike("name", search)]
    with client_for(assessment.profile.destination, max_attempts=2) as client:
        body = client.get_json(
            type_,
            {"fields": "id,code,name", "pageSize": limit, "order": "name:asc", "filter": filters},
        )
    objects = body.get(type_, []) if isinstance(body, dict) else []
    return [
        {"id": o.get("id"), "code": o.get("code", ""), "name": o.get("name", "")}
        for o in objects
        if isinstance(o, dict)
    ]


class ProfileMappingViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[ProfileMapping],
):
    """Accepted mappings: everyone with view rights reads them; admins correct or delete them."""

    queryset = ProfileMapping.objects.select_related("accepted_by")
    serializer_class = MappingSerializer
    filterset_fields = ["profile", "type", "source_id"]
    pagination_class = ResultsPagination
    http_method_names = ["get", "patch", "delete", "head", "options"]


class ProfileMappingsView(ListAPIView[ProfileMapping]):
    """`/api/v1/profiles/{id}/mappings/`: one profile's mappings (paginated)."""

    queryset = ProfileMapping.objects.select_related("accepted_by")
    serializer_class = MappingSerializer
    pagination_class = ResultsPagination
    required_perms = ["connections.view_connectionprofile", "metadata_sync.view_profilemapping"]

    def get_queryset(self) -> QuerySet[ProfileMapping]:
        profile = get_object_or_404(ConnectionProfile, pk=self.kwargs["pk"])
        return super().get_queryset().filter(profile=profile)
