from __future__ import annotations

from typing import Any

from django.apps import AppConfig, apps
from django.db import DEFAULT_DB_ALIAS
from django.db.models.signals import post_migrate


def _last_migrated_app() -> AppConfig | None:
    """The last app Django sends `post_migrate` for: one with a models module.

    Django skips apps without models (like `accounts`), so a receiver bound to this app would
    never run. Every app's permissions are created by auth's own receiver for that app, so once
    the last one has been sent, all permissions of the project exist.
    """
    with_models = [config for config in apps.get_app_configs() if config.models_module]
    return with_models[-1] if with_models else None


def _sync_roles(sender: AppConfig, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    if sender is not _last_migrated_app():
        return
    from .roles import sync_roles

    sync_roles(using=using)


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        # Connected for every sender (this app has no models, so Django never sends it one) and
        # acting on the last: after every `migrate` and every test-database flush the groups
        # hold exactly the permissions of `roles.py`. Connected after auth's own receiver
        # (auth comes first in INSTALLED_APPS), so that app's permissions exist by then.
        post_migrate.connect(_sync_roles, dispatch_uid="accounts.sync_roles")
