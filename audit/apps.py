"""Registers the audited models with django-auditlog in one place, so the apps that own them
need no audit code of their own."""

from __future__ import annotations

from django.apps import AppConfig, apps

#: "app_label.Model" -> fields left out: run results, derived state and timestamps change with
#: every run and are not somebody's decision (the run itself is logged as a launch).
AUDITED_MODELS: dict[str, list[str]] = {
    "connections.Instance": [
        "version",
        "version_checked_at",
        "last_check_ok",
        "last_check_message",
        "last_check_latency_ms",
        "created_at",
        "updated_at",
    ],
    "connections.ConnectionProfile": ["created_at", "updated_at"],
    "transfers.Transfer": ["watermark", "last_run", "created_at", "updated_at"],
    "transfers.TransferMapping": [],
    "tracker.EventTransfer": ["watermark", "last_run", "source_names", "created_at", "updated_at"],
    "metadata_sync.MetadataAssessment": ["run", "status", "counts", "defaults", "created"],
    "metadata_sync.ProfileMapping": [],
    "completeness.CompletenessAssessment": [
        "run",
        "data_set_name",
        "period_type",
        "element_names",
        "org_unit_names",
        "periods",
        "assessed",
        "compliant",
        "non_compliant",
        "no_data",
        "registered",
        "average_compliance",
        "created_at",
    ],
    "jobs.Schedule": [
        "next_run",
        "last_run",
        "q_schedule",
        "consecutive_failures",
        "created_at",
        "updated_at",
    ],
}

#: Secret fields: the log records that they changed, as `[secret]`, never value or ciphertext.
SECRET_FIELDS: dict[str, list[str]] = {
    "connections.Instance": ["password_encrypted", "token_encrypted"],
}


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        for dotted, excluded in AUDITED_MODELS.items():
            model = apps.get_model(dotted)
            if auditlog.contains(model):
                continue
            auditlog.register(
                model,
                exclude_fields=list(excluded),
                mask_fields=list(SECRET_FIELDS.get(dotted, [])),
            )
