"""Who does something: the type of the `user` every service takes.

A face passes what it has: the admin and the pages a signed-in user, the API `request.user`,
a schedule or `manage.py` None. The services record and check only a signed-in user
(`is_authenticated`), so an anonymous one counts as nobody.
"""

from __future__ import annotations

from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser, User

__all__ = ["Actor"]

#: A signed-in user, a request's anonymous user (counted as nobody) or None (the system).
Actor: TypeAlias = User | AnonymousUser | None
