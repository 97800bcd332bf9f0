from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender, **kwargs) -> None:
    from .roles import sync_roles

    sync_roles()


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        # Run once after the whole migrate (sender=self), when every app's permissions exist.
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="accounts.sync_roles")
