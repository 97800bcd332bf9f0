"""Builders for DHIS2 metadata `filter=` and `fields=` query values.

A filter is `property:operator:value`; the `in`/`!in` operators take `[a,b,c]`
(docs@2.40 metadata.md, "Metadata object filter"). Several `filter` params are ANDed unless
`rootJunction=OR`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["flt", "flt_eq", "flt_ilike", "flt_in", "flt_like", "flt_ne", "join_fields"]


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flt(prop: str, operator: str, value: object = None) -> str:
    """Generic filter: `flt("name", "ilike", "clinic")` → `name:ilike:clinic`.

    Value-less operators (`null`, `!null`, `empty`) take no value: `flt("code", "null")`.
    """
    if not prop or not operator:
        raise ValueError("A DHIS2 filter needs a property and an operator.")
    if value is None:
        return f"{prop}:{operator}"
    return f"{prop}:{operator}:{_text(value)}"


def flt_eq(prop: str, value: object) -> str:
    """`prop:eq:value`."""
    return flt(prop, "eq", value)


def flt_ne(prop: str, value: object) -> str:
    """`prop:!eq:value`."""
    return flt(prop, "!eq", value)


def flt_like(prop: str, value: object) -> str:
    """`prop:like:value` (case-sensitive substring)."""
    return flt(prop, "like", value)


def flt_ilike(prop: str, value: object) -> str:
    """`prop:ilike:value` (case-insensitive substring)."""
    return flt(prop, "ilike", value)


def flt_in(prop: str, values: Iterable[object], *, negate: bool = False) -> str:
    """`prop:in:[a,b,c]` (or `!in`). Rejects an empty list: DHIS2 would answer 400/409."""
    items = [_text(v) for v in values]
    if not items:
        raise ValueError(f"flt_in({prop!r}) needs at least one value.")
    if any("," in item or "]" in item for item in items):
        raise ValueError(f"flt_in({prop!r}): values cannot contain ',' or ']' in DHIS2 filters.")
    return f"{prop}:{'!in' if negate else 'in'}:[{','.join(items)}]"


def join_fields(fields: str | Sequence[str]) -> str:
    """`["id", "name"]` → `id,name`; a string is passed through."""
    if isinstance(fields, str):
        return fields
    return ",".join(f for f in fields if f)
