"""Helpers that create DHIS2 metadata objects in their stored JSON shape.

Used by the generated datasets and by the metadata importer (which, like DHIS2, generates the
category option combos of an imported category combo).
"""

from __future__ import annotations

import hashlib
import itertools
import random
from typing import Any

from simulator.schema import DEFAULT_UIDS
from simulator.state import State

ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
LETTERS = ALPHABET[:52]
META_TS = "2020-01-01T00:00:00.000"


def random_uid(rng: random.Random) -> str:
    """A UID as ``CodeGenerator.generateUid``: a letter then 10 alphanumerics."""
    return rng.choice(LETTERS) + "".join(rng.choice(ALPHABET) for _ in range(10))


def stable_uid(key: str) -> str:
    """A UID derived from a name, so demo metadata UIDs never depend on generation order."""
    digest = hashlib.sha256(key.encode()).digest()
    chars = [LETTERS[digest[0] % 52]] + [ALPHABET[b % 62] for b in digest[1:11]]
    return "".join(chars)


def ident(uid: str, name: str, code: str | None = None, **extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"id": uid, "name": name, "created": META_TS, "lastUpdated": META_TS}
    if code:
        obj["code"] = code
    obj.update(extra)
    return obj


def put_org_unit(
    state: State,
    uid: str,
    name: str,
    code: str,
    *,
    level: int,
    opened: str,
    parent: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Store an org unit opened on ``opened`` (an ISO date) under ``parent`` (a root when None)
    and return it, with what DHIS2 derives from its place: ``parent`` reference and ``path``
    (``/<root>/.../<uid>``), which the hierarchy checks and subtree reads rely on."""
    ou = ident(
        uid, name, code, shortName=name[:50], level=level, openingDate=f"{opened}T00:00:00.000"
    )
    if parent is None:
        ou["path"] = f"/{uid}"
    else:
        ou["parent"] = {"id": parent["id"]}
        ou["path"] = f"{parent['path']}/{uid}"
    ou.update(extra)
    state.put("organisationUnits", ou)
    return ou


def put_data_element(
    state: State,
    uid: str,
    name: str,
    code: str | None,
    *,
    value_type: str,
    domain_type: str,
    combo: str,
    short_name: str | None = None,
    form_name: str | None = None,
    zero_is_significant: bool = False,
) -> None:
    """Store a data element of category combo ``combo`` (short name: ``name`` cut to 50). Its
    ``aggregationType`` follows from the rest: ``NONE`` for text and tracker elements, whose
    values cannot be summed or are not aggregated, ``SUM`` for the others."""
    de = ident(uid, name, code, shortName=name[:50] if short_name is None else short_name)
    if form_name is not None:
        de["formName"] = form_name
    de.update(
        valueType=value_type,
        aggregationType="NONE" if value_type == "TEXT" or domain_type == "TRACKER" else "SUM",
        domainType=domain_type,
        zeroIsSignificant=zero_is_significant,
        categoryCombo={"id": combo},
    )
    state.put("dataElements", de)


def add_defaults(state: State) -> None:
    """The default category objects with DHIS2's fixed UIDs (reference §10)."""
    state.put(
        "categoryOptions",
        ident(DEFAULT_UIDS["categoryOptions"], "default", "default", shortName="default"),
    )
    state.put(
        "categories",
        ident(
            DEFAULT_UIDS["categories"],
            "default",
            "default",
            shortName="default",
            dataDimensionType="DISAGGREGATION",
            dataDimension=False,
            categoryOptions=[{"id": DEFAULT_UIDS["categoryOptions"]}],
        ),
    )
    state.put(
        "categoryCombos",
        ident(
            DEFAULT_UIDS["categoryCombos"],
            "default",
            "default",
            dataDimensionType="DISAGGREGATION",
            skipTotal=False,
            categories=[{"id": DEFAULT_UIDS["categories"]}],
            categoryOptionCombos=[{"id": DEFAULT_UIDS["categoryOptionCombos"]}],
        ),
    )
    state.put(
        "categoryOptionCombos",
        ident(
            DEFAULT_UIDS["categoryOptionCombos"],
            "default",
            "default",
            ignoreApproval=False,
            categoryCombo={"id": DEFAULT_UIDS["categoryCombos"]},
            categoryOptions=[{"id": DEFAULT_UIDS["categoryOptions"]}],
        ),
    )


def generate_option_combos(
    state: State,
    cc: dict[str, Any],
    uid_for: Any,
    existing: dict[frozenset[str], str] | None = None,
) -> list[dict[str, Any]]:
    """Create the category option combos of ``cc`` (cartesian product of its categories'
    options, named ``"Opt1, Opt2"``) as DHIS2's ``CategoryService.generateOptionCombos`` does.

    ``uid_for(names)`` gives the UID of a new combo; combos whose option set already exists
    (``existing``) keep their UID.
    """
    option_lists: list[list[dict[str, Any]]] = []
    for ref in cc.get("categories", []):
        cat = state.get("categories", ref["id"])
        if cat is None:
            return []
        opts = [state.get("categoryOptions", o["id"]) for o in cat.get("categoryOptions", [])]
        option_lists.append([o for o in opts if o is not None])
    created = []
    for combo in itertools.product(*option_lists):
        names = ", ".join(o["name"] for o in combo)
        key = frozenset(o["id"] for o in combo)
        uid = (existing or {}).get(key) or uid_for(names)
        coc = ident(
            uid,
            names,
            None,
            ignoreApproval=False,
            categoryCombo={"id": cc["id"]},
            categoryOptions=[{"id": o["id"]} for o in combo],
        )
        created.append(coc)
    cc["categoryOptionCombos"] = [{"id": c["id"]} for c in created]
    return created
