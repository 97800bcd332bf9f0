"""Compliance arithmetic: which data elements of a form are filled, as plain data (no I/O).

Definitions (the same for an assessment and for the transfer gate):

* A **form** is one (org unit, period) of a data set. Values of every attribute option combo
  count for the form: completeness is assessed per org unit and period, not per funding
  mechanism.
* A value **counts** when it is not soft-deleted and its value is not empty (an export with
  `includeDeleted=true` carries `deleted: true` rows, and DHIS2 never stores empty values).
* Disaggregation `any`: an element is **present** when any of its option combos has a value.
  `all`: every expected option combo must have one. The expected combos are those of the data
  set element's override category combo when set, else of the element's own category combo
  (reference §3, `dataSetElements[].categoryCombo`). An element whose expected combos are unknown
  (metadata without them) falls back to `any` rather than never being present.
* **Counted elements**: all of the data set's elements, or the chosen required subset.
* **Compliance** = present / counted x 100, rounded half up to one decimal. A form is
  **compliant** when that shown figure is at least the threshold, so what the user reads in the
  table always agrees with the flag.
* **No data**: the form has no counting value at all for the data set (any element, required or
  not). Such a form is never compliant, whatever the threshold; the summary keeps it apart:
  `compliant + non_compliant + no_data = assessed`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

__all__ = [
    "DISAGGREGATIONS",
    "Compliance",
    "DataSetStructure",
    "GateResult",
    "ValueLike",
    "compliance_by_form",
    "gate_block",
    "percent",
    "round1",
]

DISAGGREGATIONS = ("any", "all")

FormKey = tuple[str, str]
"""(org unit, period)."""


class ValueLike(Protocol):
    """What the arithmetic reads of a data value (`transfers.mapping.DataValue` fits)."""

    @property
    def data_element(self) -> str | None: ...
    @property
    def period(self) -> str: ...
    @property
    def org_unit(self) -> str | None: ...
    @property
    def category_option_combo(self) -> str | None: ...
    @property
    def value(self) -> str | None: ...
    @property
    def deleted(self) -> bool: ...


@dataclass(frozen=True)
class DataSetStructure:
    """The parts of a data set that completeness needs.

    `elements` maps each data element to the option combos expected for it (empty when the
    metadata did not say); `assigned` is the set of org units the data set is assigned to.
    """

    uid: str
    name: str
    period_type: str
    elements: Mapping[str, frozenset[str]]
    element_names: Mapping[str, str] = field(default_factory=dict)
    assigned: frozenset[str] = frozenset()
    attribute_combo: str | None = None

    def counted(self, required: Sequence[str] | None) -> tuple[str, ...]:
        """The elements that count, in a stable order. Raises `ValueError` naming required
        elements that are not in the data set (a typo would otherwise lower every score)."""
        if not required:
            return tuple(sorted(self.elements))
        unknown = [uid for uid in required if uid not in self.elements]
        if unknown:
            raise ValueError(
                f"These required data elements are not in data set {self.name or self.uid}: "
                f"{', '.join(unknown)}."
            )
        return tuple(sorted(dict.fromkeys(required)))


@dataclass(frozen=True)
class Compliance:
    """One form's result. `present`/`missing` list counted elements in sorted order."""

    org_unit: str
    period: str
    present: tuple[str, ...]
    missing: tuple[str, ...]
    compliance: float
    compliant: bool
    no_data: bool


