"""API for transfers: configuration with nested mappings, run/resume, and conflicts of a run.

`run` and `resume` are `jobs.faces.RunActionsMixin`'s, as for event transfers.

Serializers only parse input (types, required fields, lengths); `services.save_transfer`
validates and saves, and its `TransferInvalid` becomes a 400 with field errors (mapping rows
nested by index, `{"mappings": {"0": {...}}}`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers, viewsets

from jobs.faces import JobSerializer, RunActionsMixin
from jobs.models import Run

from .models import Transfer, TransferConflict, TransferMapping
from .services import TransferInvalid, save_transfer, start_transfer


# metadata_sync.api has a MappingSerializer too: one OpenAPI component name each.
@extend_schema_serializer(component_name="TransferMapping")
class MappingSerializer(serializers.ModelSerializer[TransferMapping]):
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

    def to_internal_value(self, data: Any) -> dict[str, Any]:
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
            value: dict[str, Any] = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if missing and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**missing, **exc.detail}) from exc
            raise
        if missing:
            raise serializers.ValidationError(missing)
        return value

    def to_representation(self, instance: TransferMapping) -> dict[str, Any]:
        data = super().to_representation(instance)
        for key in ("source_category_option_combo", "target_category_option_combo"):
            data[key] = data[key] or None
        return data


class TransferSerializer(JobSerializer):
    mappings = MappingSerializer(many=True, required=False)

    class Meta:
        model = Transfer
        fields = [
            "id", "name", "profile", "data_set", "target_data_set", "periods", "relative_period",
            "relative_count", "org_units", "include_descendants", "org_unit_map",
            "attribute_option_combo_map", "mappings", "unmapped", "id_scheme", "import_strategy",
            "mark_complete", "incremental", "chunk_size", "continue_on_preflight_problems",
            "propagate_deletions", "async_import", "use_profile_mappings", "min_completeness",
            "watermark", "last_run", "last_run_status",
        ]  # fmt: skip
        read_only_fields = ["watermark", "last_run", "last_run_status"]

    def save_with(self, obj: Transfer | None, data: dict[str, Any], *, user: Any) -> Transfer:
        mappings = data.pop("mappings", None)
        return save_transfer(obj, user=user, mappings=mappings, **data)

    def field_errors(self, exc: DjangoValidationError) -> serializers.ValidationError:
        """Mapping rows nested by index (`TransferInvalid.detail`), as DRF nests rows."""
        if isinstance(exc, TransferInvalid):
            return serializers.ValidationError(exc.detail)
        raise exc


class ConflictSerializer(serializers.ModelSerializer[TransferConflict]):
    class Meta:
        model = TransferConflict
        exclude = ["run"]


class TransferViewSet(RunActionsMixin, viewsets.ModelViewSet[Transfer]):
    queryset = Transfer.objects.select_related("profile", "last_run").prefetch_related("mappings")
    serializer_class = TransferSerializer
    filterset_fields = ["profile", "incremental"]
    required_perms: list[str] | None = None

    launch_perms = ["transfers.view_transfer", "jobs.launch_run"]

    def start_run(self, obj: Transfer, **options: Any) -> Run:
        return start_transfer(obj, **options)


class RunConflictViewSet(viewsets.ReadOnlyModelViewSet[TransferConflict]):
    """Conflicts DHIS2 reported for transfer runs: `/api/v1/transfer-conflicts/?run=<id>`."""

    queryset = TransferConflict.objects.all()
    serializer_class = ConflictSerializer
    filterset_fields = ["run", "error_code"]
