"""DHIS2 instances and source -> destination connection profiles.

Secrets live only as Fernet ciphertext (`*_encrypted`); `connections.services.client_for` is the
one place that decrypts them. `__str__` and every serializer leave them out.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from . import crypto


def validate_base_url(value: str) -> None:
    from dhis2.urls import normalize_base_url

    try:
        normalize_base_url(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


def validate_username(value: str) -> None:
    if ":" in value:
        # Basic auth joins user and password with ':', so DHIS2 could never see this user.
        raise ValidationError("A DHIS2 username cannot contain ':'.")


def validate_token(value: str) -> None:
    if value and any(c.isspace() for c in value):
        raise ValidationError(
            "A personal access token has no spaces; paste it again without spaces or line breaks."
        )


class Instance(models.Model):
    class AuthType(models.TextChoices):
        BASIC = "basic", "Username and password"
        TOKEN = "token", "Personal access token"

    name = models.CharField(max_length=100, unique=True)
    base_url = models.CharField(
        "base URL",
        max_length=500,
        validators=[validate_base_url],
        help_text="The DHIS2 address, with its context path if any, e.g. https://dhis2.example.org/dhis",
    )
    auth_type = models.CharField(max_length=10, choices=AuthType.choices, default=AuthType.BASIC)
    username = models.CharField(max_length=150, blank=True, validators=[validate_username])
    password_encrypted = models.TextField(blank=True, editable=False)
    token_encrypted = models.TextField(blank=True, editable=False)
    verify_tls = models.BooleanField(
        "verify TLS certificate",
        default=True,
        help_text="Turn off only for a test server with a self-signed certificate.",
    )
    timeout_seconds = models.PositiveIntegerField(
        default=60, help_text="How long to wait for one DHIS2 answer before retrying."
    )
    version = models.CharField("DHIS2 version", max_length=40, blank=True)
    version_checked_at = models.DateTimeField(null=True, blank=True)
    last_check_ok = models.BooleanField(null=True, blank=True)
    last_check_message = models.TextField(blank=True)
    last_check_latency_ms = models.PositiveIntegerField(
        "last check latency (ms)", null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("test_instance", "Can test the connection to an instance")]

    def __str__(self) -> str:
        return self.name

    def set_password(self, raw: str) -> None:
        self.password_encrypted = crypto.encrypt(raw)

    def set_token(self, raw: str) -> None:
        validate_token(raw)
        self.token_encrypted = crypto.encrypt(raw)

    @property
    def has_password(self) -> bool:
        return bool(self.password_encrypted)

    @property
    def has_token(self) -> bool:
        return bool(self.token_encrypted)

    def clean(self) -> None:
        if self.timeout_seconds is not None and not 1 <= self.timeout_seconds <= 3600:
            raise ValidationError({"timeout_seconds": "Use a timeout between 1 and 3600 seconds."})
        if self.auth_type == self.AuthType.BASIC:
            errors = {}
            if not self.username:
                errors["username"] = "A username is needed for username and password auth."
            if not self.password_encrypted:
                errors["password"] = "A password is needed for username and password auth."
            if errors:
                raise ValidationError(errors)
        elif self.auth_type == self.AuthType.TOKEN and not self.token_encrypted:
            raise ValidationError({"token": "A personal access token is needed for token auth."})


class ConnectionProfile(models.Model):
    """A source -> destination pair; saved through `connections.services.save_profile`, which
    checks that the two differ (the constraint is the database's backstop)."""

    name = models.CharField(max_length=100, unique=True)
    source = models.ForeignKey(Instance, on_delete=models.PROTECT, related_name="source_profiles")
    destination = models.ForeignKey(
        Instance, on_delete=models.PROTECT, related_name="destination_profiles"
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(source=F("destination")),
                name="profile_source_differs_from_destination",
                violation_error_message="The source and destination must be different instances.",
            )
        ]

    def __str__(self) -> str:
        return self.name
