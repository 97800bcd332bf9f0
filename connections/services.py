"""Connection services: the only code that decrypts a credential, and the connection test."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from dhis2.auth import BasicAuth, TokenAuth
from dhis2.client import Client, RetryEvent, RetryPolicy
from dhis2.errors import Dhis2Error
from jobs.models import Run, Schedule
from jobs.registry import target_for
from jobs.services import launch

from .crypto import CredentialDecryptionError, decrypt
from .models import Instance

logger = logging.getLogger(__name__)


class CredentialsMissing(Exception):
    """The instance has no credential stored for its auth type."""


@sensitive_variables("password", "token", "auth")
def client_for(
    instance: Instance,
    *,
    on_retry: Callable[[RetryEvent], None] | None = None,
    max_attempts: int | None = None,
) -> Client:
    """Build a DHIS2 client for an instance, decrypting its credential in memory only.

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
    return Client(
        instance.base_url,
        auth,
        timeout=float(instance.timeout_seconds),
        connect_timeout=min(10.0, float(instance.timeout_seconds)),
        verify=instance.verify_tls,
        retry=retry,
        on_retry=on_retry,
    )


@dataclass(frozen=True)
class ConnectionTestResult:
    ok: bool
    version: str | None
    message: str


def test_connection(instance: Instance) -> ConnectionTestResult:
    """Call /api/system/info and /api/me, store the version and the outcome on the instance.

    Never raises for DHIS2 or credential problems: the user gets the readable message instead.
    """
    version: str | None = None
    try:
        # One attempt with a short retry budget: a person is waiting for the answer.
        with client_for(instance, max_attempts=2) as client:
            info = client.system_info()
            version = str(client.version)
            me = client.me()
        who = me.get("username") or me.get("name") or "the configured user"
        system = info.get("systemName") or "DHIS2"
        result = ConnectionTestResult(True, version, f"Connected to {system} {version} as {who}.")
    except (Dhis2Error, CredentialDecryptionError, CredentialsMissing) as exc:
        result = ConnectionTestResult(False, version, str(exc))
    except ValueError as exc:  # a base URL the client refuses
        result = ConnectionTestResult(False, None, str(exc))
    now = timezone.now()
    fields = {"version_checked_at": now, "last_check_ok": result.ok}
    fields["last_check_message"] = result.message
    if result.version:
        fields["version"] = result.version
    Instance.objects.filter(pk=instance.pk).update(**fields)
    for name, value in fields.items():
        setattr(instance, name, value)
    logger.info("Connection test of instance %s: %s", instance.pk, "ok" if result.ok else "failed")
    return result


def start_connection_check(
    instance: Instance,
    *,
    user: AbstractBaseUser | None,
    trigger: str,
    schedule: Schedule | None = None,
    enqueue: bool = True,
) -> Run:
    """Queue a check of one instance (the `connection_check` operation of `jobs.registry`).

    Its target is the instance's, so a scheduled check and a check from the command line
    never run at once for the same instance.
    """
    return launch(
        "connection_check",
        {"instance_ids": [instance.pk]},
        user=user,
        trigger=trigger,
        title=f"Connection check: {instance}",
        target=target_for("connection_check", instance.pk),
        schedule=schedule,
        enqueue=enqueue,
    )
