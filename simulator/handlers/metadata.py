"""Metadata list and single-object endpoints (reference §2, §3, §10)."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

from simulator.auth import FORBIDDEN_READ, forbidden
from simulator.fields import FieldsError, Projector, parse_fields
from simulator.filters import Filter, FilterEngine, FilterError, sort_objects
from simulator.handlers.common import Ctx, conflict, not_found
from simulator.http import SimResponse, json_response
from simulator.schema import KINDS

DEFAULT_LIST_FIELDS = "id,displayName"
DEFAULT_PAGE_SIZE = 50


def _int_param(ctx: Ctx, name: str, default: int) -> int:
    try:
        return int(ctx.request.param(name) or default)
    except ValueError:
        return default


def build_pager(ctx: Ctx, plural: str, page: int, page_size: int, total: int) -> dict[str, Any]:
    """The real pager (openhexa, identical 2.36-2.41): ``page,total,pageSize,nextPage|prevPage,
    pageCount``; links are absolute and carry the original query (``page`` first, omitted for
    page 1)."""
    page_count = max(1, math.ceil(total / page_size)) if page_size > 0 else 1
    pager: dict[str, Any] = {"page": page, "total": total, "pageSize": page_size}
    rest = [(k, v) for k, v in ctx.request.query_order if k != "page"]
    base = f"{ctx.base_url}/api/{plural}"

    def link(target: int) -> str:
        pairs = ([("page", str(target))] if target > 1 else []) + rest
        qs = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
        return f"{base}?{qs}" if qs else base

    if page < page_count:
        pager["nextPage"] = link(page + 1)
    if page > 1:
        pager["prevPage"] = link(page - 1)
    pager["pageCount"] = page_count
    return pager


def _select(ctx: Ctx, kind: str, objs: list[dict[str, Any]]) -> list[dict[str, Any]] | SimResponse:
    projector = Projector(ctx.state, ctx.base_url)
    try:
        filters = [Filter.parse(f) for f in ctx.request.params("filter")]
    except FilterError as exc:
        return conflict(str(exc), "E2014")
    junction = ctx.request.param("rootJunction") or "AND"
    objs = FilterEngine(projector).apply(kind, objs, filters, junction)
    query = ctx.request.param("query")
    if query:
        q = query.lower()
        objs = [
            o
            for o in objs
            if q in (o.get("name") or "").lower() or q == o.get("id") or q == o.get("code")
        ]
    return sort_objects(projector, kind, objs, ctx.request.param("order"))


def list_objects(
    ctx: Ctx, plural: str, objs: list[dict[str, Any]] | None = None, always_paged: bool = False
) -> SimResponse:
    """``GET /api/<plural>``: filter, order, page, project."""
    kind = KINDS[plural]
    if not ctx.user.metadata_read:
        return forbidden(FORBIDDEN_READ)
    with ctx.state.lock:
        source = list(ctx.state.objects[plural].values()) if objs is None else objs
        selected = _select(ctx, plural, source)
        if isinstance(selected, SimResponse):
            return selected
        try:
            nodes = parse_fields(ctx.request.param("fields") or DEFAULT_LIST_FIELDS)
        except FieldsError as exc:
            return conflict(str(exc), "E7651")
        projector = Projector(ctx.state, ctx.base_url)
        paging = always_paged or (ctx.request.param("paging") or "true").lower() != "false"
        body: dict[str, Any] = {}
        if paging:
            page = max(1, _int_param(ctx, "page", 1))
            page_size = max(1, _int_param(ctx, "pageSize", DEFAULT_PAGE_SIZE))
            total = len(selected)
            body["pager"] = build_pager(ctx, plural, page, page_size, total)
            selected = selected[(page - 1) * page_size : page * page_size]
        body[kind.plural] = [projector.project(plural, o, nodes) for o in selected]
    return json_response(body)


def get_object(ctx: Ctx, plural: str) -> SimResponse:
    """``GET /api/<plural>/{id}``; 404 ``<Type> with id X could not be found.``."""
    kind = KINDS[plural]
    uid = ctx.groups["id"]
    if not ctx.user.metadata_read:
        return forbidden(FORBIDDEN_READ)
    with ctx.state.lock:
        obj = ctx.state.get(plural, uid)
        if obj is None:
            return not_found(ctx, kind.simple_name, uid)
        if plural == "organisationUnits" and _wants_hierarchy(ctx):
            return _org_unit_hierarchy(ctx, obj)
        try:
            nodes = parse_fields(ctx.request.param("fields") or "*")
        except FieldsError as exc:
            return conflict(str(exc), "E7651")
        return json_response(Projector(ctx.state, ctx.base_url).project(plural, obj, nodes))


def _wants_hierarchy(ctx: Ctx) -> bool:
    r = ctx.request
    return (
        r.flag("includeDescendants")
        or r.flag("includeChildren")
        or r.flag("includeAncestors")
        or r.param("level") is not None
    )


def _org_unit_hierarchy(ctx: Ctx, ou: dict[str, Any]) -> SimResponse:
    """``organisationUnits/{id}?includeDescendants|includeChildren|includeAncestors|level``.

    ≤2.40: list wrapper without pager, silently cut to ``pageSize`` (default 50) unless
    ``paging=false`` (``AbstractFullReadOnlyController#getObjectInternal``). 2.41+: the normal
    list machinery, paged with a pager by default.
    """
    st = ctx.state
    r = ctx.request
    uid = ou["id"]
    if r.flag("includeDescendants"):
        uids = st.descendants(uid)
    elif r.flag("includeChildren"):
        uids = [uid, *st.derived.children.get(uid, [])]
    elif r.flag("includeAncestors"):
        uids = [*ou.get("path", "").strip("/").split("/")]
    else:
        rel = _int_param(ctx, "level", 0)
        uids = [
            u
            for u in st.descendants(uid)
            if st.objects["organisationUnits"][u]["level"] == ou["level"] + rel
        ]
    objs = [
        st.objects["organisationUnits"][u] for u in uids if u in st.objects["organisationUnits"]
    ]
    if ctx.version.org_unit_descendants_paged:
        return list_objects(ctx, "organisationUnits", objs)
    try:
        nodes = parse_fields(r.param("fields") or DEFAULT_LIST_FIELDS)
    except FieldsError as exc:
        return conflict(str(exc), "E7651")
    if (r.param("paging") or "true").lower() != "false":
        page = max(1, _int_param(ctx, "page", 1))
        page_size = max(1, _int_param(ctx, "pageSize", DEFAULT_PAGE_SIZE))
        objs = objs[(page - 1) * page_size : page * page_size]
    projector = Projector(st, ctx.base_url)
    return json_response(
        {"organisationUnits": [projector.project("organisationUnits", o, nodes) for o in objs]}
    )


def filled_levels(ctx: Ctx) -> SimResponse:
    """``/api/filledOrganisationUnitLevels``: a bare array, one entry per level in use."""
    st = ctx.state
    with st.lock:
        levels = {o["level"]: o for o in st.objects["organisationUnitLevels"].values()}
        used = sorted({o.get("level", 0) for o in st.objects["organisationUnits"].values()})
        out = []
        projector = Projector(st, ctx.base_url)
        nodes = parse_fields("*")
        for level in used:
            obj = levels.get(level) or {
                "id": f"level{level:07d}",
                "name": f"Level {level}",
                "level": level,
            }
            out.append(projector.project("organisationUnitLevels", obj, nodes))
    return json_response(out)
