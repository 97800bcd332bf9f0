"""The metadata object filter (``filter=``) and ``order=`` of ``docs@2.40:metadata.md``.

Operators: ``eq !eq ne neq like !like $like !$like like$ !like$ ilike !ilike $ilike !$ilike
ilike$ !ilike$ gt ge lt le null !null empty !empty token !token in !in``; dotted paths walk
references and collections (a collection matches if any member matches); several filters are
AND-ed unless ``rootJunction=OR``. ``identifiable:token:x`` matches id, code or name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simulator.fields import Projector

UNARY = {"null", "!null", "empty", "!empty"}
OPERATORS = {
    "eq",
    "!eq",
    "ne",
    "neq",
    "like",
    "!like",
    "$like",
    "!$like",
    "like$",
    "!like$",
    "ilike",
    "!ilike",
    "$ilike",
    "!$ilike",
    "ilike$",
    "!ilike$",
    "gt",
    "ge",
    "lt",
    "le",
    "token",
    "!token",
    "in",
    "!in",
    *UNARY,
}


class FilterError(ValueError):
    """An unparsable filter (DHIS2: 409 ``Unable to parse filter``, E2014)."""


@dataclass
class Filter:
    path: list[str]
    op: str
    value: str | None

    @classmethod
    def parse(cls, expr: str) -> Filter:
        parts = expr.split(":", 2)
        if len(parts) < 2:
            raise FilterError(f"Unable to parse filter `{expr}`")
        prop, op = parts[0], parts[1]
        value = parts[2] if len(parts) == 3 else None
        if op not in OPERATORS or (value is None and op not in UNARY):
            raise FilterError(f"Unable to parse filter `{expr}`")
        return cls(prop.split("."), op, value)


def _as_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _compare(leaf: Any, value: str) -> int:
    if isinstance(leaf, int | float) and not isinstance(leaf, bool):
        try:
            other = float(value)
        except ValueError:
            return (str(leaf) > value) - (str(leaf) < value)
        return (leaf > other) - (leaf < other)
    text = _as_text(leaf)
    return (text > value) - (text < value)


def _positive(op: str) -> str:
    if op in ("ne", "neq"):
        return "eq"
    return op[1:] if op.startswith("!") else op


_TESTS: dict[str, Callable[[Any, str], bool]] = {
    "eq": lambda leaf, v: (
        _as_text(leaf) == v
        or (isinstance(leaf, int | float) and not isinstance(leaf, bool) and _compare(leaf, v) == 0)
    ),
    "like": lambda leaf, v: v in _as_text(leaf),
    "$like": lambda leaf, v: _as_text(leaf).startswith(v),
    "like$": lambda leaf, v: _as_text(leaf).endswith(v),
    "ilike": lambda leaf, v: v.lower() in _as_text(leaf).lower(),
    "$ilike": lambda leaf, v: _as_text(leaf).lower().startswith(v.lower()),
    "ilike$": lambda leaf, v: _as_text(leaf).lower().endswith(v.lower()),
    "gt": lambda leaf, v: _compare(leaf, v) > 0,
    "ge": lambda leaf, v: _compare(leaf, v) >= 0,
    "lt": lambda leaf, v: _compare(leaf, v) < 0,
    "le": lambda leaf, v: _compare(leaf, v) <= 0,
    "token": lambda leaf, v: all(
        any(word.startswith(t) for word in _as_text(leaf).lower().split())
        for t in v.lower().split()
    ),
    "in": lambda leaf, v: _as_text(leaf) in _in_values(v),
}


def _in_values(v: str) -> set[str]:
    return {x.strip() for x in v.strip().lstrip("[").rstrip("]").split(",") if x.strip()}


class FilterEngine:
    def __init__(self, projector: Projector) -> None:
        self.projector = projector

    def path_values(self, kind: str | None, obj: dict[str, Any], path: list[str]) -> list[Any]:
        state = self.projector.state
        current: list[tuple[str | None, Any]] = [(kind, obj)]
        for i, part in enumerate(path):
            nxt: list[tuple[str | None, Any]] = []
            last = i == len(path) - 1
            for k, o in current:
                if not isinstance(o, dict):
                    continue
                v = self.projector.get_prop(k, o, part)
                if v is None:
                    continue
                for item in v if isinstance(v, list) else [v]:
                    if isinstance(item, dict) and not last and path[i + 1] != "id":
                        ref = state.uid_index.get(item.get("id", ""))
                        if ref is not None:
                            nxt.append(ref)
                            continue
                    nxt.append((None, item))
            current = nxt
        return [o for _, o in current]

    def matches(self, kind: str, obj: dict[str, Any], flt: Filter) -> bool:
        if flt.path == ["identifiable"]:
            leaves = [obj.get("id"), obj.get("code"), obj.get("name")]
            leaves = [x for x in leaves if x is not None]
        else:
            leaves = self.path_values(kind, obj, flt.path)
        op = flt.op
        if op == "null":
            return not leaves
        if op == "!null":
            return bool(leaves)
        if op == "empty":
            return not leaves
        if op == "!empty":
            return bool(leaves)
        assert flt.value is not None
        test = _TESTS[_positive(op)]
        hit = any(test(leaf, flt.value) for leaf in leaves if not isinstance(leaf, dict))
        negated = op.startswith("!") or op in ("ne", "neq")
        return not hit if negated else hit

    def apply(
        self, kind: str, objs: list[dict[str, Any]], filters: list[Filter], junction: str = "AND"
    ) -> list[dict[str, Any]]:
        if not filters:
            return objs
        if junction.upper() == "OR":
            return [o for o in objs if any(self.matches(kind, o, f) for f in filters)]
        return [o for o in objs if all(self.matches(kind, o, f) for f in filters)]


def sort_objects(
    projector: Projector, kind: str, objs: list[dict[str, Any]], order: str | None
) -> list[dict[str, Any]]:
    """``order=prop:asc|iasc|desc|idesc`` (comma list); default: name, then id."""
    specs = [s for s in (order or "").split(",") if s.strip()]
    if not specs:
        return sorted(objs, key=lambda o: (o.get("name") or "", o.get("id") or ""))
    result = list(objs)
    for spec in reversed(specs):
        prop, _, direction = spec.strip().partition(":")
        direction = (direction or "asc").lower()
        insensitive = direction.startswith("i")
        reverse = direction.endswith("desc")

        def key(o: dict[str, Any], prop: str = prop, insensitive: bool = insensitive) -> Any:
            v = projector.get_prop(kind, o, prop)
            if v is None:
                return (1, "")
            if isinstance(v, str) and insensitive:
                v = v.lower()
            return (0, v) if isinstance(v, int | float) else (0, _as_text(v))

        result.sort(key=key, reverse=reverse)
    return result
