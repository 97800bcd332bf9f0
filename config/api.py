"""The /api/v1/ router: one place that lists every endpoint family."""

from __future__ import annotations

from typing import Any

from django.db.models import ProtectedError
from django.http import HttpResponse
from django.urls import include, path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.views import exception_handler as drf_exception_handler

from audit.api import AuditEntryViewSet
from audit.lockout import lockout_response
from completeness.api import CompletenessAssessmentViewSet
from connections.api import ConnectionProfileViewSet, InstanceViewSet
from connections.crypto import CredentialDecryptionError
from connections.services import CredentialsMissing
from dhis2.errors import Dhis2Error
from jobs.api import RunViewSet, ScheduleViewSet
from metadata_sync.api import MetadataAssessmentViewSet, ProfileMappingsView, ProfileMappingViewSet
from tracker.api import EventTransferErrorViewSet, EventTransferViewSet
from transfers.api import RunConflictViewSet, TransferViewSet


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DHIS2 and credential problems reach API users as messages, never as a 500.

    A DHIS2 that fails to answer is a bad gateway (502) from our side; a credential that cannot
    be used is a conflict with the stored configuration (409).
    """
    if isinstance(exc, Dhis2Error):
        return Response({"detail": str(exc)}, status=502)
    if isinstance(exc, CredentialDecryptionError | CredentialsMissing):
        return Response({"detail": str(exc)}, status=409)
    if isinstance(exc, ProtectedError):
        users = sorted({str(obj) for obj in exc.protected_objects})[:10]
        return Response(
            {"detail": f"Still in use by: {', '.join(users)}. Remove or change those first."},
            status=409,
        )
    return drf_exception_handler(exc, context)


class TokenView(ObtainAuthToken):
    """POST username and password, get `{"token": ...}` for `Authorization: Token <token>`."""

    permission_classes = [AllowAny]

    # The lock-out answer (audit.lockout) is a plain HttpResponse; APIView.dispatch passes it on.
    @extend_schema(responses=inline_serializer("TokenResponse", {"token": serializers.CharField()}))
    def post(  # type: ignore[override]
        self, request: Request, *args: Any, **kwargs: Any
    ) -> Response | HttpResponse:
        try:
            return super().post(request, *args, **kwargs)
        except serializers.ValidationError:
            # django-axes marks the DRF request (not Django's) when it locks the client out.
            if getattr(request, "axes_locked_out", False):
                return lockout_response(request._request)
            raise


router = DefaultRouter()
# "api-" basenames keep API route names apart from the pages' ("run-detail" is the run page).
router.register("instances", InstanceViewSet, basename="api-instance")
router.register("profiles", ConnectionProfileViewSet, basename="api-profile")
router.register("runs", RunViewSet, basename="api-run")
router.register("schedules", ScheduleViewSet, basename="api-schedule")
router.register("metadata-assessments", MetadataAssessmentViewSet, basename="api-md-assessment")
router.register("profile-mappings", ProfileMappingViewSet, basename="api-profile-mapping")
router.register("transfers", TransferViewSet, basename="api-transfer")
router.register(
    "completeness-assessments", CompletenessAssessmentViewSet, basename="api-completeness"
)
router.register("transfer-conflicts", RunConflictViewSet, basename="api-transfer-conflict")
router.register("tracker-transfers", EventTransferViewSet, basename="api-tracker-transfer")
router.register("tracker-errors", EventTransferErrorViewSet, basename="api-tracker-error")
router.register("audit", AuditEntryViewSet, basename="api-audit")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("profiles/<int:pk>/mappings/", ProfileMappingsView.as_view(), name="api-profile-mappings"),
    path("", include(router.urls)),
]
