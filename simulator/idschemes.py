"""Identifier schemes (``idScheme``, ``dataElementIdScheme``, ... = UID | CODE | NAME)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from simulator.state import State

if TYPE_CHECKING:
    from simulator.http import SimRequest

SCHEMES = ("UID", "CODE", "NAME")


def normalise(value: str | None) -> str | None:
    if value is None:
        return None
    upper = value.strip().upper()
    if upper in ("ID", "UID"):
        return "UID"
    return upper if upper in SCHEMES else None


def scheme_param(request: SimRequest, name: str, default: str = "UID") -> str:
    """The id scheme the query parameter ``name`` asks for, or ``default`` when it is absent or
    names no scheme (the more specific parameters fall back to the general one)."""
    return normalise(request.param(name)) or default


class Resolver:
    """Map identifiers in a given scheme to UIDs (input) and UIDs to identifiers (output)."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.derived = state.derived

    def to_uid(self, kind: str, ident: Any, scheme: str) -> str | None:
        if ident is None or ident == "":
            return None
        ident = str(ident)
        if scheme == "CODE":
            return self.derived.by_code.get(kind, {}).get(ident)
        if scheme == "NAME":
            return self.derived.by_name.get(kind, {}).get(ident)
        return ident if ident in self.state.objects[kind] else None

    def to_uids(self, kind: str, idents: Iterable[Any], scheme: str) -> list[str]:
        """The UIDs of ``idents`` in order, without the ones that name nothing: the read
        endpoints' list parameters (``dataSet=a,b``) pass over unknown identifiers."""
        return [uid for uid in (self.to_uid(kind, i, scheme) for i in idents) if uid]

    def lookup(self, kind: str, scheme: str) -> dict[str, str]:
        """A dict ident → uid for fast bulk resolution."""
        if scheme == "CODE":
            return self.derived.by_code.get(kind, {})
        if scheme == "NAME":
            return self.derived.by_name.get(kind, {})
        return {uid: uid for uid in self.state.objects[kind]}

    def output(self, kind: str, scheme: str) -> dict[str, Any]:
        """A dict uid → identifier in ``scheme`` (``None`` when the object lacks a code)."""
        objs = self.state.objects[kind]
        if scheme == "CODE":
            return {uid: o.get("code") for uid, o in objs.items()}
        if scheme == "NAME":
            return {uid: o.get("name") for uid, o in objs.items()}
        return {uid: uid for uid in objs}
