"""Reading whole metadata lists: paged (`iter_pages`) or in one answer (`list_all`).

The DHIS2 pager (`{"page","pageCount","total","pageSize","nextPage"}`, 2.36-2.41 identical) gives
`nextPage` as an absolute URL built from the server's own idea of its address, which behind a
reverse proxy is often wrong (the recorded samples say `http://localhost:8080/...`). So `nextPage`
is only used as the "there is more" signal; the next request is built against our base URL with
`page+1`, and credentials never go to a host taken from a server answer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from .errors import UnexpectedResponse
from .filters import join_fields

if TYPE_CHECKING:
    from .client import Client

__all__ = ["ListOptions", "PageOptions", "items_key_for", "iter_pages", "list_all"]


def items_key_for(resource: str) -> str:
    """The list key of `/api/<resource>`: its last path segment (`tracker/events` → `events`)."""
    return resource.strip("/").split("?", 1)[0].rsplit("/", 1)[-1]


def _query(
    fields: str | Sequence[str],
    filters: Sequence[str],
    params: Mapping[str, Any] | None,
) -> dict[str, Any]:
    query: dict[str, Any] = dict(params or {})
    if fields:
        query["fields"] = join_fields(fields)
    if filters:
        if isinstance(filters, str):
            filters = [filters]
        existing = query.get("filter")
        extra = [] if existing is None else ([existing] if isinstance(existing, str) else existing)
        query["filter"] = [*extra, *filters]
    return query


def _items(body: Any, key: str, path: str) -> list[Any]:
    if not isinstance(body, dict):
        raise UnexpectedResponse(
            f"DHIS2 answered {path} with {type(body).__name__} instead of an object with a "
            f"'{key}' list; check the resource name."
        )
    items = body.get(key)
    if items is None and key != "instances" and isinstance(body.get("instances"), list):
        items = body["instances"]  # /api/tracker/* lists up to 2.40
    if items is None:
        keys = ", ".join(sorted(k for k in body if k != "pager")) or "none"
        raise UnexpectedResponse(
            f"DHIS2 answered {path} without a '{key}' list (keys: {keys}); check the resource "
            "name or pass items_key."
        )
    if not isinstance(items, list):
        raise UnexpectedResponse(f"DHIS2 answered {path} with a '{key}' that is not a list.")
    return items


def _has_next(pager: Mapping[str, Any], requested: int, n_items: int, page_size: int) -> bool:
    """Decide from a pager whether another page exists.

    * metadata pager: `nextPage` present ⇔ more pages; `page >= pageCount` ⇒ last page;
    * SlimPager (legacy events 2.38-2.40, `totalPages=false`): `isLastPage`;
    * pagers without counts or links (tracker 2.41 without `totalPages`, legacy events 2.36-2.37
      whose pager says `pageCount: 0` and clamps `page` to 1): a full page means "maybe more".
    """
    page_count = pager.get("pageCount")
    page = pager.get("page", requested)
    if not isinstance(page, int) or page < requested:
        page = requested  # 2.36/2.37 legacy events report page 1 whatever was asked
    if "nextPage" in pager:
        return not (isinstance(page_count, int) and page_count > 0 and page >= page_count)
    if isinstance(pager.get("isLastPage"), bool):
        return not pager["isLastPage"]
    if isinstance(page_count, int) and page_count > 0:
        return page < page_count
    if "prevPage" in pager or (isinstance(page_count, int) and pager.get("total")):
        return False  # a complete metadata pager without nextPage: last page
    return n_items >= page_size


class ListOptions(TypedDict, total=False):
    """The keyword options of `list_all` (and `Client.list_all`), defaults as there."""

    fields: str | Sequence[str]
    filters: Sequence[str]
    params: Mapping[str, Any] | None
    items_key: str | None


class PageOptions(ListOptions, total=False):
    """The keyword options of `iter_pages` (and `Client.iter_pages`), defaults as there."""

    page_size: int


def iter_pages(
    client: Client,
    resource: str,
    *,
    fields: str | Sequence[str] = "id,name",
    filters: Sequence[str] = (),
    page_size: int = 1000,
    params: Mapping[str, Any] | None = None,
    items_key: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield the items of `/api/<resource>` page by page (see module docstring)."""
    if page_size < 1:
        raise ValueError("page_size must be at least 1.")
    key = items_key or items_key_for(resource)
    base = _query(fields, filters, params)
    base.pop("paging", None)
    page = 1
    while True:
        query = {**base, "page": page, "pageSize": page_size}
        body = client.get_json(resource, params=query)
        items = _items(body, key, resource)
        yield from items
        pager = body.get("pager")
        if not isinstance(pager, dict):
            # 2.41+ tracker lists also put the pager fields at top level; no pager at all means
            # the server did not page (one answer holds everything).
            flat = {k: body[k] for k in ("page", "pageCount", "nextPage") if k in body}
            if not flat:
                return
            pager = flat
        if not items or not _has_next(pager, page, len(items), page_size):
            return
        page += 1


def list_all(
    client: Client,
    resource: str,
    *,
    fields: str | Sequence[str] = "id,name",
    filters: Sequence[str] = (),
    params: Mapping[str, Any] | None = None,
    items_key: str | None = None,
) -> list[dict[str, Any]]:
    """All items of `/api/<resource>` in one request with `paging=false` (no `pager` comes back).

    Needed for org-unit subtrees: ≤2.40 silently cuts `includeDescendants` answers to 50 items
    unless `paging=false` is sent (reference §10).
    """
    query = {**_query(fields, filters, params), "paging": "false"}
    body = client.get_json(resource, params=query)
    return _items(body, items_key or items_key_for(resource), resource)
