"""The OpenAPI schema documents the error answers every view can give, not only its success.

drf-spectacular documents only what a view declares, yet every endpoint can answer 401 (no
credentials) and 403 (a role without the permission), a detail route or a page number past the
end 404, input 400 with field errors, and the exception handler in `config.api` turns an
unreachable DHIS2 into 502 and an unusable credential, an object still in use or a busy job into
409, and django-axes answers a locked-out login 429. A client generated from the schema (or
schemathesis, tests/config/test_schemathesis.py) must find each of those codes documented, so
this adds the ones a view did not declare itself.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers
from rest_framework.permissions import AllowAny

#: The CRUD actions of a model viewset that answer from our own database only.
_LOCAL_ACTIONS = {"list", "retrieve", "destroy"}


class ErrorSerializer(serializers.Serializer[dict[str, Any]]):
    """`{"detail": "..."}`, with more keys where an error says more (e.g. the busy run's id)."""

    detail = serializers.CharField(required=False)


class AutoSchema(SpectacularAutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses: dict[str, Any] = operation.setdefault("responses", {})
        for code, schema in self._error_codes(operation).items():
            if code not in responses:
                # drf-spectacular leaves its private helpers (this one, `_get_paginator`) untyped.
                responses[code] = self._get_response_for_code(  # type: ignore[no-untyped-call]
                    schema, code
                )
        return operation

    def _error_codes(self, operation: dict[str, Any]) -> dict[str, Any]:
        parameters = operation.get("parameters", [])
        has_path = any(p.get("in") == "path" for p in parameters)
        has_query = any(p.get("in") == "query" for p in parameters)
        action = getattr(self.view, "action", None)
        codes: dict[str, Any] = {}
        if has_query or "requestBody" in operation:
            codes["400"] = OpenApiTypes.OBJECT  # field name -> messages
        if "requestBody" in operation:
            codes["415"] = ErrorSerializer  # a body in a media type the view does not parse
        if any(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            codes["429"] = ErrorSerializer  # the token login: locked out by django-axes
        else:
            codes["401"] = codes["403"] = ErrorSerializer
        if has_path or (self._is_list_view() and self._get_paginator() is not None):  # type: ignore[no-untyped-call]
            codes["404"] = ErrorSerializer
        if self.method != "GET" or action not in _LOCAL_ACTIONS:
            codes["409"] = ErrorSerializer
        if action not in _LOCAL_ACTIONS and self.method not in ("DELETE",):
            codes["502"] = ErrorSerializer  # DHIS2 did not answer or answered an error
        return codes
