"""The metadata field filter (``fields=``) of ``docs@2.40:metadata.md`` "Metadata field filter".

Supported: comma lists, nested ``a[b,c[d]]``, presets ``*``/``:all``, ``:owner``/``:persisted``,
``:identifiable`` (id,name,code,created,lastUpdated), ``:nameable``, exclusions ``!name`` and the
transformers ``~rename(x)``, ``~size``, ``~pluck[(field)]``, ``~isEmpty``, ``~isNotEmpty``.
References that are not expanded come back as ``{"id": ...}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulator.schema import IDENTIFIABLE_FIELDS, KINDS, NAMEABLE_FIELDS
from simulator.state import State

PRESETS = {"*", ":all", ":owner", ":persisted", ":identifiable", ":nameable", ":simple"}


class FieldsError(ValueError):
    """An unparsable field expression (DHIS2 answers 400/409, E7651)."""


@dataclass
class FieldNode:
    name: str
    children: list[FieldNode] | None = None
    exclude: bool = False
    transformers: list[tuple[str, str | None]] = field(default_factory=list)


def _split_top(expr: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    buf: list[str] = []
    for pos, ch in enumerate(expr):
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
            if depth < 0:
                raise FieldsError(
                    f"Illegal fields expression. Expected `,`, `[` or `]` at position {pos} "
                    f"but found `{ch}`"
                )
        if ch == "," and depth == 0:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    if depth != 0:
        raise FieldsError(f"Illegal fields expression: unbalanced brackets in `{expr}`")
    parts.append("".join(buf))
    return [p.strip() for p in parts if p.strip()]


def parse_fields(expr: str | None) -> list[FieldNode]:
    """Parse a ``fields`` expression into a tree of :class:`FieldNode`."""
    if not expr:
        return []
    nodes: list[FieldNode] = []
    for part in _split_top(expr):
        exclude = part.startswith("!")
        if exclude:
            part = part[1:]
        children = None
        # transformers come after the name or after the bracket: name~size, a[b]~rename(x)
        head, tilde, tail = part.partition("~")
        if "[" in head:
            name, _, rest = head.partition("[")
            inner = rest[: rest.rindex("]")] if "]" in rest else rest
            children = parse_fields(inner)
        else:
            name = head
        transformers: list[tuple[str, str | None]] = []
        if tilde:
            for t in tail.split("~"):
                tname, _, targ = t.partition("(")
                transformers.append((tname.strip(), targ.rstrip(")") if targ else None))
        nodes.append(FieldNode(name.strip(), children, exclude, transformers))
    return nodes


class Projector:
    """Render stored objects with a parsed field tree, resolving references on demand."""

    def __init__(self, state: State, base_url: str = "") -> None:
        self.state = state
        self.base_url = base_url

    # --- property access (stored + computed) ----------------------------------------

    def get_prop(self, kind: str | None, obj: dict[str, Any], name: str) -> Any:
        if name in obj:
            return obj[name]
        if kind is None:
            return None
        defaults = KINDS[kind].defaults
        if name in defaults:
            return defaults[name]
        st = self.state
        if name == "displayName":
            return obj.get("name")
        if name == "displayShortName":
            return obj.get("shortName")
        if name == "displayFormName":
            return obj.get("formName") or obj.get("name")
        if name == "displayDescription":
            return obj.get("description")
        if name == "dimensionItem":
            return obj.get("id")
        if name == "href":
            return f"{self.base_url}/api/{kind}/{obj.get('id')}"
        if kind == "organisationUnits":
            if name == "children":
                return [{"id": u} for u in st.derived.children.get(obj["id"], [])]
            if name == "ancestors":
                return [{"id": u} for u in obj.get("path", "").strip("/").split("/")[:-1] if u]
            if name == "dataSets":
                return [{"id": u} for u in st.derived.ou_datasets.get(obj["id"], [])]
            if name == "programs":
                return [{"id": u} for u in st.derived.ou_programs.get(obj["id"], [])]
            if name == "leaf":
                return not st.derived.children.get(obj["id"])
        if kind == "dataElements" and name == "optionSetValue":
            return obj.get("optionSet") is not None
        if kind == "programs" and name in ("registration", "withoutRegistration"):
            with_registration = obj.get("programType") == "WITH_REGISTRATION"
            return with_registration if name == "registration" else not with_registration
        if kind == "dataElements" and name == "dataSetElements":
            return list(st.derived.de_dataset_elements.get(obj["id"], []))
        if kind == "categoryCombos" and name == "isDefault":
            return obj.get("name") == "default"
        if kind == "categoryOptions" and name in ("categories", "categoryOptionCombos"):
            owner = "categories" if name == "categories" else "categoryOptionCombos"
            return [
                {"id": uid}
                for uid, o in st.objects[owner].items()
                if any(r["id"] == obj["id"] for r in o.get("categoryOptions", []))
            ]
        if kind == "categories" and name == "categoryCombos":
            return [
                {"id": uid}
                for uid, o in st.objects["categoryCombos"].items()
                if any(r["id"] == obj["id"] for r in o.get("categories", []))
            ]
        return None

    def all_props(self, kind: str | None, obj: dict[str, Any], owner_only: bool) -> list[str]:
        names = list(obj.keys())
        if kind is not None:
            names += [d for d in KINDS[kind].defaults if d not in obj]
            if not owner_only:
                names += [c for c in KINDS[kind].computed if c not in obj]
        return names

    # --- rendering ------------------------------------------------------------------

    def project(
        self, kind: str | None, obj: dict[str, Any], nodes: list[FieldNode]
    ) -> dict[str, Any]:
        selected: dict[str, FieldNode | None] = {}
        excluded: set[str] = set()
        for node in nodes:
            if node.exclude:
                excluded.add(node.name)
                continue
            if node.name in ("*", ":all"):
                for p in self.all_props(kind, obj, owner_only=False):
                    selected.setdefault(p, None)
            elif node.name in (":owner", ":persisted"):
                for p in self.all_props(kind, obj, owner_only=True):
                    selected.setdefault(p, None)
            elif node.name == ":identifiable":
                for p in IDENTIFIABLE_FIELDS:
                    selected.setdefault(p, None)
            elif node.name in (":nameable", ":simple"):
                for p in NAMEABLE_FIELDS:
                    selected.setdefault(p, None)
            else:
                selected[node.name] = node
        out: dict[str, Any] = {}
        for name, picked in selected.items():
            if name in excluded:
                continue
            value = self.get_prop(kind, obj, name)
            if value is None:
                continue
            key = name
            if picked is not None and picked.children is not None:
                value = self.render(value, picked.children)
            if picked is not None:
                for tname, targ in picked.transformers:
                    if tname == "rename" and targ:
                        key = targ
                    elif tname == "size":
                        value = len(value) if isinstance(value, list | str | dict) else 0
                    elif tname == "isEmpty":
                        value = not value
                    elif tname == "isNotEmpty":
                        value = bool(value)
                    elif tname == "pluck" and isinstance(value, list):
                        pf = targ or "id"
                        value = [v.get(pf) if isinstance(v, dict) else v for v in value]
            out[key] = value
        return out

    def render(self, value: Any, nodes: list[FieldNode]) -> Any:
        if isinstance(value, list):
            return [self.render(v, nodes) for v in value]
        if isinstance(value, dict):
            ref = self.state.uid_index.get(value.get("id", "")) if "id" in value else None
            if ref is not None and len(value) <= 2:
                return self.project(ref[0], ref[1], nodes)
            return self.project(None, value, nodes)
        return value