def round1(value: Decimal) -> float:
    """Half-up to one decimal (Python's `round` is half-even: 2.25 would become 2.2)."""
    return float(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def percent(part: int, whole: int) -> float:
    """`part / whole` in percent with one decimal; 0.0 for an empty whole."""
    if whole <= 0:
        return 0.0
    return round1(Decimal(part) * 100 / Decimal(whole))


def _counts(value: ValueLike) -> bool:
    return not value.deleted and value.value is not None and value.value != ""


def _judge(
    key: FormKey,
    seen: Mapping[str, set[str]] | None,
    structure: DataSetStructure,
    counted: Sequence[str],
    disaggregation: str,
    threshold: float,
) -> Compliance:
    present: list[str] = []
    missing: list[str] = []
    for element in counted:
        combos = seen.get(element) if seen else None
        if not combos:
            missing.append(element)
            continue
        expected = structure.elements.get(element) or frozenset()
        if disaggregation == "all" and expected and not expected <= combos:
            missing.append(element)
        else:
            present.append(element)
    no_data = not seen
    score = percent(len(present), len(counted))
    return Compliance(
        org_unit=key[0],
        period=key[1],
        present=tuple(present),
        missing=tuple(missing),
        compliance=score,
        compliant=not no_data and score >= threshold,
        no_data=no_data,
    )


def _check(disaggregation: str, threshold: float) -> None:
    if disaggregation not in DISAGGREGATIONS:
        raise ValueError(f"Disaggregation must be 'any' or 'all', not {disaggregation!r}.")
    if not 0 <= threshold <= 100:
        raise ValueError(f"The threshold must be between 0 and 100 percent, not {threshold}.")


def compliance_by_form(
    structure: DataSetStructure,
    values: Iterable[ValueLike],
    *,
    forms: Iterable[FormKey] = (),
    required: Sequence[str] | None = None,
    disaggregation: str = "any",
    threshold: float = 100.0,
) -> Iterator[Compliance]:
    """Compliance of every form seen in `values`, plus the `forms` listed (which come back as
    `no_data` when no value arrived for them), in (period, org unit) order.

    Call it once per fetched block: every value of a form must be in the same call (a fetch
    unit of the transfer engine covers whole forms: one period, whole org units). Memory is
    one set of option combos per (form, element) of the block. Values of elements outside the
    data set are ignored: they neither fill the form nor make it "not no data".
    """
    _check(disaggregation, threshold)
    counted = structure.counted(required)
    seen: dict[FormKey, dict[str, set[str]]] = {key: {} for key in forms}
    for value in values:
        element = value.data_element
        if not element or not value.org_unit or element not in structure.elements:
            continue
        if not _counts(value):
            continue
        key = (value.org_unit, value.period)
        combos = seen.setdefault(key, {}).setdefault(element, set())
        combos.add(value.category_option_combo or "")
    for key in sorted(seen, key=lambda k: (k[1], k[0])):
        yield _judge(key, seen[key], structure, counted, disaggregation, threshold)


@dataclass
class GateResult:
    """What the transfer gate keeps of one fetched block and what it holds back."""

    kept: list[ValueLike]
    held_back_rows: int = 0
    held_back_values: int = 0
    held_back_forms: list[Compliance] = field(default_factory=list)


def gate_block(
    structure: DataSetStructure,
    values: Sequence[ValueLike],
    *,
    min_completeness: float,
    required: Sequence[str] | None = None,
    disaggregation: str = "any",
) -> GateResult:
    """Keep the values of forms whose source compliance reaches `min_completeness`.

    For the transfer engine: call it with each fetched block before mapping. The block's
    identifiers must be those of the structure (UIDs from `read_data_set`; a CODE-scheme
    transfer needs a structure keyed by codes). Every value of a form below the minimum is held
    back, deleted markers included (a held-back form is left as it is on the destination);
    `held_back_rows` counts those forms, `held_back_values` their values. A form holding only
    deleted markers has no data and is held back too; `min_completeness <= 0` keeps all.
    """
    if min_completeness <= 0:
        return GateResult(kept=list(values))
    forms = {(v.org_unit or "", v.period) for v in values if v.org_unit}
    results = {
        (c.org_unit, c.period): c
        for c in compliance_by_form(
            structure,
            values,
            forms=forms,
            required=required,
            disaggregation=disaggregation,
            threshold=min_completeness,
        )
    }
    out = GateResult(kept=[])
    held: set[FormKey] = set()
    for value in values:
        key = (value.org_unit or "", value.period)
        result = results.get(key)
        if result is not None and not result.compliant:
            held.add(key)
            out.held_back_values += 1
        else:
            out.kept.append(value)
    out.held_back_rows = len(held)
    out.held_back_forms = [results[k] for k in sorted(held, key=lambda k: (k[1], k[0]))]
    return out
