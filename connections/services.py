"""Connection services: saving instances and profiles, the only code that decrypts a
credential, and the connection test.

`save_instance` and `save_profile` are the one way the admin, the API and commands save
configuration: they validate (the model's rules plus the rules between fields), take the
secrets (write-only: encrypted on the instance, never returned), and reset what a change makes
stale (a profile pointed at other instances resets its transfers' incremental watermarks).
Forms and serializers only parse input; a `ValidationError` keyed by field comes back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Unpack

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts.actors import Actor
from dhis2.auth import BasicAuth, TokenAuth
from dhis2.client import Client, RetryEvent, RetryPolicy
from dhis2.errors import Dhis2Error
from jobs.models import Run
from jobs.services import StartOptions, launch_on

from .crypto import CredentialDecryptionError, decrypt
from .models import ConnectionProfile, Instance, validate_token

logger = logging.getLogger(__name__)


class CredentialsMissing(Exception):
    """The instance has no credential stored for its auth type."""


#: What asking an instance can fail with that the person asking can act on (so pages and
#: validations show it instead of failing): DHIS2 did not answer or refused, or the stored
#: credential cannot be used.
ASKING_FAILURES: tuple[type[Exception], ...] = (
    Dhis2Error,
    CredentialDecryptionError,
    CredentialsMissing,
)


# --- saving -----------------------------------------------------------------------------------

#: Fields `save_instance` takes as keyword arguments (secrets come as `password` / `token`).
INSTANCE_FIELDS = ("name", "base_url", "auth_type", "username", "verify_tls", "timeout_seconds")
#: Fields `save_profile` takes as keyword arguments (`source`/`destination` are `Instance`s).
PROFILE_FIELDS = ("name", "source", "destination", "description")
SAME_INSTANCE = "The source and destination must be different instances."


def _apply(obj: object, allowed: tuple[str, ...], fields: dict[str, object], what: str) -> None:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise TypeError(f"{what}() got unknown field(s): {', '.join(unknown)}")
    for name, value in fields.items():
        setattr(obj, name, value)


@sensitive_variables("password", "token")
def prepare_instance(
    instance: Instance | None,
    *,
    password: str | None = None,
    token: str | None = None,
    **fields: object,
) -> Instance:
    """Apply `fields` and new secrets to `instance` (a new one for None) and validate it;
    saves nothing (the admin's form calls it to show the errors on its fields).

    Secrets are write-only: None or "" keeps the stored one. Raises `ValidationError` keyed
    by field (`password`, `token` for the secrets)."""
    instance = instance if instance is not None else Instance()
    _apply(instance, INSTANCE_FIELDS, fields, "save_instance")
    errors: dict[str, list[str]] = {}
    if token:
        try:
            validate_token(token)
        except ValidationError as exc:
            errors["token"] = list(exc.messages)
        else:
            instance.set_token(token)
    if password:
        instance.set_password(password)
    try:
        instance.full_clean()
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, list(messages))  # a refused token: its own message only
    if errors:
        raise ValidationError(errors)
    return instance


@sensitive_variables("password", "token")
def save_instance(
    instance: Instance | None,
    *,
    user: Actor,
    password: str | None = None,
    token: str | None = None,
    **fields: object,
) -> Instance:
    """Create (`instance=None`) or update a DHIS2 instance; see `prepare_instance`.
    `user` is who saves (the faces pass it; nothing records it yet)."""
    instance = prepare_instance(instance, password=password, token=token, **fields)
    instance.save()
    return instance


def prepare_profile(profile: ConnectionProfile | None, **fields: object) -> ConnectionProfile:
    """Apply `fields` to `profile` (a new one for None) and validate it; saves nothing.

    The one place that checks that the source is not the destination (the database
    constraint only stops what bypasses this service)."""
    profile = profile if profile is not None else ConnectionProfile()
    _apply(profile, PROFILE_FIELDS, fields, "save_profile")
    errors: dict[str, list[str]] = {}
    try:
        profile.full_clean(validate_constraints=False)
    except ValidationError as exc:
        errors = {key: list(messages) for key, messages in exc.message_dict.items()}
    if profile.source_id and profile.source_id == profile.destination_id:
        errors.setdefault("destination", []).append(SAME_INSTANCE)
    if errors:
        raise ValidationError(errors)
    return profile


def save_profile(
    profile: ConnectionProfile | None, *, user: Actor, **fields: object
) -> ConnectionProfile:
    """Create (`profile=None`) or update a connection profile; raises `ValidationError` keyed
    by field. Pointing it at another source or destination resets the incremental watermarks
    of its transfers: none of their data was moved between the new pair yet."""
    before = (
        ConnectionProfile.objects.filter(pk=profile.pk)
        .values_list("source_id", "destination_id")
        .first()
        if profile is not None and profile.pk
        else None
    )
    profile = prepare_profile(profile, **fields)
    with transaction.atomic():
        profile.save()
        if before is not None and before != (profile.source_id, profile.destination_id):
            # Reverse accessors of the apps that keep watermarks per profile (no import of
            # them here: they build on this app, not the other way round).
            for related in ("transfers", "event_transfers"):
                manager = getattr(profile, related, None)
                if manager is not None and hasattr(manager.model, "watermark"):
                    manager.exclude(watermark=None).update(watermark=None)
    return profile


@sensitive_variables("password", "token", "auth")
def client_for(
    instance: Instance,
    *,
    on_retry: Callable[[RetryEvent], None] | None = None,
    max_attempts: int | None = None,
    timeout: float | None = None,
) -> Client:
    """Build a DHIS2 client for an instance, decrypting its credential in memory only.

    `timeout` (seconds) overrides the instance's for callers a person waits on, such as the
    name lookups of a page.

    Raises `CredentialDecryptionError` or `CredentialsMissing` with a message for the user.
    """
    try:
        if instance.auth_type == Instance.AuthType.TOKEN:
            token = decrypt(instance.token_encrypted)
            if not token:
                raise CredentialsMissing(f"Instance {instance.name} has no personal access token.")
            auth: BasicAuth | TokenAuth = TokenAuth(token)
        else:
            password = decrypt(instance.password_encrypted)
            if not instance.username or not password:
                raise CredentialsMissing(f"Instance {instance.name} has no username and password.")
            auth = BasicAuth(instance.username, password)
    except ValueError as exc:  # the auth classes refuse a malformed credential
        raise CredentialsMissing(
            f"The stored credential of instance {instance.name} cannot be used ({exc}); "
            "an admin must enter it again."
        ) from None
    retry = RetryPolicy(
        max_attempts=max_attempts or settings.DHIS2_MAX_ATTEMPTS,
        backoff_base=settings.DHIS2_BACKOFF_BASE,
        backoff_max=settings.DHIS2_BACKOFF_MAX,
    )
    seconds = float(timeout if timeout is not None else instance.timeout_seconds)
    return Client(
        instance.base_url,
        auth,
        timeout=seconds,
        connect_timeout=min(10.0, seconds),
        verify=instance.verify_tls,
        retry=retry,
        on_retry=on_retry,
    )


@dataclass(frozen=True)
class ConnectionTestResult:
    ok: bool
    version: str | None
    message: str
    latency_ms: int | None = None
    """Round trip of /api/system/info, shown as the instance's health on the dashboard."""


def test_connection(instance: Instance) -> ConnectionTestResult:
    """Call /api/system/info and /api/me, store the version and the outcome on the instance.

    Never raises for DHIS2 or credential problems: the user gets the readable message instead.
    """
    version: str | None = None
    try:
        # One attempt with a short retry budget: a person is waiting for the answer.
        with client_for(instance, max_attempts=2) as client:
            started = time.monotonic()
            info = client.system_info()
            latency = round((time.monotonic() - started) * 1000)
            version = str(client.version)
            me = client.me()
        who = me.get("username") or me.get("name") or "the configured user"
        system = info.get("systemName") or "DHIS2"
        message = f"Connected to {system} {version} as {who}."
        result = ConnectionTestResult(True, version, message, latency)
    except ASKING_FAILURES as exc:
        result = ConnectionTestResult(False, version, str(exc))
    except ValueError as exc:  # a base URL the client refuses
        result = ConnectionTestResult(False, None, str(exc))
    now = timezone.now()
    fields = {"version_checked_at": now, "last_check_ok": result.ok}
    fields["last_check_message"] = result.message
    fields["last_check_latency_ms"] = result.latency_ms
    if result.version:
        fields["version"] = result.version
    Instance.objects.filter(pk=instance.pk).update(**fields)
    for name, value in fields.items():
        setattr(instance, name, value)
    logger.info("Connection test of instance %s: %s", instance.pk, "ok" if result.ok else "failed")
    return result


def start_connection_check(instance: Instance, **start: Unpack[StartOptions]) -> Run:
    """Queue a check of one instance (the `connection_check` operation of `jobs.registry`).

    Its target is the instance's, so a scheduled check and a check from the command line
    never run at once for the same instance.
    """
    return launch_on(
        "connection_check",
        instance.pk,
        {"instance_ids": [instance.pk]},
        title=f"Connection check: {instance}",
        **start,
    )
