"""API for transfers: configuration with nested mappings, run/resume, and conflicts of a run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from jobs.models import Run

from .models import Transfer, TransferConflict, TransferMapping, validate_identifier
from .services import NotResumable, TransferBusy, start_transfer


class MappingSerializer(serializers.ModelSerializer):
    """A mapping row in the transfer's id scheme: UIDs, or codes when `id_scheme` is CODE."""

    source_data_element = serializers.CharField(max_length=50)
    source_category_option_combo = serializers.CharField(
        max_length=50, required=False, allow_blank=True, allow_null=True
    )
    target_data_element = serializers.CharField(max_length=50)
    target_category_option_combo = serializers.CharField(
        max_length=50, required=False, allow_blank=True, allow_null=True
    )

    class Meta:
        model = TransferMapping
        fields = [
            "source_data_element",
            "source_category_option_combo",
            "target_data_element",
            "target_category_option_combo",
        ]

    def to_internal_value(self, data: Any) -> dict:
        """A row is always a whole row, also inside a PATCH of its transfer.

        DRF makes every nested field optional when the *root* serializer is partial
        (`Field.validate_empty_values` reads `self.root.partial`), so a PATCHed row without
        `source_data_element` would pass validation and reach code that indexes it. Rows replace
        the stored ones, so a row missing a required field is an error for that row here.
        """
        missing: dict[str, list[str]] = {}
        if isinstance(data, Mapping):
            missing = {
                name: [str(field.error_messages["required"])]
                for name, field in self.fields.items()
                if field.required and not field.read_only and name not in data
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if missing and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**missing, **exc.detail}) from exc
            raise
        if missing:
            raise serializers.ValidationError(missing)
        return value

    def to_representation(self, instance: TransferMapping) -> dict:
        data = super().to_representation(instance)
        for key in ("source_category_option_combo", "target_category_option_combo"):
            data[key] = data[key] or None
        return data


class TransferSerializer(serializers.ModelSerializer):
    mappings = MappingSerializer(many=True, required=False)
    last_run_status = serializers.CharField(source="last_run.status", read_only=True, default=None)

    class Meta:
        model = Transfer
        fields = [
            "id", "name", "profile", "data_set", "target_data_set", "periods", "relative_period",
            "relative_count", "org_units", "include_descendants", "org_unit_map",
            "attribute_option_combo_map", "mappings", "unmapped", "id_scheme", "import_strategy",
            "mark_complete", "incremental", "chunk_size", "continue_on_preflight_problems",
            "propagate_deletions", "async_import",
            "watermark", "last_run", "last_run_status",
        ]  # fmt: skip
        read_only_fields = ["watermark", "last_run", "last_run_status"]

    def validate(self, attrs: dict) -> dict:
        scheme = attrs.get("id_scheme", getattr(self.instance, "id_scheme", "UID"))
        rows = attrs.get("mappings")
        if rows is None and self.instance is not None and "id_scheme" in attrs:
            # The scheme changes but the rows stay: they must fit the new scheme too.
            rows = list(
                self.instance.mappings.values(
                    "source_data_element", "source_category_option_combo",
                    "target_data_element", "target_category_option_combo",
                )
            )  # fmt: skip
        errors = []
        for n, row in enumerate(rows or [], start=1):
            for key, value in row.items():
                if value in (None, "") and key.endswith("option_combo"):
                    continue
                try:
                    validate_identifier(value or "", scheme)
                except DjangoValidationError as exc:
                    errors.append(f"Row {n}, {key}: {' '.join(exc.messages)}")
        if errors:
            raise serializers.ValidationError({"mappings": errors})
        return attrs

    def validate_mappings(self, rows: list[dict]) -> list[dict]:
        seen = set()
        for row in rows:
            key = (row["source_data_element"], row.get("source_category_option_combo") or "")
            if key in seen:
                raise serializers.ValidationError(
                    f"{'.'.join(k for k in key if k)} is mapped twice; keep one row per source."
                )
            seen.add(key)
        return rows

    def _save(self, transfer: Transfer, data: dict) -> Transfer:
        mappings = data.pop("mappings", None)
        for key, value in data.items():
            setattr(transfer, key, value)
        try:
            transfer.full_clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        with transaction.atomic():
            transfer.save()
            if mappings is not None:
                rows = [
                    (
                        m["source_data_element"],
                        m.get("source_category_option_combo") or "",
                        m["target_data_element"],
                        m.get("target_category_option_combo") or "",
                    )
                    for m in mappings
                ]
                keys = (
                    "source_data_element", "source_category_option_combo",
                    "target_data_element", "target_category_option_combo",
                )  # fmt: skip
                stored = set(transfer.mappings.values_list(*keys))
                if stored != set(rows):
                    # Different rows change what a run sends: the next run must be complete.
                    transfer.mappings.all().delete()
                    TransferMapping.objects.bulk_create(
                        TransferMapping(transfer=transfer, **dict(zip(keys, row, strict=True)))
                        for row in rows
                    )
                    Transfer.objects.filter(pk=transfer.pk).update(watermark=None)
        return transfer

    def create(self, validated_data: dict) -> Transfer:
        return self._save(Transfer(), validated_data)

    def update(self, instance: Transfer, validated_data: dict) -> Transfer:
        return self._save(instance, validated_data)


class RunRequestSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(default=False)
    full = serializers.BooleanField(
        default=False, help_text="Incremental transfers: ignore the watermark, send everything."
    )


class ResumeRequestSerializer(serializers.Serializer):
    run = serializers.IntegerField(help_text="The failed or cancelled run to continue.")


RUN_RESPONSE = inline_serializer("RunStarted", {"run": serializers.IntegerField()})


class ConflictSerializer(serializers.ModelSerializer):
    class Meta:
        model = TransferConflict
        exclude = ["run"]


class TransferViewSet(viewsets.ModelViewSet):
    queryset = Transfer.objects.select_related("profile", "last_run").prefetch_related("mappings")
    serializer_class = TransferSerializer
    filterset_fields = ["profile", "incremental"]
    required_perms: list[str] | None = None

    def _busy(self, exc: TransferBusy) -> Response:
        return Response({"detail": str(exc), "run": exc.run.pk}, status=409)

    @extend_schema(request=RunRequestSerializer, responses={202: RUN_RESPONSE})
    @action(
        detail=True, methods=["post"], required_perms=["transfers.view_transfer", "jobs.launch_run"]
    )
    def run(self, request: Request, pk: str | None = None) -> Response:
        body = RunRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            run = start_transfer(
                self.get_object(),
                user=request.user,
                trigger=Run.Trigger.API,
                dry_run=body.validated_data["dry_run"],
                full=body.validated_data["full"],
            )
        except TransferBusy as exc:
            return self._busy(exc)
        return Response({"run": run.pk}, status=202)

    @extend_schema(request=ResumeRequestSerializer, responses={202: RUN_RESPONSE})
    @action(
        detail=True, methods=["post"], required_perms=["transfers.view_transfer", "jobs.launch_run"]
    )
    def resume(self, request: Request, pk: str | None = None) -> Response:
        body = ResumeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        previous = Run.objects.filter(pk=body.validated_data["run"]).first()
        if previous is None:
            return Response({"run": ["There is no such run."]}, status=400)
        try:
            run = start_transfer(
                self.get_object(), user=request.user, trigger=Run.Trigger.API, resume_of=previous
            )
        except NotResumable as exc:
            return Response({"run": [str(exc)]}, status=400)
        except TransferBusy as exc:
            return self._busy(exc)
        return Response({"run": run.pk}, status=202)


class RunConflictViewSet(viewsets.ReadOnlyModelViewSet):
    """Conflicts DHIS2 reported for transfer runs: `/api/v1/transfer-conflicts/?run=<id>`."""

    queryset = TransferConflict.objects.all()
    serializer_class = ConflictSerializer
    filterset_fields = ["run", "error_code"]
