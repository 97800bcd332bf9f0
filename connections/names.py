"""Names for UIDs, so a page shows "Ngelehun CHC" where DHIS2 stores `DiszpKrYNg8`.

`names_for(instance, uids)` asks the instance's typed metadata endpoints
(`/api/dataSets?filter=id:in:[...]&fields=id,displayName`, then data elements, option combos,
org units...) for the UIDs it does not know yet and caches every answer in Django's cache.
`/api/identifiableObjects` would be one endpoint for all types, but it only answers one UID
per request (`/api/identifiableObjects/{uid}`), so a page with 50 UIDs would make 50 calls;
the typed lists answer up to `BATCH` UIDs per call and stop as soon as every UID is named.

A page must never wait long for names: the lookup uses one attempt with a short timeout and
an overall time budget, an instance that failed is not asked again for `DOWN_TTL` seconds,
and whatever stays unknown is shown as its UID (the fallback is the identity, never an error).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence

from django.core.cache import cache

from dhis2.uids import is_valid_uid

from .models import Instance
from .services import ASKING_FAILURES, client_for

logger = logging.getLogger(__name__)

#: What a name lookup can fail with: asking the instance (`ASKING_FAILURES`), or an answer
#: that is not what DHIS2 sends.
_LOOKUP_FAILURES: tuple[type[Exception], ...] = (*ASKING_FAILURES, ValueError)

#: Metadata endpoints asked, in order: the types our pages show, most frequent first.
NAME_TYPES: tuple[str, ...] = (
    "organisationUnits",
    "dataElements",
    "categoryOptionCombos",
    "dataSets",
    "programs",
    "programStages",
    "categoryOptions",
)
#: How long a name is trusted (names change rarely; a renamed org unit shows its new name
#: within this time).
CACHE_TTL = 6 * 3600
#: How long "this UID is not on the instance" is remembered (it may be created meanwhile).
MISS_TTL = 10 * 60
#: How long an instance that did not answer is left alone before pages ask it again.
DOWN_TTL = 60
#: Seconds to wait for one answer, and for all the lookups of one call together.
LOOKUP_TIMEOUT = 3.0
LOOKUP_BUDGET = 5.0
#: UIDs per request (12 characters each: 100 keep the URL well under 2,000 characters).
BATCH = 100


def _key(instance: Instance, uid: str) -> str:
    return f"dhis2names:{instance.pk}:{uid}"


def _down_key(instance: Instance) -> str:
    return f"dhis2names:{instance.pk}:down"


def _unique_uids(uids: Iterable[str | None]) -> list[str]:
    return [u for u in dict.fromkeys(u for u in uids if u) if is_valid_uid(u)]


def names_for(
    instance: Instance | None,
    uids: Iterable[str | None],
    *,
    types: Sequence[str] = NAME_TYPES,
) -> dict[str, str]:
    """`{uid: name}` for every valid UID in `uids`; a UID the instance does not name (or an
    instance that cannot be reached) maps to itself. Never raises for DHIS2 problems."""
    wanted = _unique_uids(uids)
    if instance is None or not wanted:
        return {u: u for u in wanted}
    cached = cache.get_many([_key(instance, u) for u in wanted])
    names = {u: cached[_key(instance, u)] for u in wanted if _key(instance, u) in cached}
    todo = [u for u in wanted if u not in names]
    if todo and not cache.get(_down_key(instance)):
        found, complete = _look_up(instance, todo, types)
        names.update(found)
        cache.set_many({_key(instance, u): n for u, n in found.items()}, CACHE_TTL)
        if complete:  # every type was asked: what is still unknown is not on the instance
            missing = {_key(instance, u): "" for u in todo if u not in found}
            cache.set_many(missing, MISS_TTL)
    # "" is the cached "not there": fall back to the UID, as for anything unknown.
    return {u: names.get(u) or u for u in wanted}


def _look_up(
    instance: Instance, uids: list[str], types: Sequence[str]
) -> tuple[dict[str, str], bool]:
    """Ask the typed endpoints for `uids`; return the names found and whether every type was
    asked (False when the budget ran out or the instance failed, so misses are not cached)."""
    found: dict[str, str] = {}
    deadline = time.monotonic() + LOOKUP_BUDGET
    try:
        with client_for(instance, max_attempts=1, timeout=LOOKUP_TIMEOUT) as client:
            for resource in types:
                todo = [u for u in uids if u not in found]
                if not todo:
                    return found, True
                for start in range(0, len(todo), BATCH):
                    if time.monotonic() > deadline:
                        return found, False
                    batch = todo[start : start + BATCH]
                    items = client.list_all(
                        resource,
                        fields="id,displayName",
                        filters=[f"id:in:[{','.join(batch)}]"],
                    )
                    for item in items:
                        uid, name = item.get("id"), item.get("displayName") or item.get("name")
                        if uid in batch and name:
                            found[uid] = str(name)
    except _LOOKUP_FAILURES as exc:
        logger.warning("Name lookup on instance %s failed: %s", instance.pk, exc)
        cache.set(_down_key(instance), True, DOWN_TTL)
        return found, False
    return found, True


def names_across(
    instances: Iterable[Instance | None], uids: Iterable[str | None]
) -> dict[str, str]:
    """Names from the first of `instances` that knows each UID (e.g. a conflict's org unit,
    unknown on the destination that refused it, is named by the source)."""
    wanted = _unique_uids(uids)
    names = {u: u for u in wanted}
    for instance in instances:
        todo = [u for u in wanted if names[u] == u]
        if not todo or instance is None:
            continue
        names.update({u: n for u, n in names_for(instance, todo).items() if n != u})
    return names
