"""The two team roles, defined once as role -> permission codenames.

Every face (admin, pages, API) checks permission codenames, never group names, so a role is only
this table: change it here and `sync_roles()` (run after every migrate) updates the groups.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Q

ADMIN = "Admin"
OPERATOR = "Operator"
ROLES = (ADMIN, OPERATOR)

#: Apps whose models make up the product. Operators may view all of them.
PROJECT_APPS = ("connections", "jobs", "transfers", "metadata_sync", "completeness", "tracker")

#: What an operator may do beyond viewing: launch, watch and cancel runs, run a schedule now
#: (not change it), and test a connection (which uses a credential server-side but never
#: reveals it).
OPERATOR_EXTRA = (
    "jobs.launch_run",
    "jobs.cancel_run",
    "jobs.run_schedule",
    "connections.test_instance",
    "metadata_sync.review_assessment",
)

#: Admins get every permission of the project apps, manage team members (users) and give them
#: a role. They may only look at groups (editing a group's permissions would grant anything),
#: never see other people's API tokens (that would let them act as anyone), and may only look
#: at the task queue (adding a django-q2 schedule would run any function by name).
ADMIN_EXTRA: tuple[str, ...] = (
    "auth.add_user",
    "auth.change_user",
    "auth.delete_user",
    "auth.view_user",
    "axes.delete_accessattempt",  # unlock a login locked out by django-axes
)
ADMIN_VIEW_ONLY_APPS = ("auth", "django_q", "auditlog", "axes")  # auditlog: the audit log


def _codenames(dotted: tuple[str, ...]) -> Q:
    query = Q(pk__in=[])
    for name in dotted:
        app_label, codename = name.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    return query


def role_permissions(role: str, *, using: str = DEFAULT_DB_ALIAS) -> list[Permission]:
    """Return the permissions a role grants, from the tables above."""
    perms = Permission.objects.using(using).select_related("content_type")
    if role == ADMIN:
        full = Q(content_type__app_label__in=PROJECT_APPS)
        view = Q(content_type__app_label__in=ADMIN_VIEW_ONLY_APPS, codename__startswith="view_")
        return list(perms.filter(full | view | _codenames(ADMIN_EXTRA)))
    if role == OPERATOR:
        view = Q(content_type__app_label__in=PROJECT_APPS, codename__startswith="view_")
        return list(perms.filter(view | _codenames(OPERATOR_EXTRA)))
    raise ValueError(f"Unknown role {role!r}; the roles are {', '.join(ROLES)}.")


def sync_roles(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """Create or update the role groups so they hold exactly the permissions above (idempotent).

    Run after every `migrate` (see `apps.py`), so a permission added by a later migration
    reaches the groups too; `create_user` and `ensure_admin` also call it.
    """
    for role in ROLES:
        group, _ = Group.objects.using(using).get_or_create(name=role)
        group.permissions.set(role_permissions(role, using=using))
